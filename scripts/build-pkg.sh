#!/usr/bin/env bash
# Builds the npm package into pkg/: the WebAssembly core (wasm-pack, target web, WebGPU + CPU),
# the JavaScript API (js/), TypeScript declarations and package.json.
#   bash scripts/build-pkg.sh          # release build (no wasm-opt: see Cargo.toml)
#   bash scripts/build-pkg.sh --dev    # faster build for tests
set -euo pipefail
cd "$(dirname "$0")/.."
profile=--release
[ "${1:-}" = "--dev" ] && profile=--dev
# Two cores, so that a page fetches only the backend it runs: the CPU one (default features)
# and the WebGPU one (several times larger: most of it is cubecl's kernel generator).
wasm-pack build --target web --out-dir pkg --out-name mirl_core "$profile" --no-pack
wasm-pack build --target web --out-dir pkg --out-name mirl_gpu "$profile" --no-pack -- --no-default-features --features wgpu
cp js/mirl.js js/mirl.d.ts js/pool.js js/worker.js js/mirl-worker.js js/mirl-worker.d.ts pkg/
cp js/README.md pkg/README.md
version=$(sed -n 's/^version = "\(.*\)"$/\1/p' Cargo.toml | head -1)
cat > pkg/package.json <<JSON
{
  "name": "mirl",
  "version": "$version",
  "description": "Restore noisy, recompressed, rainy or hazy photos in the browser with pruned PromptIR winning tickets (MIR-L), on WebGPU or the CPU",
  "license": "MIT OR Apache-2.0",
  "type": "module",
  "main": "./mirl.js",
  "types": "./mirl.d.ts",
  "exports": {
    ".": { "types": "./mirl.d.ts", "default": "./mirl.js" },
    "./worker": { "types": "./mirl-worker.d.ts", "default": "./mirl-worker.js" },
    "./mirl.js": { "types": "./mirl.d.ts", "default": "./mirl.js" },
    "./mirl_core_bg.wasm": "./mirl_core_bg.wasm",
    "./mirl_gpu_bg.wasm": "./mirl_gpu_bg.wasm"
  },
  "files": ["mirl.js", "mirl.d.ts", "pool.js", "mirl-worker.js", "mirl-worker.d.ts", "worker.js", "mirl_core.js", "mirl_core.d.ts", "mirl_core_bg.wasm", "mirl_core_bg.wasm.d.ts", "mirl_gpu.js", "mirl_gpu.d.ts", "mirl_gpu_bg.wasm", "mirl_gpu_bg.wasm.d.ts", "README.md"],
  "sideEffects": false
}
JSON
rm -f pkg/.gitignore
for wasm in pkg/mirl_core_bg.wasm pkg/mirl_gpu_bg.wasm; do
  echo "$wasm: $(stat -c %s "$wasm") bytes ($(gzip -9c "$wasm" | wc -c) gzipped), bundled tickets $(cat tickets/*.mirl | wc -c) bytes inside (allinone $(stat -c %s tickets/allinone.mirl), osn $(stat -c %s tickets/osn.mirl))"
done
