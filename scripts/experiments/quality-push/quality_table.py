"""The quality push's recipe table: every row the quality push tried, beside the paper's presets, and the
shipped model against the target.

Reads the `emojigan compare` tables (``table.csv``, and one run's ``config.json`` for the preset
and the length) of the quality push's stages (``PUBLISH/<epochs>/``) and of the paper experiment's
`default` and `paper` presets (``docs/results/paper100-<preset>/``, when present), and the shipped
model's ``saved_models/emoji-faces/metrics.json`` (when present). Writes ``PUBLISH/recipe.md``: per
row, what it sets beyond the `default` preset (the paper's settings), FID-Inception at the
best-FID and last checkpoints (800 images against the whole set, as compare measures them), the
emoji extractor's FID/KID at the best evaluated epoch, and the training time per run.

    python scripts/experiments/quality-push/quality_table.py [PUBLISH [RESULTS [SAVED_MODELS]]]
    # defaults: docs/results/quality-push docs/results saved_models
"""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path

from keras_emojigan.config import TrainConfig, make_config
from keras_emojigan.reports.tables import markdown_table

TARGET_RATIO = 2.5  # the push's target: FID-Inception against the real halves within 2.5x the real-vs-real floor
NOT_RECIPE = {"model", "seed", "epochs", "preset", "data", "eval_every", "eval_samples", "extractor",
              "inception_weights", "sample_count", "stop_on_collapse"}  # how a run is watched, not trained


def recipe(config: TrainConfig) -> str:
    """What the run sets beyond the `default` preset, as `field=value` (`-` when nothing)."""
    changed = config.changed_from(make_config("default"), ignore=NOT_RECIPE)
    return ", ".join(f"{k}={v}" for k, v in changed.items()) or "-"


def load_table(folder: Path) -> list[dict]:
    """One dict per row of ``folder/table.csv``, with its preset, epochs and recipe from a run."""
    from keras_emojigan.compare import parse_variant

    rows = []
    with open(folder / "table.csv", newline="") as handle:
        for row in csv.DictReader(handle):
            runs = sorted((folder / "runs").glob(f"{parse_variant(row['model']).slug}-s*/config.json"))
            if not runs:
                raise SystemExit(f"{folder}: no run under runs/ for the row {row['model']!r}")
            rows.append({"spec": row["model"], "config": TrainConfig.load(runs[0]), "row": row})
    return rows


def _number(value: str, digits: int = 1) -> str:
    return "n/a" if value in ("", "nan", None) else f"{float(value):.{digits}f}"


def _epochs(value: str) -> str:
    return ", ".join(str(e) for e in json.loads(value)) if value else "n/a"


def _interval(row: dict, key: str, digits: int = 1) -> str:
    ci = row.get(f"{key}_ci95", "nan")
    return _number(row[key], digits) + ("" if ci in ("", "nan") else f" ± {float(ci):.{digits}f}")


def table(rows: list[dict]) -> list[str]:
    def cells(entry):
        row, config = entry["row"], entry["config"]
        seeds = int(row["seeds"])
        return [f"`{config.preset}` {entry['spec']}", config.epochs, recipe(config), seeds,
                _interval(row, "ckpt_fid_best"), _interval(row, "ckpt_fid_last"), _interval(row, "fid_best"),
                _interval(row, "kid_best", 3), _epochs(row["epoch_best"]), f"{float(row['epoch_seconds']) / seeds:.0f}"]

    return markdown_table(["preset, row", "epochs", "beyond the `default` preset", "seeds",
                           "FID-Inception (best-FID ckpt)", "FID-Inception (last ckpt)", "emoji FID (best)",
                           "emoji KID (best)", "best epochs", "time per run (s)"], map(cells, rows))


def shipped(metrics_path: Path) -> list[str]:
    if not metrics_path.exists():
        return [f"No shipped model yet ({metrics_path} is absent)."]
    metrics = json.loads(metrics_path.read_text())
    count = next(iter(metrics["extractors"].values()))["halves"]["num_fake"]
    lines = [f"The shipped model ({metrics_path.parent}/1), {count}"
             " generated images against each random half of the real set, averaged, beside the real-vs-real floor "
             "at the same sizes (the push's measure):", ""]
    for name, entry in metrics["extractors"].items():
        halves = entry["halves"]
        verdict = "" if name != "fid-inception" else (
            f"; target {TARGET_RATIO}x: {'met' if halves['fid_over_floor'] <= TARGET_RATIO else 'not met'}, "
            f"{halves['fid_over_floor'] / TARGET_RATIO:.1f} times the allowed ratio")
        lines.append(f"- `{name}`: FID {halves['fid']:.1f}, floor {halves['floor_fid']:.1f}, "
                     f"ratio {halves['fid_over_floor']:.2f}x{verdict}")
    return lines


def main(argv=None) -> int:
    args = (argv if argv is not None else sys.argv[1:]) + [None] * 3
    publish = Path(args[0] or "docs/results/quality-push")
    results = Path(args[1] or "docs/results")
    saved_models = Path(args[2] or "saved_models")
    references = [results / f"paper100-{preset}" for preset in ("paper", "default")]
    stages = sorted((p for p in publish.iterdir() if p.name.isdigit() and (p / "table.csv").exists()),
                    key=lambda p: int(p.name))
    if not stages:
        raise SystemExit(f"{publish}: no stage folder with a table.csv "
                         "(run scripts/experiments/quality-push/quality_push.sh first)")
    rows = [row for folder in [*references, *stages] if (folder / "table.csv").exists() for row in load_table(folder)]
    lines = ["# The quality push: what each change did", "",
             "`python scripts/experiments/quality-push/quality_table.py` from the compare tables of " +
             ", ".join(f"`{f}`" for f in [*references, *stages] if (f / "table.csv").exists()) +
             ". FID-Inception: 800 generated images against the whole set at each run's best-FID "
             "(emoji extractor) and last checkpoints; mean ± 95% interval where there are several seeds. "
             "Time: the run's epochs (training and evaluations), from history.csv; runs that shared the "
             "machine with other work are slower than alone.", "", *table(rows), "",
             *shipped(saved_models / "emoji-faces" / "metrics.json"), ""]
    (publish / "recipe.md").write_text("\n".join(lines))
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
