#!/usr/bin/env bash
# The emoji prior: the `lite` recipe (FastGAN-style networks, hinge, LeCam, x-flip, DiffAugment,
# EMA; bfloat16 where the CPU has it) trained on emoji-all (every emoji of the ten designs but
# emoji-faces' own, ~12k images) at 64 px, seed 0. Resumable: rerun the same command after an
# interruption; raise EPOCHS to train on (only --epochs may change on resume).
#
#   scripts/experiments/prior/run.sh [RUN_DIR [EPOCHS]]
#   # defaults: runs/prior/lite-s0 100
set -euo pipefail
run_dir="${1:-runs/prior/lite-s0}"
epochs="${2:-100}"
emojigan data fetch emoji-all
emojigan fit --preset lite --data emoji-all --epochs "$epochs" --seed 0 --run-dir "$run_dir"
