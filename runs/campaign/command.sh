#!/bin/sh
# The training campaign for the bundled ticket (QUALITY.md). Run from this folder:
#   nohup sh command.sh >> train.log 2>&1 &          (first start)
#   nohup sh command.sh --resume >> train.log 2>&1 & (every later session)
# The binary is the release native-trainer of this repository (cargo build --release -p native-trainer).
bin=${NATIVE_TRAINER:-$HOME/.cache/mirl-target/release/native-trainer}
exec nice -n 19 "$bin" train --data ../../../shared/data/train/cbsd432 --out run \
  --preset quick --rounds 3 --target-density 0.1 --steps-per-round 36000 --crop 48 --batch 8 \
  --lr 1e-3 --tasks "noise@2,osn@3,rain@2,haze,noise+osn,clean@0.5" --val-images 4 --val-crop 128 \
  --workers 1 --checkpoint-secs 300 --and-control random-reinit "$@"
