#!/usr/bin/env bash
# Sets up a fresh machine, then runs mirl's main job: degrade a test photo with noise, restore
# it with the bundled default ticket, and score both; then the reference check: import MIR-L's
# paper checkpoint into an f16 ticket and run it on the reference input.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/mirl-target}"
bash scripts/setup.sh
shared="${MIRL_SHARED:-../shared}"
fixture="$shared/fixtures/mirl-paper-sparse"
[ -d "$fixture" ] || { echo "run: $fixture is missing (set MIRL_SHARED to the folder that holds fixtures/)" >&2; exit 1; }
out="$CARGO_TARGET_DIR/run"
mkdir -p "$out"
nt() { cargo run --locked --quiet -p native-trainer -- "$@"; }
photo="$shared/data/test/cbsd68/$(ls "$shared/data/test/cbsd68" | head -1)"
nt degrade "$photo" -o "$out/noisy.png" --kind noise:25 --seed 1
nt restore "$out/noisy.png" -o "$out/restored.png"
echo "noisy:    $(nt metrics "$photo" "$out/noisy.png")"
echo "restored: $(nt metrics "$photo" "$out/restored.png")  ($out/restored.png)"
nt import "$fixture/weights.ckpt" --config "$fixture/config.json" -o "$out/paper.mirl"
nt inspect "$out/paper.mirl" > "$out/paper-inspect.txt"
head -9 "$out/paper-inspect.txt"
nt infer --ticket "$out/paper.mirl" --input "$fixture/io.safetensors" -o "$out/paper-output.safetensors"
python3 - "$fixture/io.safetensors" "$out/paper-output.safetensors" <<'PY'
import json, struct, sys
def read(path, name):
    b = open(path, "rb").read(); n = struct.unpack("<Q", b[:8])[0]; h = json.loads(b[8:8 + n])
    s, e = h[name]["data_offsets"]; d = b[8 + n + s:8 + n + e]
    return struct.unpack(f"<{len(d) // 4}f", d)
want, got = read(sys.argv[1], "output"), read(sys.argv[2], "output")
print(f"max abs difference from the reference PyTorch output: {max(abs(a - b) for a, b in zip(want, got)):.2e}")
PY
