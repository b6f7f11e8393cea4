#!/usr/bin/env bash
# Installs the real peers that pollhttp's integration tests talk to, and checks they work.
#
#   Debian packages: curl nghttp2-client nghttp2-server lua-http lua5.2 nginx-light wrk
#   PyPI packages:   httpx h2 h11  (for the Python clients in tests/peers/)
#   For the C ABI tests (pollhttp-ffi/tests/c_abi.rs): gcc builds pollhttp-ffi/examples/echo_server.c,
#   valgrind runs it; libuv1-dev for pollhttp-ffi/examples/uv_echo_client.c (a libuv loop)
#   For the TLS interop tests (tests/interop_tls.rs): openssl (s_client), chromium (headless)
#
# Idempotent and quick when everything is already there: apt-get runs (and `apt-get update`
# with it) only if a package is missing, pip only if a module does not import. A dpkg lock held
# by another apt-get is waited for, up to APT_LOCK_TIMEOUT seconds (default 600).
# Exits non-zero if anything is still missing afterwards.
set -euo pipefail

APT_PACKAGES=(curl nghttp2-client nghttp2-server lua-http lua5.2 nginx-light wrk)
APT_PACKAGES+=(gcc libc6-dev valgrind libuv1-dev)
APT_PACKAGES+=(openssl chromium)
PY_MODULES=(httpx h2 h11)
# Programs the tests run; nginx and nghttpd live in /usr/sbin, not always on a user's PATH.
PROGRAMS=(curl nghttp nghttpd h2load lua5.2 nginx wrk python3)
PROGRAMS+=(gcc nm valgrind)
PROGRAMS+=(openssl chromium)
SAY_AS=install-peers
# shellcheck source=lib/install.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/install.sh"

install_apt "${APT_PACKAGES[@]}"
install_py "${PY_MODULES[@]}"

# --- Smoke checks: the programs are there and lua-http loads under lua5.2 ---------------------
require_programs "${PROGRAMS[@]}"
lua5.2 -e 'require "http.server"; require "http.request"' \
	|| die "lua5.2 cannot load lua-http (require \"http.server\")"
chromium --version >/dev/null 2>&1 || die "chromium does not start (chromium --version failed)"
say "all peers present: ${APT_PACKAGES[*]} + python ${PY_MODULES[*]}"
