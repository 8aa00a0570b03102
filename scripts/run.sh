#!/usr/bin/env bash
# Quick start: installs what is missing, builds, starts surged with its embedded defaults
# (127.0.0.1:50051, data in ./surge-data), deploys the samples, invokes each once, and keeps
# surged in the foreground until Ctrl-C. Other arguments go to surged.
#
# --smoke (first argument): the same on 127.0.0.1:0 with a temporary data dir; every sample's
# answer is checked, then surged stops and the script exits 0 (all answered as expected) or 1.
# CI runs it after the tests, so that the quick start cannot break unseen.
set -euo pipefail
cd "$(dirname "$0")/.."

smoke=0
if [[ ${1:-} == --smoke ]]; then
  smoke=1
  shift
fi

bash scripts/bootstrap.sh
bash scripts/build.sh

surged=build/backend/server/surged
surgectl=build/backend/cli/surgectl
out=$(mktemp)
smoke_dir=
data_dir=surge-data

# The sandboxes' unprivileged uids must pass through every folder above the data dir and the
# runtime shims. A checkout under a private folder (a 0700 home, mktemp -d) cannot serve them:
# then the data and a copy of the shims go to a folder they can pass.
source scripts/passable.sh
if ! passable "$PWD"; then
  staging=/var/lib/surge-quickstart
  mkdir -p "$staging"
  chmod 711 "$staging"
  rm -rf "$staging/runtimes"
  cp -r backend/engine/runtimes "$staging/runtimes"
  chmod -R a+rX "$staging/runtimes"
  data_dir=$staging/data
  set -- --runtime-dir "$staging/runtimes" "$@"
  echo "run.sh: $PWD is not passable by the sandboxes' uids; data and runtime shims go to $staging"
fi

if ((smoke)); then
  smoke_dir=$(mktemp -d)
  chmod 711 "$smoke_dir" # the sandboxes' uids pass through it to the code in the data dir
  data_dir=$smoke_dir/data
  set -- --listen 127.0.0.1:0 --data-dir "$data_dir" "$@"
else
  # surgectl finds the admin key in surged's data dir: the default, or the one given here.
  args=("$@")
  given=0
  for ((i = 0; i < ${#args[@]}; i++)); do
    case "${args[i]}" in
      --data-dir) data_dir=${args[i + 1]:-} given=1 ;;
      --data-dir=*) data_dir=${args[i]#--data-dir=} given=1 ;;
    esac
  done
  if ((!given)) && [[ $data_dir != surge-data ]]; then set -- --data-dir "$data_dir" "$@"; fi
fi

"$surged" "$@" >"$out" &
pid=$!
cleanup() {
  kill -TERM "$pid" 2>/dev/null && wait "$pid" 2>/dev/null || true
  rm -f "$out"
  if [[ -n $smoke_dir ]]; then rm -rf "$smoke_dir"; fi
}
trap cleanup EXIT
trap 'exit 0' INT TERM

# Wait (at most 30 s) for surged to say where it listens.
for _ in $(seq 300); do
  grep -q '^listening on ' "$out" && break
  kill -0 "$pid" 2>/dev/null || { echo "surged exited; see the messages above" >&2; exit 1; }
  sleep 0.1
done
address=$(sed -n 's/^listening on //p' "$out")
[ -n "$address" ] || { echo "surged did not start within 30 s" >&2; exit 1; }
export SURGE_SERVER="$address" SURGE_DATA_DIR="$data_dir"
unset SURGE_API_KEY SURGE_NAMESPACE
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
failed=0
for sample in hello-python hello-nodejs hello-custom hello-cpp; do
  echo "--- $sample"
  if ! result=$("$surgectl" invoke "$sample" --data Surge -v); then
    echo "error: $sample could not be invoked" >&2
    failed=1
    continue
  fi
  echo "result:     $result"
  if [[ $result != "hello, Surge!" ]]; then
    echo "error: $sample answered '$result', not 'hello, Surge!'" >&2
    failed=1
  fi
done

if ((smoke)); then
  if ((failed)); then
    echo "smoke test FAILED; surged's log is above" >&2
    exit 1
  fi
  echo "smoke test passed: every sample answered 'hello, Surge!'"
  exit 0
fi

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
