#!/usr/bin/env bash
# Emotion on request from an unconditional generator: find its class directions (selected by
# the emoji-feature probe), export the steered SavedModel, and measure it with the
# Inception-feature probe (fitted on real images only).
#
#   scripts/experiments/emotion/run.sh [MODEL [PUBLISH [WORK [CONFIDENT [DIRECTIONS OPTIONS...]]]]]
#   # defaults: saved_models/emoji-faces/1 docs/results/emotion/emoji-faces-1 runs/emotion/emoji-faces-1 1
# CONFIDENT is `emojigan directions --confident`: the share of latents each side the boundaries
# are fitted on (1: every latent); any further arguments go to `emojigan directions` too
# (e.g. --keep-colour).
# PUBLISH gets directions.json, results.json, README.md (the tables) and one grid per class;
# WORK the steered SavedModel (ship it with `emojigan export MODEL --directions FILE --name NAME`).
set -euo pipefail
model="${1:-saved_models/emoji-faces/1}"
publish="${2:-docs/results/emotion/emoji-faces-1}"
work="${3:-runs/emotion/emoji-faces-1}"
confident="${4:-1}"
shift $(( $# < 4 ? $# : 4 ))
mkdir -p "$publish" "$work"
[ -f "$publish/directions.json" ] || emojigan directions "$model" --confident "$confident" "$@" -o "$publish/directions.json"
emojigan export "$model" --directions "$publish/directions.json" -o "$work/steered" --overwrite
python "$(dirname "$0")/measure.py" "$work/steered" --out "$publish"
