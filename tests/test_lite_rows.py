"""The lite-backbone tables: measure_rows.py's (one line per row, "not finished" for the rest) and
precision_table.py's (bf16 against float32 at the epochs both evaluated)."""

import json

import pytest
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


precision_table = load_script("precision_table")


def _history(folder, bfloat16: int, fids):
    folder.mkdir(parents=True)
    lines = ["epoch,d_loss,fid,precision,recall,near_duplicate_share,seconds,bfloat16"]
    for epoch in range(10):
        fid = fids.get(epoch)
        evaluated = f"{fid},0.7,0.5,0.01" if fid is not None else ",,,"
        lines.append(f"{epoch},1.0,{evaluated},{10 + bfloat16 * -5},{bfloat16}")
    (folder / "history.csv").write_text("\n".join(lines) + "\n")


def test_the_precision_table_pairs_the_epochs_both_runs_evaluated(tmp_path):
    _history(tmp_path / "bf16", 1, {4: 100.0, 9: 50.0})
    _history(tmp_path / "fp32", 0, {4: 110.0})  # still running: one evaluation so far
    lines = precision_table.table(tmp_path / "bf16", tmp_path / "fp32")
    assert lines[2].startswith("| 4 | 100.0 / 110.0 | 0.700 / 0.700 | 0.500 / 0.500 | 0.010 / 0.010 |")
    assert lines[3].startswith("| mean of 1 |") and not any(line.startswith("| 9 ") for line in lines)
    assert lines[-1] == "Mean seconds per epoch to epoch 4: bfloat16 5.0, float32 10.0."


def test_the_precision_table_refuses_runs_in_the_wrong_precisions(tmp_path):
    _history(tmp_path / "a", 0, {4: 100.0})
    _history(tmp_path / "b", 0, {4: 110.0})
    with pytest.raises(SystemExit, match="expected .* in bfloat16"):
        precision_table.table(tmp_path / "a", tmp_path / "b")


def test_the_precision_table_sets_the_drift_of_two_bf16_seeds_beside_the_precision_difference(tmp_path):
    _history(tmp_path / "bf16", 1, {4: 100.0, 9: 50.0})
    _history(tmp_path / "fp32", 0, {4: 110.0, 9: 60.0})
    _history(tmp_path / "other", 1, {4: 90.0, 9: 70.0})
    lines = precision_table.table(tmp_path / "bf16", tmp_path / "fp32", tmp_path / "other")
    assert lines[2].startswith("| 4 | 100.0 / 110.0 / 90.0 |")
    assert lines[4].startswith("| mean of 2 | 75.0 / 85.0 / 80.0 |")
    drift = next(line for line in lines if line.startswith("- bf16 - bf16 of the other seed"))
    assert "FID -5.0 (" in drift and "|mean| 15.0" in drift  # +10 and -20
    precision_gap = next(line for line in lines if line.startswith("- bf16 - float32"))
    assert "FID -10.0 (-10.0 to -10.0), |mean| 10.0" in precision_gap
    with pytest.raises(SystemExit, match="reference .* in bfloat16"):
        precision_table.table(tmp_path / "bf16", tmp_path / "fp32", tmp_path / "fp32")


def test_the_latents_table_sets_the_last_checkpoint_beside_the_shipped_one(tmp_path):
    folder = tmp_path / "runs" / "deligan-s0"
    folder.mkdir(parents=True)
    (folder / "measured.json").write_text(json.dumps(_measured("best")))
    last = {"epoch": 299, "fid": 87.9, "recall": 0.0, "near_duplicate_share": 0.93625, "near_duplicate_groups": 101}
    (folder / "checkpoint_metrics.json").write_text(json.dumps({"fid-inception": {"last": last}}))
    lines = measure_rows.latents_table(tmp_path)
    assert [line.split(" | ")[0] for line in lines[2:]] == ["| dcgan", "| deligan", "| proposed"]
    assert "not finished" in lines[2] and "not finished" in lines[4]
    for text in ("best (274)", "| 2.00x |", "| 0.55 |", "2.0% (780)", "87.9 (epoch 299)", "| 0.00 |", "93.6% (101)"):
        assert text in lines[3], text


def test_the_ablation_table_sets_the_last_epochs_evaluations_beside_the_shipped_checkpoint(tmp_path):
    folder = tmp_path / "runs" / "dcgan-s0"
    folder.mkdir(parents=True)
    (folder / "measured.json").write_text(json.dumps(_measured("best")))
    lines = ["epoch,d_real,d_fake,collapsed,fid,recall,near_duplicate_share"]
    for epoch in range(100):  # evaluated every 5 epochs; only 54-99 are in the last 50
        evaluated = epoch % 5 == 4
        fid = 40.0 if epoch == 49 else 20.0 + (epoch == 99) * 10.0
        d = f"{0.9 if epoch < 50 else 0.6 + evaluated * 0.2},{0.1 if epoch < 50 else 0.3},{float(epoch in (3, 60))}"
        row = f"{fid},{0.5 + (epoch == 54) * 0.1},{(epoch == 99) * 0.02}"
        lines.append(f"{epoch},{d}," + (row if evaluated else ",,"))
    (folder / "history.csv").write_text("\n".join(lines) + "\n")
    table = measure_rows.ablation_table(tmp_path)
    assert [line.split(" (`")[0] for line in table[2:]] == ["| " + label for label, _ in measure_rows.ABLATION]
    full = table[-1]
    for text in ("| 2.00x | 0.55 | 2.0% |", "| 10 (epochs 54-99) |", "| 21.0 (20.0-30.0) |",
                 "| 0.510 (0.500-0.600) |", "| 0.2% (2.0%) |", "| 0.64 / 0.30 | 2 of 100 |"):
        assert text in full, text
    assert all("not finished" in line for line in table[2:-1])


def test_tables_without_a_measured_row_are_not_written(tmp_path):
    (tmp_path / "runs" / "runs").mkdir(parents=True)
    folder = tmp_path / "publish" / "runs" / "deligan-s0"
    folder.mkdir(parents=True)
    (folder / "measured.json").write_text(json.dumps(_measured("best")))
    measure_rows.main([str(tmp_path / "runs"), str(tmp_path / "publish")])
    assert sorted(p.name for p in (tmp_path / "publish").glob("*.md")) == ["measured.md"]
