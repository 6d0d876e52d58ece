#!/usr/bin/env bash
# The paper's experiment at the paper's length: 100 epochs, 3 seeds, both presets, and the
# N ablation of the proposed GAN; one `emojigan compare` per table. Every compare skips
# finished runs and resumes killed ones, so rerun this script after any stop. Each finished
# run's small records (config, history, summary, sample grids) and each table's files are
# copied under PUBLISH as they finish (commit them from there). On a new machine (RUNS gone, PUBLISH
# committed) each compare restores the finished runs from PUBLISH and trains only the rest.
#
#   scripts/experiments/paper/paper_experiment.sh [RUNS [PUBLISH]]   # defaults: runs/paper100 docs/results
#
# On 2 cores: about 20 s per epoch alone, so each table (9 runs x 100 epochs) is 5-6 hours;
# run it in the background: nohup nice -n 10 scripts/experiments/paper/paper_experiment.sh > experiment.log 2>&1 &
set -euo pipefail
runs="${1:-runs/paper100}"
publish="${2:-docs/results}"
started=$(date +%s)
emojigan compare --preset default --seeds 0,1,2 --epochs 100 \
  --out "$runs/default" --publish "$publish/paper100-default"
emojigan compare --preset paper --seeds 0,1,2 --epochs 100 \
  --out "$runs/paper" --publish "$publish/paper100-paper"
emojigan compare --preset default --models proposed:N=2,proposed:N=4,proposed:N=8 --seeds 0,1,2 --epochs 100 \
  --out "$runs/ablation-n" --publish "$publish/paper100-ablation-n"
echo "paper_experiment: this call took $(( $(date +%s) - started )) s (each compare printed its own time and the sum of its epochs)"
