#!/bin/sh
# The OSN pilot (QUALITY.md, "The OSN pilot"): recipes for the social-network ticket, each
# trained dense for the same CPU time, then scored on LIVE1 (held out) on JPEG q 10-40 and the
# realistic profiles. Run from this folder, one arm or several:
#   nohup sh pilot.sh osn luma wide allinone qmap >> pilot.log 2>&1 &
# CPU_SECS sets each arm's CPU time (user + system, all threads): the steps are that divided
# by the CPU time of a step, measured first by two short runs (20 and 120 steps).
set -eu
bin=${NATIVE_TRAINER:-$HOME/.cache/mirl-target/release/native-trainer}
data=../../../shared/data/train/cbsd432
test=../../../shared/data/test/live1
cpu=${CPU_SECS:-2100}
osn_mix="osn@5,clean"
eval_tasks="jpeg:10,jpeg:20,jpeg:30,jpeg:40,osn:upload,osn:upload444,osn:messenger,osn:reshare,osn:recrop,clean"

# CPU seconds (user + system) of a command, its output appended to the log; the command's
# exit status (an interrupted run still says what it spent).
cpu_of() {
    python3 -c 'import resource, subprocess, sys
code = subprocess.run(sys.argv[1:], stdout=sys.stderr).returncode
r = resource.getrusage(resource.RUSAGE_CHILDREN)
print(f"{r.ru_utime + r.ru_stime:.1f}")
sys.exit(code)' "$@"
}

arm() {
    name=$1; shift
    set -- --data "$data" --preset quick --rounds 0 --crop 48 --batch 8 --lr 1e-3 --seed 0 \
        --val-images 4 --val-crop 128 --val-tasks jpeg:20,osn:reshare --workers 1 "$@"
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
    mkdir -p quality
    nice -n 19 "$bin" eval --ticket "run-$name/round-00.mirl" --data "$test" \
        --tasks "$eval_tasks" --remove all --json "quality/$name.json" >&2
}

for a in "$@"; do
    case $a in
        allinone) arm allinone --tasks "noise@2,osn@3,rain@2,haze,noise+osn,clean@0.5" ;;
        osn) arm osn --tasks "$osn_mix" ;;
        wide) arm wide --tasks "$osn_mix" --config wide12.json ;;
        luma) arm luma --tasks "$osn_mix" --loss luma ;;
        qmap) arm qmap --tasks "$osn_mix" --config qmap.json ;;
        *) echo "unknown arm $a" >&2; exit 2 ;;
    esac
done
