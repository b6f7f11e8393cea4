# Shared by scripts/install-peers.sh and bench/setup.sh (sourced, not run): install Debian
# packages and Python modules only when missing, and check programs are on PATH.
#
# The sourcing script sets SAY_AS (its name in messages) first. Idempotent and quick when
# everything is there: apt-get runs (with `apt-get update`) only if a package is missing, pip
# only if a module does not import. apt-get needs root or sudo; a dpkg lock held by another
# apt-get is waited for, up to APT_LOCK_TIMEOUT seconds (default 600).

export PATH="$PATH:/usr/local/sbin:/usr/sbin:/sbin"

say() { echo "${SAY_AS}: $*"; }
die() { echo "${SAY_AS}: ERROR: $*" >&2; exit 1; }

as_root() {
	if [ "$(id -u)" -eq 0 ]; then
		"$@"
	elif command -v sudo >/dev/null 2>&1; then
		sudo -n "$@"
	else
		die "not root and no sudo: cannot run: $*"
	fi
}

# Prints the Debian packages among "$@" that are not installed.
missing_apt() {
	local p
	for p in "$@"; do
		dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$' || echo "$p"
	done
}

# Prints the Python modules among "$@" that python3 cannot import.
missing_py() {
	local m
	for m in "$@"; do
		python3 -c "import $m" >/dev/null 2>&1 || echo "$m"
	done
}

# Installs the Debian packages among "$@" that are missing; dies if any is still missing.
install_apt() {
	command -v dpkg-query >/dev/null 2>&1 || die "dpkg-query not found: this script needs Debian or Ubuntu"
	local need still apt_opts
	mapfile -t need < <(missing_apt "$@")
	[ "${#need[@]}" -gt 0 ] || return 0
	say "missing Debian packages: ${need[*]}"
	# DPkg::Lock::Timeout makes apt-get wait (bounded) for another apt/dpkg holding the lock.
	apt_opts=(-o "DPkg::Lock::Timeout=${APT_LOCK_TIMEOUT:-600}" -o Acquire::Retries=3)
	say "apt-get update"
	as_root env DEBIAN_FRONTEND=noninteractive apt-get "${apt_opts[@]}" update -qq \
		|| die "apt-get update failed"
	say "apt-get install ${need[*]}"
	as_root env DEBIAN_FRONTEND=noninteractive apt-get "${apt_opts[@]}" install -y -qq \
		--no-install-recommends "${need[@]}" </dev/null || die "apt-get install failed"
	mapfile -t still < <(missing_apt "$@")
	[ "${#still[@]}" -eq 0 ] || die "still missing after apt-get install: ${still[*]}"
}

# Installs with pip the Python modules among "$@" that do not import; dies if any still does
# not.
install_py() {
	command -v python3 >/dev/null 2>&1 || die "python3 not found"
	local need still
	mapfile -t need < <(missing_py "$@")
	[ "${#need[@]}" -gt 0 ] || return 0
	say "missing Python modules: ${need[*]} (python3 is $(command -v python3))"
	say "python3 -m pip install --quiet ${need[*]}"
	if ! PIP_ROOT_USER_ACTION=ignore PIP_DISABLE_PIP_VERSION_CHECK=1 \
		python3 -m pip install --quiet "${need[@]}" </dev/null; then
		die "pip install failed (if pip said externally-managed-environment, put a venv or pyenv python3 first on PATH)"
	fi
	mapfile -t still < <(missing_py "$@")
	[ "${#still[@]}" -eq 0 ] || die "still not importable after pip install: ${still[*]}"
}

# Dies unless every program in "$@" is on PATH.
require_programs() {
	local prog
	for prog in "$@"; do
		command -v "$prog" >/dev/null 2>&1 || die "program '$prog' not found on PATH after install"
	done
}
