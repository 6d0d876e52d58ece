#!/usr/bin/env bash
# The projected discriminator on emoji-faces, seed 0, in one resumable `emojigan compare` call
# (preset `projected`: the lite generator against patch discriminators on a frozen ImageNet
# EfficientNet-Lite0's features, hinge, DiffAugment colour+translation+cutout, Adam(2e-4, 0, 0.99),
# no EMA, LeCam or x-flip; bfloat16 where the CPU has it). One change per row:
#   the feature network's input at 128 px (a quarter of the published cost); + the EMA generator
#   (decay 0.999 with StyleGAN2-ADA's warm-up, as the lite recipe has it); then 224 px as published.
# Rows that add LeCam and x-flip to the better come next (docs/results/projected).
# Each finished run's records go to PUBLISH as it finishes; rerunning the command resumes the
# unfinished run and skips the finished ones (a new machine restores them from PUBLISH).
# Needs the feature network's weights: `emojigan extractors fetch efficientnet-lite0`.
#
#   scripts/experiments/projected/run.sh [RUNS [PUBLISH [EPOCHS]]]
#   # defaults: runs/projected docs/results/projected 300
set -euo pipefail
runs="${1:-runs/projected}"
publish="${2:-docs/results/projected}"
epochs="${3:-300}"
rows=(dcgan:projected_size=128
      dcgan:projected_size=128:ema_decay=0.999:ema_rampup=0.05
      dcgan:projected_size=224)
emojigan extractors fetch efficientnet-lite0
emojigan compare --preset projected --models "$(IFS=,; echo "${rows[*]}")" --seeds 0 --epochs "$epochs" \
  --out "$runs" --publish "$publish"
