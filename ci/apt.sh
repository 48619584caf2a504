# Sourced by the ci/ scripts: apt_need WHO CMD:PKG... installs the packages whose
# command is missing (apt only then, so it is near-instant on a provisioned
# machine), with sudo unless root, and fails if a command is still missing.
apt_need() {
  local who=$1 entry
  shift
  local missing=()
  for entry in "$@"; do
    command -v "${entry%%:*}" >/dev/null 2>&1 || missing+=("${entry#*:}")
  done
  ((${#missing[@]})) || return 0
  echo "$who: installing ${missing[*]}"
  local sudo=()
  [[ $(id -u) -eq 0 ]] || sudo=(sudo)
  export DEBIAN_FRONTEND=noninteractive
  "${sudo[@]}" apt-get update -qq
  # No recommends: verilator would pull in SystemC, which we don't use.
  "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  for entry in "$@"; do
    command -v "${entry%%:*}" >/dev/null 2>&1 || { echo "$who: ${entry%%:*} still missing after apt-get install" >&2; return 1; }
  done
}
