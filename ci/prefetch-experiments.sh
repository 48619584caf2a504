#!/usr/bin/env bash
# The four prefetch policies (none, pt, readahead, trend) on the recorded programs
# (docs/experiments.md, "Prefetch from remote memory"): every program x policy on
# configs/sim-remote.toml with [remote] map_around = 1 (only touched pages mapped)
# and 8 (each touched page's aligned group of eight mapped), plus the trigger's
# timer on sqlite. Writes the tables into docs/experiments.md between its
# prefetch:begin / prefetch:end markers; and the same four policies on three
# synthetic traces into docs/host-model.md (prefetch-synth markers).
#
#   bash ci/prefetch-experiments.sh
#
# Needs the traces of `bash ci/experiments.sh --traces-only` in out/traces/.
# LINEWATCH=FILE uses that binary instead of building one.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
start=$SECONDS
if [[ -z ${LINEWATCH:-} ]]; then
  nice cargo build --release --bin linewatch
  LINEWATCH=${CARGO_TARGET_DIR:-target}/release/linewatch
fi
T=out/traces R=out/prefetch
mkdir -p "$R"
NAMES=(sqlite python gzip kv-random kv-sequential)
for n in "${NAMES[@]}"; do
  [[ -f $T/$n.bin ]] || { echo "prefetch-experiments: $T/$n.bin missing: run bash ci/experiments.sh --traces-only" >&2; exit 1; }
done
# variant FILE SED: configs/sim-remote.toml with one edit.
variant() { sed "$2" configs/sim-remote.toml >"$R/$1.toml"; }
variant around1 's/^map_around = 1 /map_around = 1 /'
variant around8 's/^map_around = 1 /map_around = 8 /'
for timer in 2048 4096 16384; do
  variant "timer$timer" "s/^timer = 8192 /timer = $timer /"
done
run() { # config trace policy
  local out=$R/$2.$1.$3.json
  [[ -f $out && -z ${FORCE:-} ]] && return
  echo "prefetch-experiments: $2 $1 $3"
  nice "$LINEWATCH" sim --config "$R/$1.toml" --trace "$T/$2.bin" --prefetch "$3" --json | tail -n1 >"$out.tmp"
  mv "$out.tmp" "$out"
}
for cfg in around1 around8; do
  for n in "${NAMES[@]}"; do
    for p in none pt readahead trend; do run "$cfg" "$n" "$p"; done
  done
done
for timer in 2048 4096 16384; do run "timer$timer" sqlite pt; run "timer$timer" kv-random pt; done
# Synthetic traces (docs/host-model.md).
S=$R/synth
mkdir -p "$S"
gen() { [[ -f $S/$1.bin ]] || nice "$LINEWATCH" trace gen --seed 1 --out "$S/$1.bin" "${@:2}" >/dev/null; }
gen seq --kind sequential --count 200000 --footprint 67108864 --size 64
gen stride --kind strided --count 20000 --footprint 1073741824 --stride 20480 --size 8
gen rand --kind uniform --count 20000 --footprint 17179869184
for n in seq stride rand; do
  for p in none pt readahead trend; do
    out=$S/$n.$p.json
    [[ -f $out && -z ${FORCE:-} ]] && continue
    nice "$LINEWATCH" sim --config configs/sim-remote.toml --trace "$S/$n.bin" --prefetch "$p" --json | tail -n1 >"$out.tmp"
    mv "$out.tmp" "$out"
  done
done

python3 - "$R" docs/experiments.md "${NAMES[@]}" <<'PY'
import json, sys
R, page, names = sys.argv[1], sys.argv[2], sys.argv[3:]
def load(cfg, n, p):
    return json.loads(open(f"{R}/{n}.{cfg}.{p}.json").read())
def f3(x): return f"{x:.3f}"
out = []
for cfg, title in (("around1", "`map_around = 1`: only the pages each program touches are mapped"),
                   ("around8", "`map_around = 8`: each touched page brings its aligned group of eight (one page-table line)")):
    out += [f"**{title}**", "",
            "| program | policy | faults | issued | useful | accuracy | coverage | late | wasted KiB | AMAT (cycles) | run time vs none |",
            "|---|---|---|---|---|---|---|---|---|---|---|"]
    for n in names:
        base = load(cfg, n, "none")
        for p in ("none", "pt", "readahead", "trend"):
            d = load(cfg, n, p)
            acc = f3(d["accuracy"]) if d["prefetch_issued"] else "-"
            out.append(f"| {n if p == 'none' else ''} | {p} | {d['faults']} | {d['prefetch_issued']} | {d['prefetch_useful']} | {acc} | {f3(d['coverage'])} | {d['late']} | {d['wasted_bytes'] // 1024} | {f3(d['amat_cycles'])} | {d['sim_cycles'] / base['sim_cycles']:.4f} |")
    out.append("")
out += ["**The trigger's timer** (`map_around = 1`, `--prefetch pt`; a line's eight fetches take 3000 + 8 x 512 = 7096 device cycles on this link: latency plus transfers, at clock ratio 2)", "",
        "| program | timer (device cycles) | faults | late | useful | AMAT (cycles) | run time vs none |",
        "|---|---|---|---|---|---|---|"]
for n in ("sqlite", "kv-random"):
    base = load("around1", n, "none")
    for t in (2048, 4096, 8192, 16384):
        d = load("around1" if t == 8192 else f"timer{t}", n, "pt")
        out.append(f"| {n} | {t} | {d['faults']} | {d['late']} | {d['prefetch_useful']} | {f3(d['amat_cycles'])} | {d['sim_cycles'] / base['sim_cycles']:.4f} |")
import os
def write(page, tag, lines):
    text = open(page).read()
    b, e = f"<!-- {tag}:begin -->", f"<!-- {tag}:end -->"
    if b not in text or e not in text:
        sys.exit(f"{page}: no {b} / {e} markers")
    head, rest = text.split(b, 1)
    _, tail = rest.split(e, 1)
    open(page + ".tmp", "w").write(head + b + "\n" + "\n".join(lines) + "\n" + e + tail)
    os.replace(page + ".tmp", page)
    print(f"prefetch-experiments: wrote {page}")
write(page, "prefetch", out)
syn = ["| trace | policy | faults | issued | useful | accuracy | coverage | late | wasted bytes | AMAT (cycles) |",
       "|---|---|---|---|---|---|---|---|---|---|"]
for n, title in (("seq", "sequential"), ("stride", "strided (5 pages)"), ("rand", "uniform, 16 GiB")):
    for p in ("none", "pt", "readahead", "trend"):
        d = json.loads(open(f"{R}/synth/{n}.{p}.json").read())
        acc = f3(d["accuracy"]) if d["prefetch_issued"] else "-"
        syn.append(f"| {title if p == 'none' else ''} | {p} | {d['faults']} | {d['prefetch_issued']} | {d['prefetch_useful']} | {acc} | {f3(d['coverage'])} | {d['late']} | {d['wasted_bytes']} | {d['amat_cycles']:.1f} |")
write("docs/host-model.md", "prefetch-synth", syn)
PY
echo "prefetch-experiments: done in $((SECONDS - start)) s"
