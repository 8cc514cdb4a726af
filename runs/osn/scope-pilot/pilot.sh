#!/bin/sh
# The pruning-scope pilot (QUALITY.md, "Pruning scope"): masks chosen three ways, each retrained
# from the OSN campaign's initialisation (same seed, --control rewound) for 8,000 steps with the
# campaign's settings, and scored on its validation photos. Run from this folder; reports land
# in run-ARM/report.md (kept here as ARM.md).
#   r2-global   round 1's weights cut to round 2's density by one global threshold (round 2's masks)
#   r2-lamp     the same cut by layer-adaptive magnitude
#   r0-lamp-10  round 0's dense weights cut to 10% in one round by layer-adaptive magnitude
set -e
bin=${NATIVE_TRAINER:-$HOME/.cache/mirl-target/release/native-trainer}
run=../run
"$bin" prune $run/round-01.mirl -o r2-global.mirl --density 0.2154 --scope global
"$bin" prune $run/round-01.mirl -o r2-lamp.mirl --density 0.2154 --scope lamp
"$bin" prune $run/round-00.mirl -o r0-lamp-10.mirl --density 0.1 --scope lamp
for arm in r2-global r2-lamp r0-lamp-10; do
  nice -n 5 "$bin" train --data ../../../../shared/data/train/cbsd432 --out run-$arm \
    --recipe quick --steps-per-round 8000 --crop 48 --batch 8 --lr 1e-3 --seed 0 \
    --tasks "osn@5,clean" --val-images 4 --val-crop 128 --val-tasks jpeg:20,osn:reshare \
    --workers 1 --checkpoint-secs 300 --control rewound --masks-from $arm.mirl
done
