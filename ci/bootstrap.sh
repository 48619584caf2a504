#!/usr/bin/env bash
# Install the HDL toolchain on Debian 12. Idempotent: touches apt only when a
# tool is missing, so it is near-instant on a provisioned machine.
set -euo pipefail

# command:package (a command is the cheapest "is it installed" probe)
TOOLS=(
  verilator:verilator
  yosys:yosys
  nextpnr-ice40:nextpnr-ice40
  icepack:fpga-icestorm
  iverilog:iverilog
  g++:g++
  make:make
)

missing=()
for entry in "${TOOLS[@]}"; do
  cmd=${entry%%:*} pkg=${entry#*:}
  command -v "$cmd" >/dev/null 2>&1 || missing+=("$pkg")
done

if ((${#missing[@]})); then
  echo "bootstrap: installing ${missing[*]}"
  sudo=()
  [[ $(id -u) -eq 0 ]] || sudo=(sudo)
  export DEBIAN_FRONTEND=noninteractive
  "${sudo[@]}" apt-get update -qq
  # No recommends: verilator would pull in SystemC, which we don't use.
  "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  for entry in "${TOOLS[@]}"; do
    cmd=${entry%%:*}
    command -v "$cmd" >/dev/null 2>&1 || { echo "bootstrap: $cmd still missing after apt-get install" >&2; exit 1; }
  done
fi

# First line of a version banner; some tools print to stderr or exit non-zero.
first_line() { { "$@" 2>&1 || true; } | head -n1; }
pkg_version() { dpkg-query -W -f='${Version}' "$1" 2>/dev/null || echo unknown; }

echo "verilator:     $(first_line verilator --version)"
echo "yosys:         $(first_line yosys -V)"
echo "nextpnr-ice40: $(first_line nextpnr-ice40 --version)"
echo "icestorm:      fpga-icestorm $(pkg_version fpga-icestorm)"
echo "iverilog:      $(first_line iverilog -V)"
echo "g++:           $(first_line g++ --version)"
echo "make:          $(first_line make --version)"
