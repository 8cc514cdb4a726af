#!/usr/bin/env bash
# Builds the npm package into pkg/: the WebAssembly core (wasm-pack, target web, WebGPU + CPU),
# the JavaScript API (js/), TypeScript declarations and package.json (js/package.json).
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
# js/package.json's "files" is the package's one file list: those in js/ are copied, the rest
# are wasm-pack's; the version is Cargo.toml's.
version=$(sed -n 's/^version = "\(.*\)"$/\1/p' Cargo.toml | head -1)
node - "$version" <<'JS'
const fs = require('fs');
const manifest = JSON.parse(fs.readFileSync('js/package.json', 'utf8'));
manifest.version = process.argv[2];
for (const file of manifest.files) {
  if (fs.existsSync(`js/${file}`)) fs.copyFileSync(`js/${file}`, `pkg/${file}`);
  if (!fs.existsSync(`pkg/${file}`)) throw new Error(`package file missing: pkg/${file}`);
}
fs.writeFileSync('pkg/package.json', JSON.stringify(manifest, null, 2) + '\n');
JS
rm -f pkg/.gitignore
for wasm in pkg/mirl_core_bg.wasm pkg/mirl_gpu_bg.wasm; do
  echo "$wasm: $(stat -c %s "$wasm") bytes ($(gzip -9c "$wasm" | wc -c) gzipped), bundled tickets $(cat tickets/*.mirl | wc -c) bytes inside (allinone $(stat -c %s tickets/allinone.mirl), osn $(stat -c %s tickets/osn.mirl))"
done
