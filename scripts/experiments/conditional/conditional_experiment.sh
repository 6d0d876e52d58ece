#!/usr/bin/env bash
# The emotion-conditioned emoji, in resumable parts, seed 0, 100 epochs each:
#  1. the three GANs, class-conditional (projection D), `default` preset: the paper's setting;
#  1b. DeLiGAN as in part 1 with class batch norm in G (class_batch_norm=true);
#  2. the recipe to ship: DeLiGAN, conditional, `modern` preset (DiffAugment + EMA), with AC-GAN's
#     class losses (class_loss_weight 1): with the preset's DiffAugment policy, then without its
#     translation (color+cutout), which slows D's learning of the classes (d_class_loss in history.csv);
#     then with the fixed class guide instead (class_guide_weight 1: a frozen classifier of the real
#     images, the emoji classifier's features and a fitted linear head, gives G's class loss);
#     then the guide seeing G's images through color+translation (class_guide_augment), so a class
#     must survive shifts and colour changes to count; then that with a matching-aware D
#     (class_mismatch_weight 1: real images under the other class's label are fakes to D); then
#     the augmented guide made robust (class_guide_robust 8: fine-tuned adversarially, PGD within
#     8 pixel levels, before it is frozen), so G cannot meet it with invisible patterns;
#  3. when the quality push's stage 2 has finished (QUALITY/LONG's recipe.json), its recipe with
#     the class guide seeing G's images through color+translation (part 2's best row: the lowest
#     FID-Inception and the largest class change; the matching-aware D did worse on both; the robust
#     guide gave a lower FID-Inception but no better Inception-probe accuracy), at the
#     recipe's length, beside the recipe's unconditional run.
# Every conditional run is then measured class by class, with the FID Inception and with the emoji
# extractor: FID per class against that class's real images, and class accuracy from a probe
# trained on the real images. The unconditional run of the same preset and seed is measured the
# same way beside it (the probe sorts its images into the classes): for part 1 the paper
# experiment's UNCONDITIONAL/MODEL-s0, for part 2 the quality push's MODERN/deligan-s0.
# scripts/experiments/conditional/conditional_table.py then writes PUBLISH/per_class.md, and scripts/experiments/conditional/label_use.py
# PUBLISH/label_use.md (does each run's D, and its G, use the label?).
#
#   scripts/experiments/conditional/conditional_experiment.sh [RUNS [PUBLISH [UNCONDITIONAL [MODERN [RECIPE]]]]]
#   # defaults: runs/conditional docs/results/conditional runs/paper100/default/runs runs/quality/100/runs
#   #           docs/results/quality-push/300/recipe.json (its run is in MODERN/../../300/runs)
set -euo pipefail
runs="${1:-runs/conditional}"
publish="${2:-docs/results/conditional}"
unconditional="${3:-runs/paper100/default/runs}"
modern="${4:-runs/quality/100/runs}"
recipe="${5:-docs/results/quality-push/300/recipe.json}"

# Each evaluation writes one JSON and is skipped when it exists (a killed script resumes).
evaluate() {  # evaluate RUN_DIR EXTRACTOR OUT.json
  [ -s "$3" ] && return 0
  local cached
  cached="$runs/per_class/$2-$(printf '%s' "$(realpath "$1")" | sha1sum | cut -c1-16).json"
  if [ ! -s "$cached" ]; then  # rows that share an unconditional run share its evaluation
    mkdir -p "$(dirname "$cached")"
    emojigan evaluate "$1" --per-class --extractor "$2" -n 800 --json > "$cached.tmp"  # (no &&: set -e stops here)
    mv "$cached.tmp" "$cached"
  fi
  cp "$cached" "$3"
}
measure() {  # measure ROW CONDITIONAL_RUN UNCONDITIONAL_RUN
  for extractor in fid-inception emoji; do
    mkdir -p "$publish/per_class/$extractor"
    evaluate "$2" "$extractor" "$publish/per_class/$extractor/$1.json"
    if [ -f "$3/summary.json" ]; then
      evaluate "$3" "$extractor" "$publish/per_class/$extractor/$1.unconditional.json"
    else
      echo "conditional_experiment: no unconditional run at $3 to set beside $1"
    fi
  done
}

emojigan compare --preset default --models dcgan:conditional=true,deligan:conditional=true,proposed:conditional=true \
  --seeds 0 --epochs 100 --out "$runs" --publish "$publish"
emojigan compare --preset modern \
  --models deligan:conditional=true:class_loss_weight=1,deligan:conditional=true:class_loss_weight=1:diffaugment=color+cutout,deligan:conditional=true:class_guide_weight=1,deligan:conditional=true:class_guide_weight=1:class_guide_augment=color+translation,deligan:conditional=true:class_guide_weight=1:class_guide_augment=color+translation:class_mismatch_weight=1,deligan:conditional=true:class_guide_weight=1:class_guide_augment=color+translation:class_guide_robust=8 \
  --seeds 0 --epochs 100 --out "$runs/modern" --publish "$publish/modern"

