#!/usr/bin/env bash
# Configures and builds Surge in ./build with warnings as errors, using ccache when present.
set -euo pipefail
cd "$(dirname "$0")/.."
# ccache: paths relative to the checkout, so that another clone of the same sources hits the cache.
export CCACHE_BASEDIR="$PWD" CCACHE_NOHASHDIR=1
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSURGE_WERROR=ON >/dev/null
cmake --build build -j2
