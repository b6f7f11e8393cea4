#!/usr/bin/env bash
# Set-up step of the benchmark harness (bench/run.py runs it first; it can be run alone):
# installs what the benchmarks need and checks it is there.
#
#   Debian packages: wrk, nghttp2-client (h2load), nghttp2-server (nghttpd), h2o, nginx-light,
#                    openssl (the TLS certificate), util-linux (taskset)
#   PyPI:            matplotlib (the chart)
#   Rust:            cargo, to build pollhttp's examples and the peers in bench/peers/
#
# Idempotent and quick when everything is there: apt-get runs (with `apt-get update`) only if a
# package is missing, pip only if matplotlib does not import. Needs root or sudo for apt-get.
# A dpkg lock held by another apt-get is waited for, up to APT_LOCK_TIMEOUT seconds (600).
set -euo pipefail

APT_PACKAGES=(wrk nghttp2-client nghttp2-server h2o nginx-light openssl util-linux)
PROGRAMS=(wrk h2load nghttpd h2o nginx openssl taskset cargo python3)
LOCK_TIMEOUT="${APT_LOCK_TIMEOUT:-600}"
export PATH="$PATH:/usr/local/sbin:/usr/sbin:/sbin"

say() { echo "bench/setup: $*"; }
die() { echo "bench/setup: ERROR: $*" >&2; exit 1; }

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

command -v dpkg-query >/dev/null 2>&1 || die "dpkg-query not found: this script needs Debian or Ubuntu"
mapfile -t need < <(missing_apt)
if [ "${#need[@]}" -gt 0 ]; then
	say "apt-get install ${need[*]}"
	apt_opts=(-o "DPkg::Lock::Timeout=$LOCK_TIMEOUT" -o Acquire::Retries=3)
	as_root env DEBIAN_FRONTEND=noninteractive apt-get "${apt_opts[@]}" update -qq \
		|| die "apt-get update failed"
	# policy-rc.d or not, the packaged services (nginx, h2o) are not wanted: the harness starts
	# its own instances on free ports and stops them.
	as_root env DEBIAN_FRONTEND=noninteractive apt-get "${apt_opts[@]}" install -y -qq \
		--no-install-recommends "${need[@]}" </dev/null || die "apt-get install failed"
	mapfile -t still < <(missing_apt)
	[ "${#still[@]}" -eq 0 ] || die "still missing after apt-get install: ${still[*]}"
fi

command -v python3 >/dev/null 2>&1 || die "python3 not found"
if ! python3 -c "import matplotlib" >/dev/null 2>&1; then
	say "python3 -m pip install --quiet matplotlib (python3 is $(command -v python3))"
	PIP_ROOT_USER_ACTION=ignore PIP_DISABLE_PIP_VERSION_CHECK=1 \
		python3 -m pip install --quiet matplotlib </dev/null \
		|| die "pip install matplotlib failed (on externally-managed-environment, use a venv's python3)"
	python3 -c "import matplotlib" || die "matplotlib does not import after pip install"
fi

for prog in "${PROGRAMS[@]}"; do
	command -v "$prog" >/dev/null 2>&1 || die "program '$prog' not found on PATH"
done
say "ready: ${APT_PACKAGES[*]} + matplotlib"
