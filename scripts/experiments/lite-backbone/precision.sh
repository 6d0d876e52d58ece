#!/usr/bin/env bash
# The precision side-by-side: the full `lite` recipe (row 1 of run.sh, which trains in
# mixed_bfloat16 on a CPU with bf16 instructions) with `precision=PRECISION` and `seed=SEED`,
# same data, same 300-epoch schedule, evaluated every 5 epochs as row 1 is; stopped after STOP
# epochs (default 100). The float32 run of seed 0 is row 1's other precision; the bf16 run of
# seed 1 is the reference: how far two runs of the same precision drift apart. Compare the
# histories epoch by epoch with precision_table.py. Resumable: rerun the same command.
#
#   scripts/experiments/lite-backbone/precision.sh [RUNS [STOP [PRECISION [SEED]]]]
#   # defaults: runs/lite-backbone 100 float32 0
set -euo pipefail
runs="${1:-runs/lite-backbone}"
stop="${2:-100}"
precision="${3:-float32}"
seed="${4:-0}"
run_dir="$runs/precision/$precision-s$seed"
emojigan fit --preset lite --model dcgan --epochs 300 --seed "$seed" --set precision="$precision" \
  --run-dir "$run_dir" --quiet &
fit=$!
# history.csv's last row is the last finished epoch (0-based); stop once STOP epochs are done
while kill -0 "$fit" 2>/dev/null; do
  done_epochs=0
  [ -f "$run_dir/history.csv" ] && done_epochs=$(( $(wc -l < "$run_dir/history.csv") - 1 ))
  if [ "$done_epochs" -ge "$stop" ]; then kill -TERM "$fit"; wait "$fit" || true; exit 0; fi
  sleep 20
done
wait "$fit"
