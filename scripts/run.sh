#!/usr/bin/env bash
# Sets up a fresh machine, then runs mirl's main job on the bundled default ticket: the command
# line restores a noisy test photo and scores it, then the demo site (www/) is built and served
# on http://127.0.0.1:${PORT:-8000}/ with the headers it needs. Ctrl+C stops the server.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/mirl-target}"
bash scripts/setup.sh
# A CBSD68 test photo when the shared data is there, else the demo's own clean sample.
shared="${MIRL_SHARED:-../shared}"
photos="$shared/data/test/cbsd68"
if [ -d "$photos" ]; then
  photo="$photos/$(ls "$photos" | head -1)"
else
  photo=www/samples/cat.png
fi
out="$CARGO_TARGET_DIR/run"
mkdir -p "$out"
nt() { cargo run --locked --quiet -p native-trainer -- "$@"; }
echo "== native-trainer: noise σ 25 on $photo, restored with tickets/allinone.mirl"
nt degrade "$photo" -o "$out/noisy.png" --kind noise:25 --seed 1
nt restore "$out/noisy.png" -o "$out/restored.png"
echo "noisy:    $(nt metrics "$photo" "$out/noisy.png" | tr '\n' ' ')"
echo "restored: $(nt metrics "$photo" "$out/restored.png" | tr '\n' ' ') ($out/restored.png)"
echo "== the demo site"
bash scripts/build-pkg.sh
exec node scripts/serve.mjs --port "${PORT:-8000}"
