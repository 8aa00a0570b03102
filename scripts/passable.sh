# Sourced by run.sh and test.sh. Sandboxes run as unprivileged uids that must pass through every
# folder above the data dir, the runtime shims and the zygote.
passable() { # DIR: every folder from / to DIR lets others through
  local dir
  dir=$(realpath "$1")
  while [[ $dir != / ]]; do
    [[ $(( 8#$(stat -c %a "$dir") & 1 )) == 1 ]] || return 1
    dir=$(dirname "$dir")
  done
}
