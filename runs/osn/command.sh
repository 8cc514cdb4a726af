#!/bin/sh
# The training campaign for the OSN ticket (QUALITY.md, "Social-network photos"): the pilot's
# pick (tiny, L1, the osn family with clean crops), pruned by MIR-L's procedure to 10% of the
# prunable weights, with the random-reinit control on the same budget. Run from this folder:
#   nohup sh command.sh >> train.log 2>&1 &          (first start)
#   nohup sh command.sh --resume >> train.log 2>&1 & (every later session)
# Started with setsid (its own session), it also gets a scheduling group of its own, in which nice
# yields nothing to the other sessions' work; then lower the group too: echo 19 > /proc/PID/autogroup
# The binary is the release native-trainer of this repository (cargo build --release -p native-trainer).
bin=${NATIVE_TRAINER:-$HOME/.cache/mirl-target/release/native-trainer}
exec nice -n 19 "$bin" train --data ../../../shared/data/train/cbsd432 --out run \
  --preset quick --rounds 3 --target-density 0.1 --steps-per-round 90000 --crop 48 --batch 8 \
  --lr 1e-3 --seed 0 --tasks "osn@5,clean" --val-images 4 --val-crop 128 \
  --val-tasks jpeg:20,osn:reshare --workers 1 --checkpoint-secs 300 --and-control random-reinit "$@"
