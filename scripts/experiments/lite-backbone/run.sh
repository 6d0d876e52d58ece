#!/usr/bin/env bash
# The small-data backbone on emoji-faces, seed 0, 300 epochs each, in one resumable
# `emojigan compare` call (preset `lite`: arch=lite, hinge, LeCam 0.3, x-flip, DiffAugment
# colour+translation, EMA generator, bfloat16 where the CPU has it):
#   the full recipe first, then the same with a wider generator (ngf 96: 1.6x a DCGAN training
#   image's cost, within the backbone's 2x cap), then the paper's question on the new backbone (the
#   DeLiGAN and proposed latents at the full recipe), so the candidates to ship come first; then
#   one change per row from the bare backbone up: lite alone (BCE, no LeCam, no x-flip), + hinge,
#   + LeCam.
# Each finished run's records go to PUBLISH as it finishes; rerunning the command resumes the
# unfinished run and skips the finished ones (a new machine restores them from PUBLISH).
#
#   scripts/experiments/lite-backbone/run.sh [RUNS [PUBLISH [EPOCHS]]]
#   # defaults: runs/lite-backbone docs/results/lite-backbone 300
set -euo pipefail
runs="${1:-runs/lite-backbone}"
publish="${2:-docs/results/lite-backbone}"
epochs="${3:-300}"
rows=(dcgan
      dcgan:ngf=96
      deligan
      proposed
      dcgan:xflip=false:lecam_weight=0:loss=bce
      dcgan:xflip=false:lecam_weight=0
      dcgan:xflip=false)
emojigan compare --preset lite --models "$(IFS=,; echo "${rows[*]}")" --seeds 0 --epochs "$epochs" \
  --out "$runs" --publish "$publish"
