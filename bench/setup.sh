#!/usr/bin/env bash
# Set-up step of the benchmark harness (bench/run.py runs it first; it can be run alone):
# installs what the benchmarks need and checks it is there.
#
#   Debian packages: wrk, nghttp2-client (h2load), nghttp2-server (nghttpd), h2o, nginx-light,
#                    openssl (the TLS certificate), util-linux (taskset), gcc (the C
#                    example pollhttp-ffi/examples/proxy.c, for the proxy-* workloads)
#   PyPI:            matplotlib (the chart)
#   Rust:            cargo, to build pollhttp's examples and the peers in bench/peers/
#
# Idempotent and quick when everything is there: apt-get runs (with `apt-get update`) only if a
# package is missing, pip only if matplotlib does not import. Needs root or sudo for apt-get.
# A dpkg lock held by another apt-get is waited for, up to APT_LOCK_TIMEOUT seconds (600).
set -euo pipefail

APT_PACKAGES=(wrk nghttp2-client nghttp2-server h2o nginx-light openssl util-linux gcc)
PROGRAMS=(wrk h2load nghttpd h2o nginx openssl taskset gcc cargo python3)
SAY_AS=bench/setup
# shellcheck source=../scripts/lib/install.sh
. "$(dirname "${BASH_SOURCE[0]}")/../scripts/lib/install.sh"

# The packaged services (nginx, h2o) are not used: the harness starts its own instances on free
# ports and stops them.
install_apt "${APT_PACKAGES[@]}"
install_py matplotlib
require_programs "${PROGRAMS[@]}"
say "ready: ${APT_PACKAGES[*]} + matplotlib"
