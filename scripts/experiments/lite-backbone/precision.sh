#!/usr/bin/env bash
# The float32 side of the precision side-by-side: the full `lite` recipe (row 1 of run.sh, which
# trains in mixed_bfloat16 on a CPU with bf16 instructions) with `precision=float32`, same seed,
# same data, same 300-epoch schedule, evaluated every 5 epochs as row 1 is; stopped after
# STOP epochs (default 100). Compare its history.csv with row 1's epoch by epoch (FID, precision,
# recall, near-duplicates). Resumable: rerun the same command.
#
#   scripts/experiments/lite-backbone/precision.sh [RUNS [STOP]]   # default: runs/lite-backbone 100
set -euo pipefail
runs="${1:-runs/lite-backbone}"
stop="${2:-100}"
run_dir="$runs/precision/float32-s0"
emojigan fit --preset lite --model dcgan --epochs 300 --set precision=float32 --run-dir "$run_dir" --quiet &
fit=$!
# history.csv's last row is the last finished epoch (0-based); stop once STOP epochs are done
while kill -0 "$fit" 2>/dev/null; do
  done_epochs=0
  [ -f "$run_dir/history.csv" ] && done_epochs=$(( $(wc -l < "$run_dir/history.csv") - 1 ))
  if [ "$done_epochs" -ge "$stop" ]; then kill -TERM "$fit"; wait "$fit" || true; exit 0; fi
  sleep 20
done
wait "$fit"
