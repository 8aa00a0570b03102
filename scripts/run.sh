#!/usr/bin/env bash
# Quick start: installs what is missing, builds, starts surged with its embedded defaults
# (127.0.0.1:50051, data in ./surge-data), deploys the samples, and keeps surged in the
# foreground until Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
bash scripts/build.sh

surged=build/backend/server/surged
surgectl=build/backend/cli/surgectl
out=$(mktemp)
"$surged" "$@" >"$out" &
pid=$!
trap 'kill -TERM "$pid" 2>/dev/null; wait "$pid"; rm -f "$out"' EXIT
trap 'exit 0' INT TERM

# Wait (at most 30 s) for surged to say where it listens.
for _ in $(seq 300); do
  grep -q '^listening on ' "$out" && break
  kill -0 "$pid" 2>/dev/null || { echo "surged exited; see the messages above" >&2; exit 1; }
  sleep 0.1
done
address=$(sed -n 's/^listening on //p' "$out")
[ -n "$address" ] || { echo "surged did not start within 30 s" >&2; exit 1; }
export SURGE_SERVER="$address"
# surgectl finds the admin key in surged's data dir: the default, or the one given to this script.
data_dir=surge-data
while [ $# -gt 0 ]; do
  case "$1" in
    --data-dir) data_dir=$2; shift ;;
    --data-dir=*) data_dir=${1#--data-dir=} ;;
  esac
  shift
done
export SURGE_DATA_DIR="$data_dir"
echo "surged is listening on $address"

deploy() { # NAME RUNTIME HANDLER FOLDER
  if "$surgectl" function get "$1" >/dev/null 2>&1; then
    "$surgectl" function deploy "$1" --code "$4"
  else
    "$surgectl" function create "$1" --runtime "$2" --handler "$3" --code "$4" >/dev/null
    echo "created $1"
  fi
}
deploy hello-python python3 index.handler resources/samples/hello-python
deploy hello-nodejs nodejs index.handler resources/samples/hello-nodejs
deploy hello-custom custom bootstrap.handler resources/samples/hello-custom
# Built by scripts/build.sh above: the folder holds only the compiled bootstrap.
deploy hello-cpp custom bootstrap.handler build/samples/hello-cpp

# One call to each: the first starts an instance (a cold start), -v shows where and how long.
for sample in hello-python hello-nodejs hello-custom hello-cpp; do
  echo "--- $sample"
  result=$("$surgectl" invoke "$sample" --data Surge -v)
  echo "result:     $result"
done

cat <<EOT

The samples are deployed. In another terminal:
  export SURGE_SERVER=$address SURGE_DATA_DIR=$(realpath "$data_dir")
  $surgectl function list
  $surgectl function get hello-python
  $surgectl invoke hello-python --data Surge -v
  $surgectl reserve set hello-python 2
  $surgectl status hello-python

Press Ctrl-C to stop surged.
EOT
wait "$pid"
