#!/usr/bin/env bash
# Sets up a fresh machine, then runs every test: native (CPU and wgpu on any Vulkan device,
# lavapipe included), then the WebAssembly build in headless Chromium (WebGPU on SwiftShader)
# and Firefox ESR (WebGPU on lavapipe), and on the CPU in both.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/mirl-target}"
bash scripts/setup.sh

shared="${MIRL_SHARED:-../shared}"
for part in fixtures data; do
    if [ ! -d "$shared/$part" ]; then
        echo "scripts/test.sh: $shared/$part is missing: the tests compare with the reference fixtures and" \
            "restore the photos of the shared folder; set MIRL_SHARED to the folder that holds fixtures/ and data/" >&2
        exit 1
    fi
done

echo "== gates: formatting, lints (native and wasm32, warnings are errors), the library's docs"
cargo fmt --all --check
cargo clippy --locked --workspace --all-targets -- -D warnings
cargo clippy --locked -p native-trainer --all-targets --features mpi -- -D warnings
cargo clippy --locked -p mirl --lib --test web --target wasm32-unknown-unknown --no-default-features --features flex,wgpu -- -D warnings
# The package's two cores: CPU only (default features) and WebGPU only.
cargo clippy --locked -p mirl --lib --target wasm32-unknown-unknown -- -D warnings
cargo clippy --locked -p mirl --lib --target wasm32-unknown-unknown --no-default-features --features wgpu -- -D warnings
RUSTDOCFLAGS="-D warnings" cargo doc --locked --no-deps -p mirl

echo "== the fuzz targets: a short run of each (bench/fuzz.sh; RUNS=1000000 for a long one)"
RUNS="${FUZZ_RUNS:-20000}" bash bench/fuzz.sh

echo "== wasm32 build of the library"
cargo build --locked -p mirl --lib --target wasm32-unknown-unknown --no-default-features --features flex,wgpu

echo "== native tests, the slow tier included (a plain \`cargo test\` skips what trains or runs whole photos)"
cargo test --locked --workspace -- --include-ignored

echo "== data-parallel training on two MPI ranks of this machine (mpirun -n 2)"
cargo test --locked -p native-trainer --features mpi --test mpi -- --include-ignored

echo "== browser tests (headless Chromium, flags in webdriver.json)"
# SwiftShader compiles each WebGPU kernel slowly: allow minutes per test.
WASM_BINDGEN_TEST_TIMEOUT=600 wasm-pack test --headless --chrome --chromedriver "$(command -v chromedriver)" \
    --features wgpu --test web
echo "== browser tests (headless Firefox ESR, WebGPU on lavapipe; prefs in webdriver.json)"
WASM_BINDGEN_TEST_TIMEOUT=600 wasm-pack test --headless --firefox --geckodriver "$(command -v geckodriver)" \
    --features wgpu --test web

echo "== the npm package in a page (headless Chromium via playwright-core)"
bash scripts/build-pkg.sh --dev
(cd tests/browser && npm install --no-audit --no-fund --silent)
node tests/browser/api.test.mjs
node tests/browser/vite.test.mjs
echo "== tiles on several workers (threads), aborted, and a worker that dies mid-restore"
node tests/browser/threads.test.mjs
echo "== a GPU device lost mid-restore (headless Chromium, WebGPU on SwiftShader)"
node tests/browser/gpu-loss.test.mjs
echo "== a 12-megapixel photo, memory, and restores at once (headless Chromium, minutes)"
node tests/browser/load.test.mjs
echo "== the demo site (www/) end to end in headless Chromium"
node tests/browser/demo.test.mjs
echo "== the package and the demo in headless Firefox ESR (WebGPU on lavapipe; playwright-core over WebDriver BiDi)"
for test in api threads gpu-loss load demo; do
    MIRL_BROWSER=firefox node "tests/browser/$test.test.mjs"
done
