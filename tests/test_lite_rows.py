"""scripts/experiments/lite-backbone/measure_rows.py's table: one line per row, the numbers a
measured row holds, and "not finished" for the rest."""

import json

from script_loader import load_script

measure_rows = load_script("measure_rows")


def _measured(checkpoint: str) -> dict:
    halves = {"fid": 50.0, "floor_fid": 25.0, "fid_over_floor": 2.0, "kid": 0.0123, "floor_kid": 0.0011,
              "floor_precision": 0.87, "floor_recall": 0.85}
    whole = {"precision": 0.71, "recall": 0.55, "near_duplicate_share": 0.02, "near_duplicate_groups": 780,
             "near_duplicate_share_real": 0.05, "memorised_share": 0.0}
    return {"run": "dcgan-s0", "checkpoint": checkpoint,
            "why": "FID-Inception 51.0, near-duplicates 2% (best checkpoint, epoch 274) vs "
                   "FID-Inception 55.0, near-duplicates 1% (last, epoch 299) in checkpoint_metrics.json",
            "fid_inception": {"halves": halves, "whole": whole}, "large": {"fid": 30.5},
            "epochs_done": 300, "epoch_seconds": 6000.4, "bfloat16": True}


def test_the_table_shows_a_measured_row_and_marks_the_others_unfinished(tmp_path):
    folder = tmp_path / "runs" / "dcgan-s0"
    folder.mkdir(parents=True)
    (folder / "measured.json").write_text(json.dumps(_measured("best")))
    lines = measure_rows.table(tmp_path)
    assert len(lines) == 2 + len(measure_rows.ROWS)
    full = lines[2]
    for text in ("full recipe", "best (274)", "50.0 / 25.0 (2.00x)", "0.0123 / 0.0011", "| 30.5 |",
                 "0.71 / 0.55 (0.87 / 0.85)", "2.0% (780; 5.0%)", "| 0.0% |", "| 6000 |"):
        assert text in full, text
    assert all("not finished" in line for line in lines[3:])


def test_the_exported_checkpoints_epoch_is_read_from_the_choice():
    assert measure_rows._epoch_of(_measured("best")) == "274"
    assert measure_rows._epoch_of(_measured("last")) == "299"
