"""Flags, --set and refused requests: what the user asked for is what runs, and a refused
request leaves nothing behind that blocks the corrected command."""

import json

import pytest
from click.testing import CliRunner

from keras_emojigan.cli import main
from keras_emojigan.compare import Variant, parse_variant
from keras_emojigan.config import ConfigError


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def test_fit_honours_set_for_fields_that_have_their_own_flag(tiny_data, tmp_path):
    result = run("fit", "--preset", "smoke", "--set", "lr=0.001", "--set", "seed=7", "--set", "epochs=1",
                 "--set", "eval_every=0", "--set", f"data={tiny_data}", "--set", "resolution=32",
                 "--run-dir", tmp_path / "try-set", "--quiet")
    assert result.exit_code == 0, result.output
    config = json.loads((tmp_path / "try-set" / "config.json").read_text())
    assert (config["lr"], config["seed"], config["epochs"], config["eval_every"]) == (0.001, 7, 1, 0)


def test_fit_output_to_a_pipe_is_plain_and_says_what_next(tiny_data, tmp_path):
    run_dir = tmp_path / "run"
    result = run("fit", "--model", "dcgan", "--preset", "smoke", "--epochs", "1", "--eval-every", "0",
                 "--data", tiny_data, "--resolution", "32", "--run-dir", run_dir)
    assert result.exit_code == 0, result.output
    assert "\r" not in result.output and "\x1b" not in result.output  # no live bar into a file or pipe
    assert "Epochs are numbered from 0" in result.output
    assert "flat grey or blotchy samples are expected" in result.output
    assert f"emojigan sample {run_dir / 'saved_model'} -o grid.png" in result.output
    occupied = tmp_path / "occupied"
    occupied.mkdir()
    (occupied / "keep.txt").write_text("mine")
    refused = run("export", run_dir, "-o", occupied)
    assert refused.exit_code == 2 and "--overwrite" in refused.output and (occupied / "keep.txt").exists()
    replaced = run("export", run_dir, "-o", occupied, "--overwrite")
    assert replaced.exit_code == 0 and "after epoch 0, 1 epoch trained" in replaced.output
    assert (occupied / "saved_model.pb").exists() and not (occupied / "keep.txt").exists()


@pytest.mark.parametrize("args,message", [
    (["--set", "epochs=abc"], "epochs='abc' is not a valid int"),
    (["--set", "batch_size=0"], "batch_size=0: must be an integer >= 1"),
    (["--set", "seed=1", "--seed", "2"], "--set seed=1 and --seed 2 both set seed"),
    (["--set", "colour=red"], "unknown field(s) colour"),
    (["--set", "lr"], "'lr' is not KEY=VALUE"),
])
def test_fit_refuses_bad_set_values_before_training(tmp_path, args, message):
    result = run("fit", "--preset", "smoke", *args, "--run-dir", tmp_path / "run")
    assert result.exit_code == 2 and message in result.output, result.output
    assert "Traceback" not in result.output and not (tmp_path / "run").exists()


@pytest.mark.parametrize("args,message", [
    (["--data", "/nonexistent-emoji"], "does not exist"),
    (["--batch-size", "5000"], "batch size 5000 is larger than the"),
])
def test_a_refused_fit_leaves_no_run_behind(tiny_data, tmp_path, args, message):
    run_dir = tmp_path / "run"
    refused = run("fit", "--model", "dcgan", "--preset", "smoke", *args, "--run-dir", run_dir)
    assert refused.exit_code == 2 and message in refused.output, refused.output
    assert not (run_dir / "config.json").exists()
    corrected = run("fit", "--model", "dcgan", "--preset", "smoke", "--epochs", "1", "--eval-every", "0",
                    "--data", tiny_data, "--resolution", "32", "--run-dir", run_dir, "--quiet")
    assert corrected.exit_code == 0, corrected.output


def test_a_one_image_source_is_refused_before_training_when_it_cannot_be_evaluated(tmp_path):
    import numpy as np

    one = tmp_path / "one.npz"
    np.savez(one, images=np.full((1, 32, 32, 3), 200, np.uint8))
    run_dir = tmp_path / "run"
    common = ["fit", "--model", "dcgan", "--preset", "smoke", "--data", one, "--resolution", "32", "--batch-size", "1",
              "--epochs", "1", "--run-dir", run_dir, "--quiet"]
    refused = run(*common)
    assert refused.exit_code == 2 and "holds 1 image" in refused.output and "--eval-every 0" in refused.output
    assert not (run_dir / "config.json").exists()  # nothing trained, nothing to block the corrected command
    corrected = run(*common, "--eval-every", "0")
    assert corrected.exit_code == 0, corrected.output


