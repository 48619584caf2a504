#!/usr/bin/env bash
# Throughput: pycachesim vs linewatch sim on the same accesses (docs/experiments.md).
#
#   bash ci/bench-pycachesim.sh [TRACE] [N]
#
# TRACE defaults to out/traces/kv-random.bin (recorded by ci/experiments.sh
# --traces-only when missing), N to 5,000,000: the first N accesses are decoded into
# a Python list and replayed through pycachesim (PyPI, pinned, in .tools/venv) with
# configs/sim.toml's L1/L2/LLC geometry; the same N accesses, as a lackey text file
# converted to the binary format, go through `linewatch sim` with configs/sim.toml
# (every page on the device) and configs/sim-local.toml (pages in local DRAM).
# LINEWATCH=FILE uses that binary instead of building one.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
TRACE=${1:-out/traces/kv-random.bin} N=${2:-5000000}
VENV=.tools/venv PYCACHESIM=pycachesim==0.3.1

if [[ -z ${LINEWATCH:-} ]]; then
  nice cargo build --release --bin linewatch
  LINEWATCH=${CARGO_TARGET_DIR:-target}/release/linewatch
fi
[[ -x $LINEWATCH ]] || { echo "bench-pycachesim: no linewatch binary at $LINEWATCH" >&2; exit 1; }
if [[ ! -f $TRACE ]]; then
  [[ $TRACE == out/traces/* ]] || { echo "bench-pycachesim: $TRACE: no such trace" >&2; exit 1; }
  LINEWATCH=$LINEWATCH bash ci/experiments.sh --traces-only
fi

# pycachesim builds a C extension (gcc); pip runs only when it is missing.
[[ -x $VENV/bin/python ]] || python3 -m venv "$VENV"
if ! "$VENV/bin/python" -c 'import cachesim' 2>/dev/null; then
  echo "bench-pycachesim: installing $PYCACHESIM into $VENV"
  "$VENV/bin/python" -m pip install -q "$PYCACHESIM"
fi

B=out/bench
mkdir -p "$B"
echo "bench-pycachesim: first $N accesses of $TRACE"
nice "$VENV/bin/python" ci/pycachesim_replay.py configs/sim.toml "$TRACE" "$N" "$B/prefix.lackey" | tail -n1 >"$B/pycachesim.json"
"$LINEWATCH" trace convert --in "$B/prefix.lackey" --out "$B/prefix.bin" >/dev/null
for cfg in sim sim-local; do
  nice "$LINEWATCH" sim --config "configs/$cfg.toml" --trace "$B/prefix.bin" --json | tail -n1 >"$B/linewatch-$cfg.json"
done

python3 - "$B" <<'EOF'
import json, sys
d = sys.argv[1]
py = json.load(open(f"{d}/pycachesim.json"))
print(f"pycachesim {py['version']}: {py['accesses']:,} accesses replayed in {py['replay_s']} s "
      f"(decoding took {py['parse_s']} s, untimed): {py['accesses_per_s'] / 1e6:.2f} M accesses/s; "
      f"hit rates {py['hit_rate']}")
for cfg in ("sim", "sim-local"):
    lw = json.load(open(f"{d}/linewatch-{cfg}.json"))
    assert lw["accesses"] == py["accesses"], (cfg, lw["accesses"], py["accesses"])
    print(f"linewatch sim, configs/{cfg}.toml: {lw['accesses']:,} accesses in {lw['wall_s']} s "
          f"(trace reading included): {lw['accesses_per_s'] / 1e6:.2f} M accesses/s, "
          f"{lw['accesses_per_s'] / py['accesses_per_s']:.1f}x pycachesim; hit rates "
          f"L1 {lw['l1_hit_rate']} L2 {lw['l2_hit_rate']} LLC {lw['llc_hit_rate']}")
EOF
