#!/usr/bin/env bash
# Sets up a fresh machine, then runs every test: native (CPU and wgpu on any Vulkan device,
# lavapipe included) and the wasm32 build.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/mirl-target}"
bash scripts/setup.sh

echo "== wasm32 build of the library"
cargo build --locked -p mirl --lib --target wasm32-unknown-unknown --no-default-features --features flex,wgpu

echo "== native tests"
cargo test --locked --workspace
