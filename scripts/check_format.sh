#!/usr/bin/env bash
# CI's format stage: every tracked C++ file must be as clang-format 14 (Debian 12's) formats it
# with the root .clang-format. It changes nothing; it names the files that differ and fails.
# To fix them: clang-format-14 -i $(git ls-files '*.cpp' '*.h')
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh checks
mapfile -t files < <(git ls-files '*.cpp' '*.h')
if ! clang-format-14 --dry-run --Werror "${files[@]}"; then
  echo "check_format: the files above are not formatted; run: clang-format-14 -i \$(git ls-files '*.cpp' '*.h')" >&2
  exit 1
fi
echo "check_format: all ${#files[@]} C++ files are formatted"
