#!/usr/bin/env bash
# A sweep as a Slurm job array: task i trains line i of the sweep file (0-based).
#   sbatch --array=0-$(( $(grep -c -v -e '^#' -e '^$' sweep.txt) - 1 )) scripts/cluster/slurm-array.sh sweep.txt runs/sweep
# Submit from the repository, with native-trainer on PATH (or NATIVE_TRAINER set) and RUNS
# on storage every node sees. Resubmitting the same array skips finished runs and resumes the
# others; with --requeue a preempted task starts again where its checkpoint left it.
# For data-parallel runs, raise --ntasks (the ranks of one run; srun starts them) and build
# native-trainer with --features mpi; on GPUs, one task per GPU (each rank takes its local GPU).
#SBATCH --job-name=mirl-sweep
#SBATCH --ntasks=1
#SBATCH --cpus-per-task=8
#SBATCH --time=24:00:00
#SBATCH --requeue
#SBATCH --output=slurm-%A_%a.log
set -euo pipefail
exec bash scripts/cluster/run-line.sh "${1:?the sweep file}" "${2:?the runs folder}" --checkpoint-secs 600
