#!/usr/bin/env bash
# How far the shipping measure moves when only its randomness changes: FID-Inception against the
# real halves over the floor (and recall, near-duplicates) of the same exported checkpoints, with
# other seeds for the samples and the split into halves (`emojigan evaluate --halves --seed S`).
# Two rows within this spread of each other are a tie for the selection rule.
#
#   scripts/experiments/lite-backbone/resample.sh [MEASURED [OUT [ROWS [SEEDS]]]]
#   # defaults: runs/lite-backbone/measured docs/results/lite-backbone/resampled.jsonl "dcgan-s0 proposed-s0" "0 1 2 3"
# MEASURED holds the exports measure_rows.py made (the checkpoint each row would ship). One JSON
# line per row and seed goes to OUT (appended; a row and seed already there is skipped).
set -euo pipefail
measured="${1:-runs/lite-backbone/measured}"
out="${2:-docs/results/lite-backbone/resampled.jsonl}"
rows="${3:-dcgan-s0 proposed-s0}"
seeds="${4:-0 1 2 3}"
touch "$out"
for row in $rows; do
  for seed in $seeds; do
    grep -q "\"row\": \"$row\", \"seed\": $seed," "$out" && continue
    result=$(emojigan evaluate "$measured/$row" --halves --extractor fid-inception --seed "$seed" --json)
    python3 -c 'import json, sys; r = json.loads(sys.argv[3]); print(json.dumps({"row": sys.argv[1], "seed": int(sys.argv[2]), **{k: r[k] for k in ("fid", "floor_fid", "fid_over_floor", "kid", "precision", "recall", "near_duplicate_share", "near_duplicate_groups")}}))' \
      "$row" "$seed" "$result" >> "$out"
    tail -1 "$out"
  done
done
