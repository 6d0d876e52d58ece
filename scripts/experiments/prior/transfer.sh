#!/usr/bin/env bash
# Transfer: emoji-faces fine-tuned from the emoji prior against from scratch, at equal budgets,
# two seeds, one resumable `emojigan compare` call per budget (preset `lite`, the shipped recipe;
# rows: from scratch; from the prior; from the prior with D's first 2 blocks frozen, FreezeD).
# Each finished run's records go to PUBLISH/e<EPOCHS> as it finishes; the checkpoints are measured
# in FID-Inception and in the second feature space (emoji-all), with recall, near-duplicates and
# memorisation against emoji-faces. Memorisation against emoji-all (what the prior saw):
# `emojigan evaluate RUN --real emoji-all --nearest`.
#
#   scripts/experiments/prior/transfer.sh [PRIOR [RUNS [PUBLISH [BUDGETS]]]]
#   # defaults: saved_models/emoji-prior/1 runs/transfer docs/results/transfer "25 100 300"
set -euo pipefail
prior="${1:-saved_models/emoji-prior/1}"
runs="${2:-runs/transfer}"
publish="${3:-docs/results/transfer}"
budgets="${4:-25 100 300}"
emojigan extractors fetch fid-inception
for epochs in $budgets; do
  emojigan compare --preset lite --models "dcgan,dcgan:init_from=$prior,dcgan:init_from=$prior:freeze_d=2" \
    --seeds 0,1 --epochs "$epochs" --out "$runs/e$epochs" --publish "$publish/e$epochs"
done
