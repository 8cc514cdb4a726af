#!/usr/bin/env bash
# One line of a sweep file as one training run: `native-trainer train --runs RUNS LINE EXTRA`.
# Which line is the array index (0-based): Slurm's SLURM_ARRAY_TASK_ID, Kubernetes' Indexed
# Job's JOB_COMPLETION_INDEX, or INDEX. The run's folder under RUNS is named by a hash of its
# settings, so running a line again skips a finished run and resumes an interrupted one: a
# preempted or failed task is simply run again.
#
#   INDEX=0 bash scripts/cluster/run-line.sh SWEEP_FILE RUNS [EXTRA train arguments...]
#
# Blank lines and lines starting with # do not count. Under Slurm with several tasks per
# run, srun starts them as the run's MPI ranks (a native-trainer built with --features mpi).
set -euo pipefail
[ $# -ge 2 ] || { echo "usage: run-line.sh SWEEP_FILE RUNS [EXTRA...]" >&2; exit 2; }
sweep=$1 runs=$2
shift 2
index=${SLURM_ARRAY_TASK_ID:-${JOB_COMPLETION_INDEX:-${INDEX:-}}}
[ -n "$index" ] || { echo "run-line.sh: no index: set INDEX, or run as a Slurm array task or an Indexed Job" >&2; exit 2; }
line=$(grep -v -e '^[[:space:]]*#' -e '^[[:space:]]*$' "$sweep" | sed -n "$((index + 1))p")
[ -n "$line" ] || { echo "run-line.sh: $sweep has no line $index (0-based)" >&2; exit 2; }
launch=()
if [ "${SLURM_NTASKS:-1}" -gt 1 ]; then launch=(srun); fi
echo "run-line.sh: line $index: train --runs $runs $line $*" >&2
# The line holds arguments, split as the shell splits them (no quoting inside a line).
# shellcheck disable=SC2086
exec "${launch[@]}" "${NATIVE_TRAINER:-native-trainer}" train --runs "$runs" $line "$@"
