#!/bin/sh
# The OSN ticket pruned with layer-adaptive magnitude (QUALITY.md, "Pruning scope"): the
# campaign's dense round 0 (../run/round-00.mirl, 90,000 steps) pruned in one round to 10% of
# the prunable weights with --scope lamp (one global threshold had emptied the output layer),
# rewound to the campaign's initialisation (the same seed) and trained for a round's 90,000
# steps into ticket/; beside it, the random-reinit control at the same masks and steps, into
# control/. The two run at once: one run alone keeps 2 cores only about 80% busy.
# Run from this folder, each session the same (a stage with a checkpoint is resumed, a finished
# one skipped):
#   setsid nohup sh command.sh >> train.log 2>&1 < /dev/null &   then echo 19 > /proc/PID/autogroup
# Stop both with Ctrl+C, or kill -INT on each native-trainer: each writes its checkpoint first.
# The binary is the release native-trainer of this repository (cargo build --release -p native-trainer).
set -e
bin=${NATIVE_TRAINER:-$HOME/.cache/mirl-target/release/native-trainer}
[ -f masks.mirl ] || "$bin" prune ../run/round-00.mirl -o masks.mirl --density 0.1 --scope lamp
stage() {
  # A finished stage keeps its ticket, report and log, not its checkpoint.
  [ -f "$1/round-00.mirl" ] && { echo "$1: finished"; return; }
  resume=; [ -f "$1/checkpoint.safetensors" ] && resume=--resume
  nice -n 19 "$bin" train --data ../../../../shared/data/train/cbsd432 --out "$1" \
    --recipe quick --steps-per-round 90000 --crop 48 --batch 8 --warmup-steps 10000 \
    --lr 1e-3 --seed 0 --tasks "osn@5,clean" --val-images 4 --val-crop 128 \
    --val-tasks jpeg:20,osn:reshare --workers 1 --checkpoint-secs 300 \
    --control "$2" --masks-from masks.mirl $resume >> "$1.log" 2>&1
}
stage ticket rewound &
stage control random-reinit &
wait
