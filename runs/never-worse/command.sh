#!/bin/sh
# Retrains the bundled ticket's masks (the campaign's round 3) from the weights the campaign
# rewound to (its initialisation at seed 0), on a mix that weights clean photos as much as JPEG
# (clean@3, was clean@0.5), so that the network learns to leave photos that need nothing alone.
# Same steps, crop, batch and learning rate as the campaign's rounds (runs/campaign/command.sh).
# Run from this folder:
#   nohup sh command.sh >> train.log 2>&1 &          (first start)
#   nohup sh command.sh --resume >> train.log 2>&1 & (every later session)
bin=${NATIVE_TRAINER:-$HOME/.cache/mirl-target/release/native-trainer}
exec nice -n 19 "$bin" train --data ../../../shared/data/train/cbsd432 --out run \
  --preset quick --steps-per-round 36000 --crop 48 --batch 8 --lr 1e-3 --seed 0 \
  --tasks "noise@2,osn@3,rain@2,haze,noise+osn,clean@3" \
  --val-tasks "noise:25,jpeg:20,rain,haze" --val-images 4 --val-crop 128 \
  --control rewound --masks-from ../campaign/run/round-03.mirl \
  --workers 1 --checkpoint-secs 300 "$@"
