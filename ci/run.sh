#!/usr/bin/env bash
# Main job: generate the RTL for the default config and co-simulate it against the model.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

bash ci/bootstrap.sh
cargo build --release --bin linewatch
bin="${CARGO_TARGET_DIR:-target}/release/linewatch"
"$bin" rtl --config configs/default.toml --out out/rtl
"$bin" cosim --config configs/default.toml --cycles 2000000 --seed 11