measure modern-deligan-acgan "$runs/modern/runs/deligan-class_loss_weight1.0-conditionalTrue-s0" "$modern/deligan-s0"
measure modern-deligan-acgan-no-translation \
  "$runs/modern/runs/deligan-class_loss_weight1.0-conditionalTrue-diffaugmentcolor+cutout-s0" "$modern/deligan-s0"
measure modern-deligan-guided "$runs/modern/runs/deligan-class_guide_weight1.0-conditionalTrue-s0" "$modern/deligan-s0"
measure modern-deligan-guided-augmented \
  "$runs/modern/runs/deligan-class_guide_augmentcolor+translation-class_guide_weight1.0-conditionalTrue-s0" "$modern/deligan-s0"
matching=$(python -c 'from keras_emojigan.compare import parse_variant
print(parse_variant("deligan:conditional=true:class_guide_weight=1:class_guide_augment=color+translation:"
                    "class_mismatch_weight=1").run_name(0))')
measure modern-deligan-guided-augmented-matching "$runs/modern/runs/$matching" "$modern/deligan-s0"
robust=$(python -c 'from keras_emojigan.compare import parse_variant
print(parse_variant("deligan:conditional=true:class_guide_weight=1:class_guide_augment=color+translation:"
                    "class_guide_robust=8").run_name(0))')
measure modern-deligan-guided-augmented-robust "$runs/modern/runs/$robust" "$modern/deligan-s0"
for model in dcgan deligan proposed; do
  measure "$model" "$runs/runs/$model-conditionalTrue-s0" "$unconditional/$model-s0"
done

# 1b. DeLiGAN with class batch norm in G (class_batch_norm: the class sets every block's channel
#     gains and biases, as in Miyato & Koyama's projection cGAN), else as in part 1: part 1's
#     generators ignored the label (their class blocks in the sample grids were the same faces).
class_bn=$(python -c 'from keras_emojigan.compare import parse_variant
print(parse_variant("deligan:conditional=true:class_batch_norm=true").run_name(0))')
emojigan compare --preset default --models deligan:conditional=true:class_batch_norm=true \
  --seeds 0 --epochs 100 --out "$runs/class-bn" --publish "$publish/class-bn"
measure deligan-class-bn "$runs/class-bn/runs/$class_bn" "$unconditional/deligan-s0"

if [ -f "$recipe" ]; then
  read -r spec epochs run < <(python -c 'import json, sys; r = json.load(open(sys.argv[1]))
print(r["models"], r["epochs"], r["run"])' "$recipe")
  guided=$(python -c 'import sys; from keras_emojigan.compare import parse_variant
print(parse_variant(sys.argv[1] + ":conditional=true:class_guide_weight=1:class_guide_augment=color+translation")
      .run_name(0))' "$spec")
  emojigan compare --preset modern --models "$spec:conditional=true:class_guide_weight=1:class_guide_augment=color+translation" \
    --seeds 0 \
    --epochs "$epochs" --out "$runs/recipe" --publish "$publish/recipe"
  measure recipe-guided "$runs/recipe/runs/$guided" "$(dirname "$(dirname "$modern")")/$epochs/runs/$run"
else
  echo "conditional_experiment: no $recipe yet (scripts/experiments/quality-push/quality_push.sh's stage 2): the guided recipe row waits"
fi

# Whether each conditional run's D and G use the label (D: real images with their own label
# against another; G: how much the class changes an image, against the noise).
shopt -s nullglob
conditional_runs=("$runs"/runs/*-s0 "$runs"/modern/runs/*-s0 "$runs"/class-bn/runs/*-s0 "$runs"/recipe/runs/*-s0)
shopt -u nullglob
# (A run that compare restored from its published records on a new machine has no checkpoint: its
# row is kept from the published label_use.json. On any failure the published files stay as they are.)
if python "$(dirname "$0")/label_use.py" "${conditional_runs[@]}" --keep "$publish/label_use.json" \
    --json "$publish/label_use.json.tmp" > "$publish/label_use.md.tmp"; then
  mv "$publish/label_use.json.tmp" "$publish/label_use.json"
  mv "$publish/label_use.md.tmp" "$publish/label_use.md"
else
  rm -f "$publish/label_use.json.tmp" "$publish/label_use.md.tmp"
  echo "conditional_experiment: label_use.py could not measure every run (above); kept $publish/label_use.md"
fi
python "$(dirname "$0")/conditional_table.py" "$publish"
