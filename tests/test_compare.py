"""emojigan compare and search-n on the smoke preset: every file, resumable, the N trace."""

import csv
import json
import math
import os
import shutil
import signal
import subprocess
import sys
import time

import pytest
from click.testing import CliRunner
from PIL import Image

from keras_emojigan.cli import main
from keras_emojigan.reports.figures import DPI, PANEL_WIDTH, wrapped
from keras_emojigan.reports.stats import interval

ENV = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}


@pytest.fixture(scope="module")
def comparison(tmp_path_factory, tiny_data):
    out = tmp_path_factory.mktemp("compare")
    result = CliRunner().invoke(main, ["compare", "--preset", "smoke", "--seeds", "0,1", "--epochs", "2",
                                       "--data", tiny_data, "--set", "resolution=32", "--set", "batch_size=16",
                                       "--out", str(out)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return out, result.output


def test_compare_writes_tables_and_figures(comparison):  # (not heavy: its cost is the shared fixture)
    out, output = comparison
    for model in ("dcgan", "deligan", "proposed"):
        for seed in (0, 1):
            summary = json.loads((out / "runs" / f"{model}-s{seed}" / "summary.json").read_text())
            assert summary["epochs_done"] == 2 and summary["best_fid"] is not None
    with open(out / "table.csv", newline="") as fh:
        rows = {row["model"]: row for row in csv.DictReader(fh)}
    assert set(rows) == {"dcgan", "deligan", "proposed"}
    for key in ("fid_best", "fid_best_ci95", "kid_best", "is_mean_best", "fid_last", "kid_last",
                "first_unstable_epoch", "fid_best_vs_dcgan_pct", "fid_best_vs_deligan_pct"):
        assert rows["proposed"][key] not in ("", "nan"), key
    for model in ("dcgan", "deligan", "proposed"):  # collapsed epochs per seed, counted from each history
        counted = [sum(1 for r in csv.DictReader(open(out / "runs" / f"{model}-s{s}" / "history.csv"))
                       if r["collapsed"] not in ("", "0", "0.0")) for s in (0, 1)]
        assert rows[model]["collapsed_epochs"] == str(counted)
    table = (out / "table.md").read_text()
    assert "| collapsed epochs |" in table
    assert "| proposed |" in table and "± " in table and "vs dcgan" in table and "extractor `emoji`" in table
    assert float(rows["proposed"]["epoch_seconds"]) > 0 and "Time in epochs" in table
    for name, panels in (("fig2_losses.png", 3), ("fig3_metrics.png", 2), ("fig4_samples.png", 3)):
        with Image.open(out / name) as image:
            assert image.format == "PNG" and image.mode == "P"  # palette PNGs: small enough to commit
            assert image.width == pytest.approx(PANEL_WIDTH * panels * DPI, abs=2), name
    assert f"tensorboard --logdir {out / 'runs'}" in output


def test_compare_skips_finished_runs(comparison, tiny_data):
    out, _ = comparison
    before = (out / "runs" / "dcgan-s0" / "summary.json").stat().st_mtime
    result = CliRunner().invoke(main, ["compare", "--preset", "smoke", "--seeds", "0,1", "--epochs", "2",
                                       "--data", tiny_data, "--set", "resolution=32", "--set", "batch_size=16",
                                       "--out", str(out)], catch_exceptions=False)
    assert result.exit_code == 0 and result.output.count("finished earlier, skipped") == 6
    assert (out / "runs" / "dcgan-s0" / "summary.json").stat().st_mtime == before


@pytest.mark.heavy
def test_killed_compare_restarts_without_redoing_finished_runs(tiny_data, tmp_path):
    args = [sys.executable, "-m", "keras_emojigan.cli", "compare", "--preset", "smoke", "--models",
            "dcgan,proposed", "--seeds", "0", "--epochs", "3", "--data", tiny_data, "--set", "resolution=32",
            "--set", "batch_size=16", "--out", str(tmp_path)]
    proc = subprocess.Popen(args, env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    first = tmp_path / "runs" / "dcgan-s0" / "summary.json"
    # Killed once the second run's first checkpoint is registered in the manager's state file (its
    # .index is written before that; a kill in between loses that epoch, as a resume may).
    second = tmp_path / "runs" / "proposed-s0" / "checkpoints" / "checkpoint"
    deadline = time.time() + 300
    while not (second.exists() and "ckpt-1" in second.read_text()):
        assert proc.poll() is None and time.time() < deadline
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    finished_at = first.stat().st_mtime
    result = subprocess.run(args, env=ENV, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "dcgan-s0: finished earlier, skipped" in result.stdout and "resuming" in result.stdout
    assert first.stat().st_mtime == finished_at
    assert json.loads((tmp_path / "runs" / "proposed-s0" / "summary.json").read_text())["epochs_done"] == 3
    assert (tmp_path / "table.md").exists()


def test_a_new_machine_rebuilds_the_tables_from_the_published_records(tiny_data, tmp_path):
    """OUT is gone (a replaced machine), the published folder is committed: compare restores the
    finished runs from their records, trains nothing again, and writes the same table."""
    args = ["compare", "--preset", "smoke", "--models", "dcgan", "--seeds", "0,1", "--epochs", "2",
            "--checkpoint-extractor", "none", "--data", tiny_data, "--set", "resolution=32", "--set", "batch_size=16"]
    first, published = tmp_path / "first", tmp_path / "published"
    result = CliRunner().invoke(main, [*args, "--out", str(first), "--publish", str(published)],
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output
    shutil.rmtree(published / "runs" / "dcgan-s1")  # never published: trained again
    published_grids = {path: path.read_bytes() for path in (published / "runs" / "dcgan-s0").rglob("*.png")}
    assert published_grids
    second = tmp_path / "second"
    (second / "runs" / "dcgan-s0").mkdir(parents=True)  # a killed run's partial folder is replaced
    result = CliRunner().invoke(main, [*args, "--out", str(second), "--publish", str(published)],
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "dcgan-s0: restored from" in result.output and "dcgan-s0: finished earlier, skipped" in result.output
    assert "dcgan-s1: training dcgan" in result.output
    assert not (second / "runs" / "dcgan-s0" / "checkpoints").exists()
    for name in ("history.csv", "summary.json", "config.json"):
        assert (second / "runs" / "dcgan-s0" / name).read_bytes() == (first / "runs" / "dcgan-s0" / name).read_bytes()
    with open(first / "table.csv", newline="") as fh, open(second / "table.csv", newline="") as gh:
        before, after = next(csv.DictReader(fh)), next(csv.DictReader(gh))
    assert after["epoch_best"] == before["epoch_best"] and after["fid_best"] == before["fid_best"]
    assert (published / "runs" / "dcgan-s1" / "summary.json").exists()  # the retrained run is published again
    assert {path: path.read_bytes() for path in published_grids} == published_grids  # restored: left alone
    figure = (published / "fig4_samples.png").read_bytes()
    (published / "fig4_samples.png").write_bytes(figure + b"mark")  # to see whether a third call rewrites it
    result = CliRunner().invoke(main, [*args, "--out", str(tmp_path / "third"), "--publish", str(published)],
                                catch_exceptions=False)
    assert result.exit_code == 0 and "every run was restored" in result.output, result.output
    assert (published / "fig4_samples.png").read_bytes() == figure + b"mark"
    # DCGAN alone has no baseline to compare with: no empty "Relative change" heading (as in the N ablation's table)
    assert "Relative change" not in (tmp_path / "third" / "table.md").read_text()


def test_a_run_with_checkpoints_of_its_own_is_not_replaced_by_its_published_records(tmp_path):
    from keras_emojigan.compare import parse_variant, restore_published, run_config

    config = run_config("smoke", parse_variant("dcgan"), 0, 2)
    published = tmp_path / "published" / "runs" / "dcgan-s0"
    published.mkdir(parents=True)
    config.save(published / "config.json")
    (published / "summary.json").write_text(json.dumps({"status": "finished", "epochs_done": 2}))
    mine = tmp_path / "out" / "dcgan-s0"
    (mine / "checkpoints").mkdir(parents=True)
    (mine / "checkpoints" / "checkpoint").write_text("ckpt-1")
    logged = []
    assert restore_published({"dcgan-s0": config}, tmp_path / "out", tmp_path / "published", logged.append) == []
    assert (mine / "checkpoints" / "checkpoint").read_text() == "ckpt-1" and "resuming those" in logged[0]
    shutil.rmtree(mine / "checkpoints")  # no checkpoints: nothing to resume, the records are restored
    assert restore_published({"dcgan-s0": config}, tmp_path / "out", tmp_path / "published", logged.append) == [
        "dcgan-s0"]
    assert (mine / "summary.json").exists()


def test_a_published_run_of_another_config_is_not_restored(tmp_path):
    published = tmp_path / "published"
    result = CliRunner().invoke(main, ["compare", "--preset", "smoke", "--models", "dcgan", "--seeds", "0",
                                       "--epochs", "2", "--checkpoint-extractor", "none", "--out",
                                       str(tmp_path / "first"), "--publish", str(published)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    result = CliRunner().invoke(main, ["compare", "--preset", "smoke", "--models", "dcgan", "--seeds", "0",
                                       "--epochs", "2", "--set", "lr=0.01", "--checkpoint-extractor", "none", "--out",
                                       str(tmp_path / "second"), "--publish", str(published)])
    assert result.exit_code != 0
    assert "dcgan-s0" in result.output and "lr: 0.0002 (in the run) != 0.01 (requested)" in result.output
    assert not (tmp_path / "second" / "runs" / "dcgan-s0").exists()


def test_search_n_keeps_the_first_stable_n(tmp_path):
    result = CliRunner().invoke(main, ["search-n", "--preset", "smoke", "--max-n", "3", "--stable-epochs", "2",
                                       "--out", str(tmp_path)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    trace = json.loads((tmp_path / "search_n.json").read_text())
    assert trace["chosen_n"] == 1 and trace["trace"][0]["stable"] and len(trace["trace"]) == 1
    assert "chosen N = 1" in result.output and (tmp_path / "search_n.csv").exists()


def test_interval():
    mean, half = interval([1.0, 2.0, 3.0])
    assert mean == 2.0 and half == pytest.approx(4.303 * 1.0 / 3 ** 0.5)
    single = interval([5.0])
    assert single[0] == 5.0 and math.isnan(single[1])
    assert all(math.isnan(v) for v in interval([]))


def test_long_variant_labels_wrap_at_their_colons():
    label = "deligan:class_loss_weight=1.0:conditional=True:diffaugment=color+cutout"
    lines = wrapped(label).split("\n")
    assert "".join(lines) == label and len(lines) == 3 and all(len(line) <= 36 for line in lines)
    assert wrapped("proposed:N=4") == "proposed:N=4"


@pytest.mark.parametrize("classes,expected_rows", [(0, [0, 1, 2, 3]), (2, [0, 1, 4, 5]), (3, [0, 3, 6])])
def test_a_published_grid_keeps_the_first_rows_of_every_class_block(classes, expected_rows):
    """Each tile of a fake 8 x 8 (or 9 x 8) grid is filled with its row number: the published
    4 x 4 crop must show the rows of every class block, not only the first class's."""
    import numpy as np

    from keras_emojigan.compare import published_grid
    from keras_emojigan.grid import image_grid

    rows = 9 if classes == 3 else 8
    tiles = np.repeat(np.arange(rows, dtype=np.uint8) * 20, 8)[:, None, None, None] * np.ones((1, 8, 8, 3), np.uint8)
    kept = np.asarray(published_grid(image_grid(tiles, 8), 8, classes))
    assert kept.shape == (len(expected_rows) * 10 + 2, 4 * 10 + 2, 3)
    seen = [int(kept[2 + i * 10 + 4, 2 + 4, 0]) // 20 for i in range(len(expected_rows))]
    assert seen == expected_rows


def test_fig3_keeps_its_panels_with_long_variant_labels(tmp_path):
    """Long labels once squeezed fig. 3's panels to nothing (matplotlib warned that
    constrained_layout was not applied); the legend now sits below both panels."""
    import warnings

    from keras_emojigan.compare import parse_variant, plot_metrics

    variants = [parse_variant(spec) for spec in (
        "deligan:class_loss_weight=1.0:conditional=True",
        "deligan:class_loss_weight=1.0:conditional=True:diffaugment=color+cutout",
        "deligan:class_guide_weight=1.0:conditional=True")]
    histories = {v.run_name(0): [{"epoch": e, "is_mean": 1.0 + e, "fid": 100.0 / (e + 1)} for e in range(5)]
                 for v in variants}
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        plot_metrics(variants, [0], histories, tmp_path / "fig3.png")
    with Image.open(tmp_path / "fig3.png") as image:
        assert image.width == pytest.approx(PANEL_WIDTH * 2 * DPI, abs=2)


def test_a_path_in_a_variant_makes_one_run_folder():
    from keras_emojigan.compare import parse_variant

    variant = parse_variant("dcgan:init_from=saved_models/emoji-prior/1:freeze_d=2")
    assert variant.run_name(0) == "dcgan-freeze_d2-init_fromsaved_models_emoji-prior_1-s0"
    assert variant.label == "dcgan:freeze_d=2:init_from=saved_models/emoji-prior/1"
    assert parse_variant("proposed:N=4").run_name(1) == "proposed-N4-s1"  # the published folders' names stay
