#!/usr/bin/env bash
# Runs warm_invoke, cold_start, invoke_e2e and surge_load on two builds of Surge, alternating
# before and after within each round, so that both see the same machine: the before/after rule
# of refactoring issues (each after-median within the before-runs' range or 5% of their median).
#   [BENCHES="invoke_e2e surge_load"] bench/compare_builds.sh BEFORE_CHECKOUT AFTER_CHECKOUT OUT_DIR [ROUNDS]
# Each checkout must be built (bash scripts/build.sh). Results: OUT_DIR/<side>-<bench>-<round>.json
# and .txt; then: python3 bench/compare_builds.py OUT_DIR
set -u
before=$(realpath "$1") after=$(realpath "$2") out=$3 rounds=${4:-3}
mkdir -p "$out"
for round in $(seq 1 "$rounds"); do
  for bench in ${BENCHES:-warm_invoke cold_start invoke_e2e surge_load}; do
    for side in before after; do
      root=$before
      [ "$side" = after ] && root=$after
      echo "$(date +%T) round $round $bench $side"
      (cd "$root" && timeout 900 build/bench/$bench --json "$out/$side-$bench-$round.json" \
        >"$out/$side-$bench-$round.txt" 2>&1) || echo "  $bench $side failed: see $out/$side-$bench-$round.txt"
    done
  done
done
