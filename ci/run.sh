#!/usr/bin/env bash
# Main job: generate the RTL for the default config, co-simulate it against the
# model, then replay a memory trace on the host model against the model and the
# Verilated RTL together (compared every cycle), once more with remote memory, and
# the page-table trigger in co-simulation and in lockstep on a trace.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

bash ci/bootstrap.sh
cargo build --release --bin linewatch
bin="${CARGO_TARGET_DIR:-target}/release/linewatch"
"$bin" rtl --config configs/default.toml --out out/rtl
"$bin" cosim --config configs/default.toml --cycles 2000000 --seed 11
mkdir -p out/traces
"$bin" trace gen --kind zipf --count 1000000 --seed 11 --footprint 4194304 --out out/traces/zipf-4m.bin
"$bin" sim --config configs/default.toml --trace out/traces/zipf-4m.bin --lockstep
# The same trace with most pages in remote memory, trend prefetch, and the event ring
# drained through the driver every 1000 accesses.
"$bin" sim --config configs/sim-remote.toml --trace out/traces/zipf-4m.bin --prefetch trend --events 1000
# The page-table prefetch trigger: co-simulation with page-table traffic, fetch
# answers past the timer and registry commands; then a sequential trace whose remote
# pages the device fetches on page walks, model and RTL compared every cycle.
"$bin" cosim --config configs/pt-small.toml --cycles 500000 --seed 11
"$bin" trace gen --kind sequential --count 300000 --seed 5 --footprint 8388608 --size 64 --out out/traces/seq-8m.bin
"$bin" sim --config configs/sim-remote.toml --trace out/traces/seq-8m.bin --prefetch pt --lockstep
