#!/usr/bin/env bash
# Installs what building and testing mirl needs on a fresh Debian machine; quick when all is there.
# Rust (rustup) must already be installed.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
have() { command -v "$1" >/dev/null 2>&1; }
any() { for f in "$@"; do [ -e "$f" ] && return 0; done; return 1; }  # any of these paths exists
# Vulkan software driver (lavapipe) for the native wgpu tests.
any /usr/share/vulkan/icd.d/lvp_icd*.json || need_apt+=(mesa-vulkan-drivers)
# Headless Chromium and its WebDriver for the browser tests; Node.js for the package and page
# tests. (No binaryen: Debian's breaks wasm-bindgen's output, see Cargo.toml.)
have chromium || need_apt+=(chromium)
have chromedriver || need_apt+=(chromium-driver)
have firefox || need_apt+=(firefox-esr)
have node || need_apt+=(nodejs)
have npm || need_apt+=(npm)
# Open MPI and libclang (the mpi crate's bindings) for data-parallel training (`--features mpi`).
have mpirun || need_apt+=(openmpi-bin)
any /usr/include/x86_64-linux-gnu/mpi/mpi.h /usr/include/mpi.h /usr/lib/x86_64-linux-gnu/openmpi/include/mpi.h \
    || need_apt+=(libopenmpi-dev)
# libclang itself: libclang-cpp, which other packages bring, is no use to bindgen.
any /usr/lib/llvm-*/lib/libclang.so /usr/lib/llvm-*/lib/libclang.so.1 || need_apt+=(libclang-dev)
if [ ${#need_apt[@]} -gt 0 ]; then
    echo "setup: installing ${need_apt[*]}"
    sudo_cmd=""
    [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
    $sudo_cmd apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

rustup target list --installed | grep -qx wasm32-unknown-unknown || rustup target add wasm32-unknown-unknown
rustup component list --installed | grep -q "^clippy" || rustup component add clippy
rustup component list --installed | grep -q "^rustfmt" || rustup component add rustfmt

# wasm-pack, and wasm-bindgen-cli at exactly the version in Cargo.lock (the generated glue and
# the library must match).
have wasm-pack || cargo install wasm-pack
# Debian packages no geckodriver; crates.io has it.
have geckodriver || cargo install geckodriver
lock_version=$(grep -A1 '^name = "wasm-bindgen"$' Cargo.lock | sed -n 's/^version = "\(.*\)"$/\1/p')
if [ "$(wasm-bindgen --version 2>/dev/null | cut -d' ' -f2)" != "$lock_version" ]; then
    cargo install wasm-bindgen-cli --version "$lock_version"
fi
