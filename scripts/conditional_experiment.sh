#!/usr/bin/env bash
# The emotion-conditioned emoji of issue 15: the three GANs, class-conditional, `default` preset,
# 100 epochs, seed 0, in one resumable `emojigan compare`, then each model evaluated class by
# class with the FID Inception: FID per class against that class's real images, and class
# accuracy from a probe trained on the real images. The unconditional runs of the same preset
# and seed (the paper experiment's, UNCONDITIONAL/MODEL-s0) are measured the same way beside
# them: the probe sorts their images into the classes.
#
#   scripts/conditional_experiment.sh [RUNS [PUBLISH [UNCONDITIONAL]]]
#   # defaults: runs/conditional docs/results/conditional runs/paper100/default/runs
set -euo pipefail
runs="${1:-runs/conditional}"
publish="${2:-docs/results/conditional}"
unconditional="${3:-runs/paper100/default/runs}"
emojigan compare --preset default --models dcgan:conditional=true,deligan:conditional=true,proposed:conditional=true \
  --seeds 0 --epochs 100 --out "$runs" --publish "$publish"
for model in dcgan deligan proposed; do
  emojigan evaluate "$runs/runs/$model-conditionalTrue-s0" --per-class --extractor fid-inception -n 800 --json \
    > "$publish/per_class_$model.json"
  if [ -f "$unconditional/$model-s0/summary.json" ]; then
    emojigan evaluate "$unconditional/$model-s0" --per-class --extractor fid-inception -n 800 --json \
      > "$publish/per_class_unconditional_$model.json"
  else
    echo "conditional_experiment: no unconditional run at $unconditional/$model-s0 to compare with"
  fi
done
echo "conditional_experiment: per-class results in $publish/per_class_*.json"
