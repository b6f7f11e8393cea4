#!/usr/bin/env bash
# The whole test suite, in one command:  scripts/test.sh
#
# 1. installs the real peers the integration tests talk to (scripts/install-peers.sh),
# 2. runs every test target of the workspace with POLLHTTP_REQUIRE_PEERS=1, so that a missing
#    peer is a failure, never a skip; then again with the no-lost-wake-up check on (the
#    `wakeup-check` feature),
# 3. runs the doc tests (which `--all-targets` does not include).
# Any failure stops the script with a non-zero exit status.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

step() { printf '\n==> %s\n' "$*"; }

step "bash scripts/install-peers.sh"
bash scripts/install-peers.sh

export POLLHTTP_REQUIRE_PEERS=1
step "POLLHTTP_REQUIRE_PEERS=1 cargo test --workspace --all-targets"
cargo test --workspace --all-targets

# The same suite again with the no-lost-wake-up check on (src/connection/probe.rs): after every
# call that leaves the caller told to wait, a probe step must find nothing to do.
# (pollhttp-ffi/wakeup-check: the C library its tests build turns it on too.)
step "POLLHTTP_REQUIRE_PEERS=1 cargo test --workspace --all-targets --features pollhttp/wakeup-check,pollhttp-ffi/wakeup-check"
cargo test --workspace --all-targets --features pollhttp/wakeup-check,pollhttp-ffi/wakeup-check

# (pollhttp-ffi has no rlib, so no doc tests: cargo would only warn that it cannot run them.)
step "POLLHTTP_REQUIRE_PEERS=1 cargo test --workspace --exclude pollhttp-ffi --doc"
cargo test --workspace --exclude pollhttp-ffi --doc

step "all tests passed"
