#!/usr/bin/env bash
# Fuzzes the two parsers that take outside bytes, with libFuzzer on stable Rust (coverage
# instrumentation through rustc's sancov pass, as cargo-fuzz sets it up):
#   ticket: any bytes as a .mirl ticket (fuzz/fuzz_targets/ticket.rs)
#   image:  any bytes as a PNG/JPEG/BMP/WebP/TIFF photo, then the restore pipeline (fuzz/fuzz_targets/image.rs)
# Seeds: the shipped ticket, the sample photos, and every input in fuzz/regressions/ (inputs
# that once failed: commit any new crash there). Prints executions and crashes per target;
# exits non-zero on a crash, a hang (a run over 10 s) or an allocation over 256 MiB.
#
#   bash bench/fuzz.sh                 # 1,000,000 executions per target
#   RUNS=100000 bash bench/fuzz.sh image
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-1000000}
TARGETS=("${@:-ticket image}")
TARGETS=(${TARGETS[*]})
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/mirl-target}-fuzz"
triple=$(rustc -vV | sed -n 's/^host: //p')
export RUSTFLAGS="-Cpasses=sancov-module -Cllvm-args=-sanitizer-coverage-level=4 \
-Cllvm-args=-sanitizer-coverage-inline-8bit-counters -Cllvm-args=-sanitizer-coverage-pc-table \
-Cllvm-args=-sanitizer-coverage-trace-compares --cfg fuzzing -Cdebug-assertions -Coverflow-checks"
(cd fuzz && cargo build --locked --release --bins --target "$triple")

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/artifacts"
status=0
for target in "${TARGETS[@]}"; do
  corpus="$work/$target" seeds="$work/$target-seeds"
  mkdir -p "$corpus" "$seeds"
  case $target in
    ticket) cp tickets/*.mirl "$seeds/"; max_len=150000 ;;
    image) cp www/samples/*.png tests/data/web/*.png tests/data/formats/*.{webp,tiff} "$seeds/"; max_len=200000 ;;
    *) echo "unknown target $target (ticket, image)" >&2; exit 2 ;;
  esac
  cp fuzz/regressions/"$target"/* "$seeds/" 2>/dev/null || true
  log="$work/$target.log"
  set +e
  "$CARGO_TARGET_DIR/$triple/release/$target" "$corpus" "$seeds" -runs="$RUNS" -max_len="$max_len" \
    -timeout=10 -malloc_limit_mb=256 -rss_limit_mb=2048 -print_final_stats=1 \
    -artifact_prefix="$work/artifacts/$target-" >"$log" 2>&1
  code=$?
  set -e
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
  secs=$(sed -n 's/^stat::.*time.*: *//p' "$log" | head -1)
  crashes=$(ls "$work/artifacts" | grep -c "^$target-" || true)
  echo "$target: ${runs:-?} executions, exit $code, $crashes crashing inputs, corpus $(ls "$corpus" | wc -l) files"
  if [ "$code" != 0 ] || [ "$crashes" != 0 ]; then
    status=1
    tail -40 "$log"
    mkdir -p fuzz/crashes
    cp "$work/artifacts/$target-"* fuzz/crashes/ 2>/dev/null || true
    echo "crashing inputs copied to fuzz/crashes/: reproduce with $CARGO_TARGET_DIR/$triple/release/$target FILE"
  fi
done
exit $status
