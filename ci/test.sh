#!/usr/bin/env bash
# CI test job: toolchain, formatting, lints, then the full test suite.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

bash ci/bootstrap.sh

# Minimal rustup profiles ship without these.
if command -v rustup >/dev/null 2>&1; then
  cargo fmt --version >/dev/null 2>&1 || rustup component add rustfmt
  cargo clippy --version >/dev/null 2>&1 || rustup component add clippy
fi

cargo fmt --all -- --check
cargo clippy --workspace --all-targets -- -D warnings
# Release: the co-simulation tests are too slow unoptimised.
cargo test --workspace --release
# The host model's tests once more with debug assertions: MESI's single-writer rule
# and inclusion are checked after every access.
cargo test -p linewatch-model --lib host
