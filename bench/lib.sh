# Shared by the bench scripts that take their settings from the environment only.

# environment_only SCRIPT [ARGS...]: with no arguments, returns; with -h or --help, prints the
# script's header comment (its usage) and exits 0; with anything else, says so and exits 2.
environment_only() {
  local script=$1
  shift
  [[ $# -eq 0 ]] && return 0
  sed -n '2,/^set -euo/{/^#/s/^# \{0,1\}//p}' "$script"
  [[ $1 == -h || $1 == --help ]] && exit 0
  echo "bench/$(basename "$script"): takes no arguments (settings are environment variables)" >&2
  exit 2
}
