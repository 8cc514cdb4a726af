#!/usr/bin/env bash
# Sets up a fresh machine, then runs mirl's main job: the command line cleans up a photo that a
# social network re-shared (a JPEG file: uploaded at quality 85, shrunk, compressed again at 75)
# and scores it against the original, then a noisy one; then the demo site (www/) is built and
# served on http://127.0.0.1:${PORT:-8000}/ with the headers it needs. Ctrl+C stops the server.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/mirl-target}"
bash scripts/setup.sh
# A CBSD68 test photo when the shared data is there, else one of the demo's clean samples.
shared="${MIRL_SHARED:-../shared}"
photos="$shared/data/test/cbsd68"
if [ -d "$photos" ]; then
  photo="$photos/$(ls "$photos" | head -1)"
else
  photo=www/samples/coffee.png
fi
out="$CARGO_TARGET_DIR/run"
mkdir -p "$out"
nt() { cargo run --locked --quiet -p native-trainer -- "$@"; }
score() { nt metrics "$1" "$2" | tr '\n' ' '; }
echo "== native-trainer: $photo re-shared (osn:reshare), restored with the ticket picked for it"
nt degrade "$photo" -o "$out/reshared.jpg" --kind osn:reshare --seed 1 --reference "$out/original.png"
nt restore "$out/reshared.jpg" -o "$out/reshared-restored.png" --before-after "$out/reshared-before-after.png"
echo "re-shared: $(score "$out/original.png" "$out/reshared.jpg")"
echo "restored:  $(score "$out/original.png" "$out/reshared-restored.png") ($out/reshared-before-after.png)"
echo "== native-trainer: noise σ 25 on $photo, restored"
nt degrade "$photo" -o "$out/noisy.png" --kind noise:25 --seed 1
nt restore "$out/noisy.png" -o "$out/noisy-restored.png"
echo "noisy:     $(score "$photo" "$out/noisy.png")"
echo "restored:  $(score "$photo" "$out/noisy-restored.png")"
echo "== the demo site"
bash scripts/build-pkg.sh
exec node scripts/serve.mjs --port "${PORT:-8000}"
