#!/usr/bin/env bash
# The emotion-conditioned emoji of issue 15: the three GANs, class-conditional, `default` preset,
# 100 epochs, seed 0, in one resumable `emojigan compare`, then each model evaluated class by
# class with the FID Inception and with the emoji extractor: FID per class against that class's
# real images, and class accuracy from a probe trained on the real images. The unconditional runs of the same preset
# and seed (the paper experiment's, UNCONDITIONAL/MODEL-s0) are measured the same way beside
# them: the probe sorts their images into the classes. scripts/conditional_table.py then writes
# PUBLISH/per_class.md.
#
#   scripts/conditional_experiment.sh [RUNS [PUBLISH [UNCONDITIONAL]]]
#   # defaults: runs/conditional docs/results/conditional runs/paper100/default/runs
set -euo pipefail
runs="${1:-runs/conditional}"
publish="${2:-docs/results/conditional}"
unconditional="${3:-runs/paper100/default/runs}"
emojigan compare --preset default --models dcgan:conditional=true,deligan:conditional=true,proposed:conditional=true \
  --seeds 0 --epochs 100 --out "$runs" --publish "$publish"
# Each evaluation writes one JSON and is skipped when it exists (a killed script resumes).
evaluate() {  # evaluate RUN_DIR EXTRACTOR OUT.json
  [ -s "$3" ] && return 0
  emojigan evaluate "$1" --per-class --extractor "$2" -n 800 --json > "$3.tmp" && mv "$3.tmp" "$3"
}
for extractor in fid-inception emoji; do
  mkdir -p "$publish/per_class/$extractor"
  for model in dcgan deligan proposed; do
    evaluate "$runs/runs/$model-conditionalTrue-s0" "$extractor" "$publish/per_class/$extractor/$model.json"
    if [ -f "$unconditional/$model-s0/summary.json" ]; then
      evaluate "$unconditional/$model-s0" "$extractor" "$publish/per_class/$extractor/unconditional_$model.json"
    else
      echo "conditional_experiment: no unconditional run at $unconditional/$model-s0 to compare with"
    fi
  done
done
python "$(dirname "$0")/conditional_table.py" "$publish"
