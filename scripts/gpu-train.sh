#!/usr/bin/env bash
# Trains a ticket on an NVIDIA GPU within a fixed time, for a machine lent for minutes: one
# command, with a native-trainer built elsewhere (`cargo build --release -p native-trainer
# --features cuda`; the GPU machine needs no Rust), photos from a folder, and a time budget
# that covers kernel compilation, every round, the random-reinit control and validation.
#
#   bash scripts/gpu-train.sh --data PHOTOS --out RUN --budget SECONDS [--bin NATIVE_TRAINER]
#        [--backend cuda|wgpu] [-- EXTRA TRAIN ARGUMENTS]
#
# The default recipe is the tiny network at batch 16 x 64², four pruning rounds to 10% of the
# prunable weights and the random-reinit control; arguments after `--` override it (any
# `native-trainer train` option). A run continues from its checkpoint when RUN already has one
# (`--resume`), so a run can move between machines. `--backend wgpu` runs the same script on
# any Vulkan device, to check it without a GPU.
set -euo pipefail

usage() { sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
fail() { echo "gpu-train: $*" >&2; exit 2; }

data="" out="" budget="" backend=cuda
bin=${NATIVE_TRAINER:-$(dirname "$0")/../target/release/native-trainer}
extra=()
while [ $# -gt 0 ]; do
    case "$1" in
        --data) data=${2-}; shift 2 ;;
        --out) out=${2-}; shift 2 ;;
        --budget) budget=${2-}; shift 2 ;;
        --bin) bin=${2-}; shift 2 ;;
        --backend) backend=${2-}; shift 2 ;;
        --) shift; extra=("$@"); break ;;
        -h|--help) usage ;;
        *) fail "unknown argument $1 (see --help)" ;;
    esac
done
[ -n "$data" ] && [ -n "$out" ] && [ -n "$budget" ] || fail "--data, --out and --budget are required (see --help)"
[ -d "$data" ] || fail "no photos folder at $data"
[ -n "$(find -L "$data" -maxdepth 1 -type f \( -iname '*.png' -o -iname '*.jpg' -o -iname '*.jpeg' -o -iname '*.bmp' \) -print -quit)" ] \
    || fail "$data holds no PNG, JPEG or BMP photos"
[[ "$budget" =~ ^[0-9]+$ ]] || fail "--budget must be whole seconds, not '$budget'"
# Kernel compilation takes up to a minute before the first step; rounds need time after it.
[ "$budget" -ge 120 ] || fail "a budget of $budget s is too small: kernel compilation alone can take 60 s; give at least 120"
[ -x "$bin" ] || fail "no native-trainer at $bin (build it with: cargo build --release -p native-trainer --features cuda; or pass --bin)"
case "$backend" in
    cuda)
        "$bin" --version | grep -q 'backends:.*cuda' \
            || fail "$bin was built without the cuda backend; rebuild with: cargo build --release -p native-trainer --features cuda"
        # burn-cuda loads the driver library at run time.
        if ! ldconfig -p 2>/dev/null | grep -q 'libcuda\.so\.1' \
            && ! find ${LD_LIBRARY_PATH//:/ } /usr/local/nvidia/lib64 /usr/lib/x86_64-linux-gnu -maxdepth 1 -name 'libcuda.so.1' 2>/dev/null | grep -q .; then
            fail "no NVIDIA driver found (libcuda.so.1 is neither known to ldconfig nor in LD_LIBRARY_PATH)"
        fi
        ;;
    wgpu) ;;
    *) fail "--backend must be cuda or wgpu, not '$backend'" ;;
esac

args=(train --backend "$backend" --data "$data" --out "$out" --time-budget "$budget"
      --recipe quick --rounds 4 --target-density 0.1 --batch 16 --crop 64 --lr 1e-3
      --tasks "noise@2,osn,rain,haze,noise+osn,clean@0.5" --val-images 4 --val-crop 128
      --checkpoint-secs 60 --and-control random-reinit)
[ -f "$out/checkpoint.safetensors" ] && args+=(--resume)
echo "gpu-train: $bin ${args[*]} ${extra[*]}" >&2
start=$(date +%s)
"$bin" "${args[@]}" "${extra[@]}"
echo "gpu-train: done in $(( $(date +%s) - start )) s; tickets and report.md in $out" >&2
