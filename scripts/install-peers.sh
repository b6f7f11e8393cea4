#!/usr/bin/env bash
# Installs the real peers that pollhttp's integration tests talk to, and checks they work.
#
#   Debian packages: curl nghttp2-client nghttp2-server lua-http lua5.2 nginx-light wrk
#   PyPI packages:   httpx h2 h11  (for the Python clients in tests/peers/)
#   For the C ABI tests (tests/c_abi.rs): gcc builds examples/c/echo_server.c, valgrind runs it
#   For the TLS interop tests (tests/interop_tls.rs): openssl (s_client), chromium (headless)
#
# Idempotent and quick when everything is already there: apt-get runs (and `apt-get update`
# with it) only if a package is missing, pip only if a module does not import. A dpkg lock held
# by another apt-get is waited for, up to APT_LOCK_TIMEOUT seconds (default 600).
# Exits non-zero if anything is still missing afterwards.
set -euo pipefail

APT_PACKAGES=(curl nghttp2-client nghttp2-server lua-http lua5.2 nginx-light wrk)
APT_PACKAGES+=(gcc libc6-dev valgrind)
APT_PACKAGES+=(openssl chromium)
PY_MODULES=(httpx h2 h11)
# Programs the tests run; nginx and nghttpd live in /usr/sbin, not always on a user's PATH.
PROGRAMS=(curl nghttp nghttpd h2load lua5.2 nginx wrk python3)
PROGRAMS+=(gcc nm valgrind)
PROGRAMS+=(openssl chromium)
LOCK_TIMEOUT="${APT_LOCK_TIMEOUT:-600}"
export PATH="$PATH:/usr/local/sbin:/usr/sbin:/sbin"

say() { echo "install-peers: $*"; }
die() { echo "install-peers: ERROR: $*" >&2; exit 1; }

as_root() {
	if [ "$(id -u)" -eq 0 ]; then
		"$@"
	elif command -v sudo >/dev/null 2>&1; then
		sudo -n "$@"
	else
		die "not root and no sudo: cannot run: $*"
	fi
}

missing_apt() {
	local p
	for p in "${APT_PACKAGES[@]}"; do
		dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$' || echo "$p"
	done
}

missing_py() {
	local m
	for m in "${PY_MODULES[@]}"; do
		python3 -c "import $m" >/dev/null 2>&1 || echo "$m"
	done
}

# --- Debian packages -------------------------------------------------------------------------
command -v dpkg-query >/dev/null 2>&1 || die "dpkg-query not found: this script needs Debian/Ubuntu"
mapfile -t need < <(missing_apt)
if [ "${#need[@]}" -gt 0 ]; then
	say "missing Debian packages: ${need[*]}"
	export DEBIAN_FRONTEND=noninteractive
	# DPkg::Lock::Timeout makes apt-get wait (bounded) for another apt/dpkg holding the lock.
	apt_opts=(-o "DPkg::Lock::Timeout=$LOCK_TIMEOUT" -o Acquire::Retries=3)
	say "apt-get update"
	as_root env DEBIAN_FRONTEND=noninteractive apt-get "${apt_opts[@]}" update -qq \
		|| die "apt-get update failed"
	say "apt-get install ${need[*]}"
	as_root env DEBIAN_FRONTEND=noninteractive apt-get "${apt_opts[@]}" install -y -qq \
		--no-install-recommends "${need[@]}" </dev/null || die "apt-get install failed"
	mapfile -t still < <(missing_apt)
	[ "${#still[@]}" -eq 0 ] || die "still missing after apt-get install: ${still[*]}"
fi

# --- Python modules --------------------------------------------------------------------------
command -v python3 >/dev/null 2>&1 || die "python3 not found"
mapfile -t need_py < <(missing_py)
if [ "${#need_py[@]}" -gt 0 ]; then
	say "missing Python modules: ${need_py[*]} (python3 is $(command -v python3))"
	say "python3 -m pip install --quiet ${need_py[*]}"
	if ! PIP_ROOT_USER_ACTION=ignore PIP_DISABLE_PIP_VERSION_CHECK=1 \
		python3 -m pip install --quiet "${need_py[@]}" </dev/null; then
		die "pip install failed (if pip said externally-managed-environment, put a venv or pyenv python3 first on PATH)"
	fi
	mapfile -t still_py < <(missing_py)
	[ "${#still_py[@]}" -eq 0 ] || die "still not importable after pip install: ${still_py[*]}"
fi

# --- Smoke checks: the programs are there and lua-http loads under lua5.2 ---------------------
for prog in "${PROGRAMS[@]}"; do
	command -v "$prog" >/dev/null 2>&1 || die "program '$prog' not found on PATH after install"
done
lua5.2 -e 'require "http.server"; require "http.request"' \
	|| die "lua5.2 cannot load lua-http (require \"http.server\")"
chromium --version >/dev/null 2>&1 || die "chromium does not start (chromium --version failed)"
say "all peers present: ${APT_PACKAGES[*]} + python ${PY_MODULES[*]}"
