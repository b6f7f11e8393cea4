#!/usr/bin/env bash
# Miri over the parts of the library that do no I/O:  bash scripts/miri.sh
#
# Miri (the Rust interpreter that checks for undefined behaviour) cannot run sockets, epoll or
# other foreign calls, so it runs the unit tests of the pure parts: `headers` (the one module
# with unsafe code on the hot path: `as_text`, `push_lower`), the HTTP/1 parser, encoder and
# chunked codec and the sans-IO HTTP/1 core, the HTTP/2 core's tests (two cores talking through
# memory), the C ABI's boundary tests (pollhttp-ffi's `tests`: NULL checks, argument readers,
# panics caught), and h2-codec-lite's tests (HPACK, frames). Tests of those modules that need a
# socket would be marked `#[cfg_attr(miri, ignore)]` (none needs one today).
#
# Needs a nightly toolchain with the miri component (`rustup +nightly component add miri`);
# the first run builds Miri's sysroot (`cargo +nightly miri setup`) and the dependencies under
# Miri (a few minutes more). Each step is bounded by MIRI_TIMEOUT seconds (default 3600). On a
# busy 2-core machine a run takes about 20 minutes (pollhttp's 150 tests 8.5, h2-codec-lite's
# 94 tests 8, the rest building), even with the randomised and exhaustive tests taking a sample of their rounds under
# `cfg!(miri)`: too slow for every run, so neither scripts/test.sh nor CI runs it.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

limit="${MIRI_TIMEOUT:-3600}"
step() { printf '\n==> %s\n' "$*"; }

step "cargo +nightly miri test -p pollhttp --lib -- headers:: h1:: h2::"
timeout "$limit" cargo +nightly miri test -p pollhttp --lib -- headers:: h1:: h2::

step "cargo +nightly miri test -p pollhttp-ffi --lib -- tests::"
timeout "$limit" cargo +nightly miri test -p pollhttp-ffi --lib -- tests::

step "cargo +nightly miri test -p h2-codec-lite --lib"
timeout "$limit" cargo +nightly miri test -p h2-codec-lite --lib

step "miri: no undefined behaviour found"
