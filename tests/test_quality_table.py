"""scripts/experiments/quality-push/quality_table.py: the recipe table from fabricated compare tables
(no training)."""

import csv
import json
from pathlib import Path

from script_loader import load_script

from keras_emojigan.config import make_config

quality_table = load_script("quality_table")

COLUMNS = ("model", "seeds", "ckpt_fid_best", "ckpt_fid_best_ci95", "ckpt_fid_last", "ckpt_fid_last_ci95",
           "fid_best", "fid_best_ci95", "kid_best", "kid_best_ci95", "epoch_best", "epoch_seconds")


def _compare_folder(folder: Path, preset: str, epochs: int, rows: dict):
    """rows: {spec: (run folder slug, config overrides, seeds, numbers...)}"""
    folder.mkdir(parents=True)
    with open(folder / "table.csv", "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(COLUMNS)
        for label, (slug, overrides, seeds, numbers) in rows.items():
            for seed in range(seeds):
                (folder / "runs" / f"{slug}-s{seed}").mkdir(parents=True)
                make_config(preset, epochs=epochs, seed=seed, **overrides).save(
                    folder / "runs" / f"{slug}-s{seed}" / "config.json")
            writer.writerow([label, seeds, *numbers])


def test_rows_recipes_and_the_target(tmp_path):
    results, publish, models = tmp_path / "results", tmp_path / "results" / "quality-push", tmp_path / "models"
    _compare_folder(results / "paper100-default", "default", 100, {
        "deligan": ("deligan", {"model": "deligan"}, 3,
                    (238.7, 26.5, 237.3, 14.1, 32.5, 7.8, 0.759, 0.2, "[79, 79, 79]", 4560))})
    _compare_folder(publish / "100", "modern", 100, {
        "deligan": ("deligan", {"model": "deligan"}, 1, (175.5, "nan", 165.6, "nan", 35.7, "nan", 0.93, "nan",
                                                         "[89]", 1802)),
        "deligan:r1_gamma=0.05": ("deligan-r1_gamma0.05", {"model": "deligan", "r1_gamma": 0.05}, 1,
                                  (187.1, "nan", 169.7, "nan", 29.7, "nan", 0.68, "nan", "[89]", 1900))})
    _compare_folder(publish / "300", "modern", 300, {
        "deligan": ("deligan", {"model": "deligan"}, 1, (150.0, "nan", 140.0, "nan", 25.0, "nan", 0.5, "nan",
                                                         "[279]", 5400))})
    assert quality_table.main([str(publish), str(results), str(models)]) == 0
    text = (publish / "recipe.md").read_text()
    assert "No shipped model yet" in text
    lines = [line for line in text.splitlines() if line.startswith("| `")]
    assert [line.split(" | ")[0] for line in lines] == [
        "| `default` deligan", "| `modern` deligan", "| `modern` deligan:r1_gamma=0.05", "| `modern` deligan"]
    assert "| 100 | - | 3 | 238.7 ± 26.5 | 237.3 ± 14.1 | 32.5 ± 7.8 |" in lines[0] and lines[0].endswith("| 1520 |")
    modern = "diffaugment=color,translation,cutout, ema_decay=0.999, ema_rampup=0.05"
    assert f"| {modern} | 1 | 175.5 | 165.6 |" in lines[1]
    assert f"| {modern}, r1_gamma=0.05 |" in lines[2] and "| 300 |" in lines[3] and "| 279 | 5400 |" in lines[3]
    (models / "emoji-faces").mkdir(parents=True)
    halves = {"fid-inception": {"halves": {"num_fake": 396, "fid": 150.0, "floor_fid": 30.0, "fid_over_floor": 5.0}},
              "emoji": {"halves": {"num_fake": 396, "fid": 20.0, "floor_fid": 7.0, "fid_over_floor": 20 / 7}}}
    (models / "emoji-faces" / "metrics.json").write_text(json.dumps({"extractors": halves}))
    quality_table.main([str(publish), str(results), str(models)])
    text = (publish / "recipe.md").read_text()
    assert "- `fid-inception`: FID 150.0, floor 30.0, ratio 5.00x; target 2.5x: not met, 2.0 times" in text
    assert "- `emoji`: FID 20.0, floor 7.0, ratio 2.86x\n" in text
