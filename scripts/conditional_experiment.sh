#!/usr/bin/env bash
# The emotion-conditioned emoji of issue 15: the three GANs, class-conditional, `default` preset,
# 100 epochs, seed 0, in one resumable `emojigan compare`, then each model evaluated class by
# class (FID per class against that class's real images, and class accuracy from a probe trained
# on the real images) with the FID Inception.
#
#   scripts/conditional_experiment.sh [RUNS [PUBLISH]]   # defaults: runs/conditional docs/results/conditional
set -euo pipefail
runs="${1:-runs/conditional}"
publish="${2:-docs/results/conditional}"
emojigan compare --preset default --models dcgan:conditional=true,deligan:conditional=true,proposed:conditional=true \
  --seeds 0 --epochs 100 --out "$runs" --publish "$publish"
for model in dcgan deligan proposed; do
  run="$runs/runs/$model-conditionalTrue-s0"
  emojigan evaluate "$run" --per-class --extractor fid-inception -n 800 --json > "$publish/per_class_$model.json"
done
echo "conditional_experiment: per-class results in $publish/per_class_*.json"
