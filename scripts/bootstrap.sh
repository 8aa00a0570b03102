#!/usr/bin/env bash
# Installs every Debian package Surge needs to build, test and run, skipping those already present.
# Safe to run repeatedly: with nothing missing it only checks and returns.
#
# `bootstrap.sh checks` also installs what CI's extra stages need (scripts/check_format.sh and
# scripts/sanitize.sh): clang with its sanitizer runtimes, llvm-symbolizer and clang-format.
set -euo pipefail

packages=(
  # toolchain
  build-essential cmake ninja-build pkg-config ccache git
  # RPC and protobuf
  libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler libabsl-dev
  # store
  libsqlite3-dev libsqlitecpp-dev libzip-dev libssl-dev
  # execution engine
  bubblewrap libseccomp-dev libcap-dev python3 libpython3.11-dev nodejs
  # outbound network for functions that ask for it; the CA certificates they verify with;
  # iproute2 for the network tests' own namespace
  slirp4netns ca-certificates iproute2
  # CLI, config
  libcli11-dev libtomlplusplus-dev libspdlog-dev libasio-dev
  # reservation windows: cron in IANA time zones (the date library reads tzdata's zoneinfo)
  libhowardhinnant-date-dev tzdata
  # metrics: the Prometheus endpoint, and the real exposition parser its test checks it with
  prometheus-cpp-dev python3-prometheus-client
  # tests and benchmarks
  libgtest-dev libgmock-dev libbenchmark-dev zip unzip openssl
)
if [[ ${1:-} == checks ]]; then
  # clang 14 (-Wthread-safety, the sanitizers' runtimes), llvm-14 for llvm-symbolizer (readable
  # sanitizer stacks), clang-format 14 (the version .clang-format is checked with).
  packages+=(clang-14 libclang-rt-14-dev llvm-14 clang-format-14)
elif [[ -n ${1:-} ]]; then
  echo "usage: bootstrap.sh [checks]" >&2
  exit 2
fi

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if ((${#missing[@]} == 0)); then
  echo "bootstrap: all ${#packages[@]} packages present"
  exit 0
fi

echo "bootstrap: installing ${missing[*]}"
sudo_cmd=()
if [[ $(id -u) -ne 0 ]]; then sudo_cmd=(sudo); fi
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update -qq
"${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
