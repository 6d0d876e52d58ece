#!/usr/bin/env bash
# The quality push on emoji-faces, seed 0, in two resumable `emojigan compare` calls:
#  1. what each part of the `modern` preset does, 100 epochs: modern DCGAN and DeLiGAN, then
#     DeLiGAN with adaptive augmentation strength (ADA), without DiffAugment (EMA only), without
#     the EMA generator (DiffAugment only), and with the R1 penalty (gamma 0.05; StyleGAN2-ADA's
#     heuristic 0.0002 x resolution^2 / batch gives 0.023 at 64x64, batch 35). The `default`
#     preset's rows (no DiffAugment, no EMA, 3 seeds) are the paper experiment's:
#     docs/results/paper100-default.
#  2. the row of stage 1 with the lowest FID-Inception at its best epoch, trained for LONG epochs;
#     PUBLISH/LONG/recipe.json names it (preset, --models spec, epochs, run name).
# Each row's FID-Inception and emoji FID/KID at its best epoch, and its time, are in PUBLISH/*/table.md.
#
#   scripts/experiments/quality-push/quality_push.sh [RUNS [PUBLISH [LONG]]]   # defaults: runs/quality docs/results/quality-push 300
#   (LONG 0: stage 1 only)
set -euo pipefail
runs="${1:-runs/quality}"
publish="${2:-docs/results/quality-push}"
long="${3:-300}"
variants=(dcgan deligan deligan:ada_target=0.6 deligan:diffaugment=none deligan:ema_decay=0:ema_rampup=0
          deligan:r1_gamma=0.05)
emojigan compare --preset modern --models "$(IFS=,; echo "${variants[*]}")" --seeds 0 --epochs 100 \
  --out "$runs/100" --publish "$publish/100"
[ "$long" -gt 0 ] || exit 0
best=$(python - "$runs/100" "${variants[@]}" <<'PY'
import json
import sys
from pathlib import Path

from keras_emojigan.compare import parse_variant

root, specs = Path(sys.argv[1]), sys.argv[2:]
fid = {spec: json.loads((root / "runs" / parse_variant(spec).run_name(0) / "checkpoint_metrics.json").read_text())
       ["fid-inception"]["best"]["fid"] for spec in specs}
print(min(fid, key=fid.get))
PY
)
echo "quality_push: stage 1's best row is $best; training it for $long epochs"
emojigan compare --preset modern --models "$best" --seeds 0 --epochs "$long" \
  --out "$runs/$long" --publish "$publish/$long"
# The recipe, for what builds on it (scripts/experiments/conditional/conditional_experiment.sh's guided recipe row).
python - "$best" "$long" "$runs/$long" "$publish/$long/recipe.json" <<'PY'
import json
import sys
from pathlib import Path

from keras_emojigan.compare import parse_variant

spec, epochs, runs, out = sys.argv[1], int(sys.argv[2]), Path(sys.argv[3]), Path(sys.argv[4])
recipe = {"preset": "modern", "models": spec, "epochs": epochs, "seed": 0,
          "run": parse_variant(spec).run_name(0)}
out.write_text(json.dumps(recipe, indent=2) + "\n")
print(f"quality_push: wrote {out}; the run is {runs / 'runs' / recipe['run']}")
PY
