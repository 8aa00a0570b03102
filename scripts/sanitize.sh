#!/usr/bin/env bash
# CI's sanitizer stages (see docs/sanitizers.md), each in a clang build of its own:
#
#   sanitize.sh asan   AddressSanitizer + UndefinedBehaviorSanitizer, with -Wthread-safety
#                      -Werror, over the whole test suite (build-asan/)
#   sanitize.sh tsan   ThreadSanitizer over the engine's and the scheduler's in-process tests
#                      (the suites marked TSAN in tests/; build-tsan/)
#
# Installs what is missing (bootstrap.sh checks), configures, builds with ccache, runs ctest.
# A finding fails the stage: the sanitizers abort the process or make it exit non-zero.
# Findings inside Debian's uninstrumented libraries are suppressed by tests/sanitizers/*.supp.
set -euo pipefail
cd "$(dirname "$0")/.."

mode=${1:-}
case "$mode" in
  asan) dir=build-asan sanitizers="address;undefined" ;;
  tsan) dir=build-tsan sanitizers="thread" ;;
  *)
    echo "usage: sanitize.sh asan|tsan" >&2
    exit 2
    ;;
esac

bash scripts/bootstrap.sh checks

# ccache: paths relative to the checkout, so that another clone of the same sources hits the cache.
export CCACHE_BASEDIR="$PWD" CCACHE_NOHASHDIR=1
# CMake drops every -D option when a build dir's compiler changes: start such a dir afresh.
compiler=/usr/bin/clang++-14
if [[ -f $dir/CMakeCache.txt ]] && ! grep -qx "CMAKE_CXX_COMPILER:[A-Z]*=$compiler" "$dir/CMakeCache.txt"; then
  rm -rf "$dir"
fi
# -O1 and line tables only, the sanitizers' usual choice: the tests run nearly as fast as at -O2,
# a file compiles in about a fifth less time than at -O2 -g, and the stacks still name lines.
cmake -S . -B "$dir" -G Ninja "-DCMAKE_CXX_COMPILER=$compiler" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O1 -gline-tables-only" \
  -DSURGE_WERROR=ON -DSURGE_THREAD_SAFETY=ON "-DSURGE_SANITIZE=$sanitizers" -DSURGE_BUILD_BENCH=OFF >/dev/null

# The runtimes' options. They reach every sanitized process the tests start (surged, surgectl),
# and gtest_discover_tests runs the test binaries during the build, so they are set before it.
# Sandboxes never see them: the launcher and the zygote start sandboxes with an empty environment.
# Reports go to files, one per process: a test that runs surged as a child may never show the
# child's stderr, nor check how it exited, so the files are what this script checks.
supp="$PWD/tests/sanitizers"
logs="$PWD/$dir/sanitizer-logs"
rm -rf "$logs"
mkdir -p "$logs"
export ASAN_SYMBOLIZER_PATH=/usr/bin/llvm-symbolizer-14
export ASAN_OPTIONS="log_path=$logs/report:detect_leaks=1:check_initialization_order=1:strict_init_order=1:detect_stack_use_after_return=1"
export LSAN_OPTIONS="log_path=$logs/report:suppressions=$supp/lsan.supp:print_suppressions=0"
export UBSAN_OPTIONS="log_path=$logs/report:print_stacktrace=1:halt_on_error=1:suppressions=$supp/ubsan.supp"
export TSAN_OPTIONS="log_path=$logs/report:suppressions=$supp/tsan.supp:print_suppressions=0:second_deadlock_stack=1"

start=$SECONDS
status=0
if [[ $mode == asan ]]; then
  cmake --build "$dir" -j2
  echo "sanitize $mode: built in $((SECONDS - start)) s"
  python3 tests/sanitizers/check_suppressions.py "$dir" "$supp"/*.supp
  ctest --test-dir "$dir" --output-on-failure -j2 --timeout 600 || status=1
else
  # The suites marked TSAN in tests/ (the engine's and the scheduler's in-process tests) and
  # what they need; the rest of the tree is not built.
  cmake --build "$dir" -j2 --target surge_tsan_tests
  echo "sanitize $mode: built in $((SECONDS - start)) s"
  python3 tests/sanitizers/check_suppressions.py "$dir" "$supp"/*.supp
  ctest --test-dir "$dir" -L tsan --output-on-failure -j2 --timeout 600 || status=1
fi

shopt -s nullglob
reports=("$logs"/*)
if ((${#reports[@]} > 0)); then
  for report in "${reports[@]}"; do
    echo "=== ${report#"$PWD"/}"
    cat "$report"
  done
  echo "sanitize $mode: ${#reports[@]} process(es) reported findings (above)" >&2
  status=1
fi
if ((status != 0)); then
  echo "sanitize $mode: FAILED after $((SECONDS - start)) s" >&2
  exit 1
fi
echo "sanitize $mode: passed in $((SECONDS - start)) s"
