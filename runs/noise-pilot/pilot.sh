#!/bin/sh
# The noise pilot (QUALITY.md, "The noise pilot"): recipes for a denoising ticket, each trained
# dense for the same CPU time, then scored on LIVE1 (held out; CBSD68 stays for the ticket's
# own targets) on Gaussian noise σ 15, 25 and 50 and on clean photos. Run from this folder, one
# arm or several:
#   nohup sh pilot.sh noise wide crop96 mix >> pilot.log 2>&1 &
# CPU_SECS sets each arm's CPU time (user + system, all threads): the steps are that divided
# by the CPU time of a step, measured first by two short runs (20 and 120 steps).
#   noise   tiny, noise alone with clean crops, crop 48
#   wide    the same with dim 12 (wide12.json, about 1.5x tiny's time a step)
#   crop96  tiny, noise alone, crop 96 at batch 2 (the same pixels a step as 48 at batch 8)
#   mix     the OSN pilot's all-in-one arm (../osn-pilot/run-allinone, the same CPU time),
#           scored here on noise; nothing is trained
#   bundled the bundled all-in-one ticket (10% of the weights, 4 rounds of 36,000 steps), for
#           reference; nothing is trained
set -eu
bin=${NATIVE_TRAINER:-$HOME/.cache/mirl-target/release/native-trainer}
data=../../../shared/data/train/cbsd432
test=../../../shared/data/test/live1
cpu=${CPU_SECS:-2100}
noise_mix="noise@5,clean"
eval_tasks="noise:15,noise:25,noise:50,clean"

# CPU seconds (user + system) of a command, its output appended to the log; the command's
# exit status (an interrupted run still says what it spent).
cpu_of() {
    python3 -c 'import resource, subprocess, sys
code = subprocess.run(sys.argv[1:], stdout=sys.stderr).returncode
r = resource.getrusage(resource.RUSAGE_CHILDREN)
print(f"{r.ru_utime + r.ru_stime:.1f}")
sys.exit(code)' "$@"
}

score() {
    mkdir -p quality
    nice -n 19 "$bin" eval --ticket "$2" --data "$test" --tasks "$eval_tasks" --remove all \
        --json "quality/$1.json" >&2
}

arm() {
    name=$1; shift
    set -- --data "$data" --recipe quick --rounds 0 --lr 1e-3 --seed 0 \
        --val-images 4 --val-crop 128 --val-tasks noise:25,noise:50 --workers 1 "$@"
    if [ ! -f "run-$name/round-00.mirl" ]; then
        if [ ! -f "run-$name/steps" ]; then
            rm -rf "probe-$name"
            a=$(cpu_of nice -n 19 "$bin" train --out "probe-$name/a" --steps-per-round 20 "$@")
            b=$(cpu_of nice -n 19 "$bin" train --out "probe-$name/b" --steps-per-round 120 "$@")
            rm -rf "probe-$name"
            steps=$(python3 -c "print(int($cpu / (($b - $a) / 100)))")
            echo "$name: $a s CPU for 20 steps, $b s for 120: $steps steps in $cpu s" >&2
            mkdir -p "run-$name"
            echo "$steps" > "run-$name/steps"
        fi
        steps=$(cat "run-$name/steps")
        resume=""
        [ -f "run-$name/checkpoint.safetensors" ] && resume="--resume"
        status=0
        secs=$(cpu_of nice -n 19 "$bin" train --out "run-$name" --steps-per-round "$steps" \
            --checkpoint-secs 300 $resume "$@") || status=$?
        echo "$name: $steps steps, $secs s CPU this start (exit $status)" | tee -a "run-$name/cpu.txt" >&2
        [ "$status" = 0 ] || exit "$status"
    fi
    score "$name" "run-$name/round-00.mirl"
}

for a in "$@"; do
    case $a in
        noise) arm noise --tasks "$noise_mix" --crop 48 --batch 8 ;;
        wide) arm wide --tasks "$noise_mix" --crop 48 --batch 8 --config wide12.json ;;
        crop96) arm crop96 --tasks "$noise_mix" --crop 96 --batch 2 ;;
        mix) score mix ../osn-pilot/run-allinone/round-00.mirl ;;
        bundled) score bundled ../../tickets/allinone.mirl ;;
        *) echo "unknown arm $a" >&2; exit 2 ;;
    esac
done
