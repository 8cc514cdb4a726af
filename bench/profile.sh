#!/usr/bin/env bash
# Where one training step's time goes: `perf record` (call stacks by DWARF) of a short
# native-trainer run, summarised by bench/perf_fold.py into the top operations.
#   bash bench/profile.sh                  # tiny network, batch 8 x 32², 60 steps
#   BIN=/path/to/native-trainer NET=small BATCH=8 CROP=64 STEPS=10 bash bench/profile.sh
set -euo pipefail
cd "$(dirname "$0")/.."
SHARED=${MIRL_SHARED:-../shared}
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/mirl-target}"
NET=${NET:-tiny} BATCH=${BATCH:-8} CROP=${CROP:-32} STEPS=${STEPS:-60}
DATA="$SHARED/data/train/cbsd432"
[ -d "$DATA" ] || { echo "missing training photos: $DATA (set MIRL_SHARED)" >&2; exit 1; }
command -v perf >/dev/null || { echo "perf is missing (Debian: apt-get install linux-perf)" >&2; exit 1; }
if [ -z "${BIN:-}" ]; then
  cargo build --profile profiling -p native-trainer
  BIN=$CARGO_TARGET_DIR/profiling/native-trainer
fi
preset=$([ "$NET" = tiny ] && echo quick || echo small)
TMP=$(mktemp -d); trap 'rm -rf "$TMP"' EXIT
mkdir "$TMP/photos"
for f in $(ls "$DATA" | head -n 24); do ln -s "$(cd "$DATA" && pwd)/$f" "$TMP/photos/$f"; done
perf record -q -F 150 --call-graph dwarf,32768 -o "$TMP/perf.data" "$BIN" train --data "$TMP/photos" \
  --out "$TMP/run" --recipe "$preset" --rounds 0 --steps-per-round "$STEPS" --batch "$BATCH" \
  --crop "$CROP" --val-images 1 --val-crop 32 --val-tasks noise:25 2>/dev/null
perf script -i "$TMP/perf.data" -F comm,tid,ip,sym 2>/dev/null > "$TMP/stacks.txt"
echo "$NET network, batch $BATCH x ${CROP}², $STEPS steps ($BIN)"
python3 bench/perf_fold.py "$TMP/stacks.txt" "${TOP:-15}"