@pytest.mark.parametrize("args,message", [
    (["--set", "seed=1"], "--set seed=...: seed is set per run by --seeds"),
    (["--set", "model=dcgan"], "set per run by --models"),
    (["--models", "gan"], "'gan' is not a model"),
    (["--models", "proposed:M=2"], "'M=2' is not FIELD=VALUE"),
    (["--models", "proposed:N=two"], "latent_n='two' is not a valid int"),
    (["--models", "proposed:seed=3"], "seed is set by --seeds"),
    (["--models", "dcgan,dcgan"], "a variant is named twice"),
    (["--set", "eval_every=0"], "compare needs per-epoch metrics"),
    (["--data", "emoji-faces", "--set", "data=/elsewhere"], "disagree"),
])
def test_compare_refuses_what_it_cannot_run_without_a_traceback(tmp_path, args, message):
    result = run("compare", "--preset", "smoke", "--seeds", "0", "--epochs", "1", "--out", tmp_path / "c",
                 *(["--models", "dcgan"] if "--models" not in args else []), *args)
    assert result.exit_code == 2 and message in result.output, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert not (tmp_path / "c" / "runs").exists()


def test_variants_name_runs_and_rows():
    assert parse_variant("dcgan") == Variant("dcgan")
    variant = parse_variant("proposed:N=4")
    assert variant.fields == (("latent_n", 4),) and variant.label == "proposed:N=4"
    assert variant.slug == "proposed-N4" and variant.run_name(2) == "proposed-N4-s2"
    both = parse_variant("deligan:components=10:sigma_weight=0.1")
    assert both.label == "deligan:components=10:sigma_weight=0.1"
    assert both.slug == "deligan-components10-sigma_weight0.1"
    with pytest.raises(ConfigError, match="epochs is set by --epochs"):
        parse_variant("dcgan:epochs=3")


@pytest.mark.heavy
def test_compare_runs_variants_and_publishes_their_records(tiny_data, tmp_path):
    out, published = tmp_path / "out", tmp_path / "docs"
    tiny = ["--data", tiny_data, "--set", "resolution=32", "--set", "batch_size=16"]
    result = run("compare", "--preset", "smoke", "--models", "proposed:N=1,proposed:N=2", "--seeds", "0",
                 "--epochs", "2", *tiny, "--out", out, "--publish", published, "--checkpoint-extractor", "emoji")
    assert result.exit_code == 0, result.output
    for name in ("proposed-N1-s0", "proposed-N2-s0"):
        assert json.loads((out / "runs" / name / "config.json").read_text())["latent_n"] == int(name[10])
        for record in ("config.json", "history.csv", "summary.json", "samples/epoch_0001.png"):
            assert (published / "runs" / name / record).exists(), (name, record)
        best = json.loads((published / "runs" / name / "summary.json").read_text())["best_fid_epoch"]
        assert {p.name for p in (published / "runs" / name / "samples").iterdir()} == {
            f"epoch_{best:04d}.png", "epoch_0001.png"}
        assert not (published / "runs" / name / "checkpoints").exists()
        measured = json.loads((published / "runs" / name / "checkpoint_metrics.json").read_text())["emoji"]
        assert measured["best"]["epoch"] == best and measured["last"]["epoch"] == 1
        assert 0 <= measured["last"]["memorised_share"] <= 1 and measured["last"]["fid"] > 0
        assert measured["best"]["seconds"] > 0 and measured["last"]["seconds"] > 0
    table = (published / "table.md").read_text()
    assert "Measuring checkpoints again (`emoji`, best and last):" in table and "over the 2 runs that timed it" in table
    assert "| proposed:N=1 |" in table and "| proposed:N=2 |" in table
    assert "measured with `emoji`" in table and "memorised (best, features / pixels)" in table
    for slug in ("proposed-N1", "proposed-N2"):
        assert (published / f"nearest_{slug}.png").exists()
    rerun = run("compare", "--preset", "smoke", "--models", "proposed:N=1,proposed:N=2", "--seeds", "0",
                "--epochs", "2", *tiny, "--out", out, "--checkpoint-extractor", "emoji")
    assert rerun.exit_code == 0 and ": emoji best" not in rerun.output  # measured once, then read back
    assert "wall time of this call" in result.output and "whole experiment" in result.output


@pytest.mark.parametrize("args", [
    ["fit", "--epochs", "0"],
    ["fit", "--lr", "-1"],
    ["fit", "--preset", "smoke", "--set", "lr=nan"],
    ["fit", "--preset", "smoke", "--config", "/nonexistent.json"],
    ["sample", "/nonexistent-model", "-o", "x.png"],
    ["serve", "/nonexistent-models"],
    ["evaluate", "--fake", "emoji-faces", "--metrics", "bogus"],
    ["evaluate", "--fake", "emoji-faces", "--extractor", "fid-inception"],
    ["compare", "--seeds", "a,b", "--epochs", "1", "--out", "x"],
    ["export", "/nonexistent-run", "-o", "x"],
    ["data", "preview", "-o", "/proc/cannot-write-here.png", "--per-class", "1"],
    ["data", "info", "/dev/null"],
    ["extractors", "fetch", "imagenet"],
])
def test_odd_command_lines_end_in_a_message_not_a_traceback(args, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 2, (args, result.output)
    assert result.exception is None or isinstance(result.exception, SystemExit), (args, result.exception)
    assert "Error" in result.output and "Traceback" not in result.output
