"""emojigan fit / export / sample end to end: run dir, SavedModel, resume after SIGKILL, NaN, errors."""

import json
import os
import signal
import subprocess
import sys
import textwrap
import time

import keras
import numpy as np
import pytest
from click.testing import CliRunner

from keras_emojigan.cli import main
from keras_emojigan.config import ConfigError, make_config
from keras_emojigan.training import fit as fit_module
from keras_emojigan.training.history import read_history
from keras_emojigan.training.instability import PATIENCE, InstabilityTracker
from keras_emojigan.training.rundir import restore_gan

ENV = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}


def cli(*args):
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


@pytest.mark.heavy
@pytest.mark.parametrize("model", ["dcgan", "deligan", "proposed"])
def test_smoke_fit_writes_the_whole_run_dir_and_a_servable_model(model, tiny_data, tmp_path):
    run_dir = tmp_path / model
    result = cli("fit", "--preset", "smoke", "--model", model, "--data", tiny_data, "--resolution", 32,
                 "--batch-size", 16, "--run-dir", run_dir, "--quiet")
    assert result.exit_code == 0, result.output
    assert "tensorboard --logdir" in result.output and "finished: 2/2 epochs" in result.output
    for name in ["config.json", "history.csv", "summary.json", "gan.keras", "saved_model/saved_model.pb",
                 "samples/epoch_0000.png", "samples/epoch_0001.png", "checkpoints/checkpoint"]:
        assert (run_dir / name).exists(), name
    assert any((run_dir / "logs" / "train").iterdir()) and any((run_dir / "logs" / "samples").iterdir())
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["status"] == "finished" and summary["epochs_done"] == 2 and summary["model"] == model
    rows = (run_dir / "history.csv").read_text().splitlines()
    assert rows[0].startswith("epoch,d_loss,g_loss,d_real,d_fake") and len(rows) == 3
    # the SavedModel, in a fresh process: both signatures, uint8, right shape, seeded
    script = textwrap.dedent(f"""
        import json, numpy as np, tensorflow as tf
        m = tf.saved_model.load({str(run_dir / 'saved_model')!r})
        g = m.signatures["generate"]
        a = g(count=tf.constant(5), seed=tf.constant(3, tf.int64))["images"].numpy()
        b = g(count=tf.constant(5), seed=tf.constant(3, tf.int64))["images"].numpy()
        c = g(count=tf.constant(5), seed=tf.constant(4, tf.int64))["images"].numpy()
        dim = m.signatures["serving_default"].structured_input_signature[1]["latent"].shape[1]
        s = m.signatures["serving_default"](latent=tf.zeros([2, dim]))["images"].numpy()
        print(json.dumps([str(a.dtype), a.shape, bool((a == b).all()), bool((a == c).all()), str(s.dtype), s.shape]))
    """)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=ENV, check=True)
    dtype, shape, same, same_other, s_dtype, s_shape = json.loads(out.stdout.strip().splitlines()[-1])
    assert dtype == s_dtype == "uint8" and shape == [5, 32, 32, 3] and s_shape == [2, 32, 32, 3]
    assert same and not same_other
    # sample from the run dir, and export + sample from the export
    grid = tmp_path / "grid.png"
    assert cli("sample", run_dir, "-n", 9, "--seed", 3, "-o", grid).exit_code == 0 and grid.exists()
    export = tmp_path / "export"
    assert cli("export", run_dir, "-o", export).exit_code == 0
    assert (export / "saved_model.pb").exists() and (export / "emojigan.json").exists()
    if model == "dcgan":  # TF's own tool reads the signatures (one export path for all three; a process each)
        cli_tool = os.path.join(os.path.dirname(sys.executable), "saved_model_cli")
        shown = subprocess.run([cli_tool, "show", "--dir", str(export), "--all"], capture_output=True, text=True,
                               env=ENV, check=True).stdout
        assert "signature_def['serving_default']" in shown and "signature_def['generate']" in shown
        assert "inputs['latent']" in shown and "inputs['count']" in shown and "inputs['seed']" in shown
        assert shown.count("DT_UINT8") >= 2
    # fit's own export holds the weights of the last checkpoint, from which `export` builds
    from keras_emojigan.serving.generator import load_generator

    assert np.array_equal(load_generator(run_dir).generate(4, 11), load_generator(export).generate(4, 11))
    singles = tmp_path / "singles"
    assert cli("sample", export, "-n", 3, "--out-dir", singles).exit_code == 0
    assert len(list(singles.glob("*.png"))) == 3


@pytest.mark.heavy
def test_killed_run_resumes_and_finishes_with_the_right_epochs(tiny_data, tmp_path):
    run_dir = tmp_path / "killed"
    epochs = 8  # on the tiny source an epoch is short: enough of them that the kill lands mid-run
    args = [sys.executable, "-m", "keras_emojigan.cli", "fit", "--preset", "smoke", "--model", "proposed",
            "--data", tiny_data, "--resolution", "32", "--batch-size", "16", "--eval-every", "0",
            "--epochs", str(epochs), "--run-dir", str(run_dir), "--quiet"]
    proc = subprocess.Popen(args, env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 240
    while not (run_dir / "checkpoints" / "ckpt-2.index").exists():
        assert proc.poll() is None, "fit ended before it could be killed"
        assert time.time() < deadline
        time.sleep(0.05)
    # a second fit of the same run dir while the first trains is refused (its epochs would interleave)
    second = CliRunner().invoke(main, args[3:])
    assert second.exit_code == 2 and f"run dir {run_dir} is in use by another process (pid {proc.pid})" in second.output
    assert proc.poll() is None, "fit ended before it could be killed"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert not (run_dir / "summary.json").exists()  # killed mid-run, not after the end
    result = subprocess.run(args, env=ENV, capture_output=True, text=True)  # the killed holder's lock is gone
    assert result.returncode == 0, result.stderr[-2000:]
    assert "resuming" in result.stdout
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["epochs_done"] == epochs and summary["status"] == "finished"
    done = [int(line.split(",")[0]) for line in (run_dir / "history.csv").read_text().splitlines()[1:]]
    assert done == list(range(epochs))
    assert len(list((run_dir / "samples").glob("epoch_*.png"))) == epochs
    # the killed call wrote no summary, so wall_seconds misses it; epoch_seconds counts every kept epoch
    seconds = [row["seconds"] for row in read_history(run_dir)]
    assert summary["epoch_seconds"] == pytest.approx(sum(seconds), abs=0.1) and all(t > 0 for t in seconds)


def test_resume_is_exact(tiny_data, tmp_path):
    """Two epochs then one more equals three epochs straight: data order, RNG and optimizers resume."""
    tiny = {"data": tiny_data, "resolution": 32, "batch_size": 16}
    config = make_config("smoke", model="deligan", epochs=3, **tiny)
    straight = fit_module.fit(config, tmp_path / "straight", verbose=0, log=lambda *_: None)
    fit_module.fit(make_config("smoke", model="deligan", epochs=2, **tiny), tmp_path / "split", verbose=0,
                   log=lambda *_: None)
    split = fit_module.fit(config, tmp_path / "split", verbose=0, log=lambda *_: None)
    assert split["epochs_done"] == straight["epochs_done"] == 3
    np.testing.assert_allclose(split["last_epoch"]["g_loss"], straight["last_epoch"]["g_loss"], rtol=1e-4)
    np.testing.assert_allclose(split["last_epoch"]["d_loss"], straight["last_epoch"]["d_loss"], rtol=1e-4)


def test_r1_fit_logs_its_penalty(tiny_data, tmp_path):
    config = make_config("smoke", model="dcgan", epochs=1, r1_gamma=1.0, data=tiny_data, resolution=32,
                         batch_size=16, eval_every=0)
    summary = fit_module.fit(config, tmp_path / "r1", verbose=0, log=lambda *_: None)
    rows = read_history(tmp_path / "r1")
    assert summary["status"] == "finished" and rows[0]["r1_penalty"] > 0
    assert json.loads((tmp_path / "r1" / "config.json").read_text())["r1_gamma"] == 1.0


class PoisonDiscriminator(keras.callbacks.Callback):
    """Puts a NaN into D's weights at the given step of the first epoch."""

    def __init__(self, epoch, step):
        super().__init__()
        self.at = (epoch, step)

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_train_batch_begin(self, batch, logs=None):
        if (self.epoch, batch) == self.at:
            weight = self.model.discriminator.trainable_weights[0]
            weight.assign(np.full(weight.shape, np.nan, np.float32))


def test_nan_stops_the_run_cleanly_and_keeps_the_last_good_checkpoint(tiny_data, tmp_path):
    run_dir = tmp_path / "nan"
    tiny = {"data": tiny_data, "resolution": 32, "batch_size": 16}  # 4 steps an epoch
    with pytest.raises(fit_module.TrainingDiverged, match="non-finite at epoch 1"):
        fit_module.fit(make_config("smoke", model="dcgan", epochs=3, **tiny), run_dir, verbose=0,
                       callbacks=[PoisonDiscriminator(1, 3)], log=lambda *_: None)
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["status"] == "diverged" and summary["epochs_done"] == 1
    assert len((run_dir / "history.csv").read_text().splitlines()) == 2  # header + epoch 0
    gan, _, epoch = restore_gan(run_dir)
    assert epoch == 1 and all(np.isfinite(w.numpy()).all() for w in gan.discriminator.weights)


def test_diverged_run_exits_with_code_3(tmp_path, monkeypatch):
    def diverge(*args, **kwargs):
        raise fit_module.TrainingDiverged("d_loss became non-finite")

    monkeypatch.setattr(fit_module, "fit", diverge)
    result = CliRunner().invoke(main, ["fit", "--preset", "smoke", "--run-dir", str(tmp_path / "x")])
    assert result.exit_code == 3 and "non-finite" in result.output


def test_mismatching_config_is_refused_naming_the_field(tmp_path):
    run_dir = tmp_path / "run"
    fit_module._prepare_run_dir(make_config("smoke", model="dcgan"), run_dir)
    result = CliRunner().invoke(main, ["fit", "--preset", "smoke", "--model", "dcgan", "--batch-size", "10",
                                       "--run-dir", str(run_dir)])
    assert result.exit_code == 2 and "batch_size: 35 (in the run) != 10 (requested)" in result.output
    with pytest.raises(ConfigError, match="model"):
        fit_module._prepare_run_dir(make_config("smoke", model="deligan"), run_dir)
    assert fit_module._prepare_run_dir(make_config("smoke", model="dcgan", epochs=9), run_dir) == {}  # more epochs
    assert fit_module._prepare_run_dir(make_config("smoke", model="dcgan", lr=1e-4), run_dir) == {"lr": [2e-4, 1e-4]}


def test_a_run_that_diverges_keeps_its_checkpoint_and_resumes_with_a_lower_lr(tiny_data, tmp_path):
    """The divergence message is true (the checkpoint it names exists, the epoch count is right) and
    its advice works: the same --run-dir resumes with another --lr, recorded in overrides.jsonl,
    and the optimizers then step at that rate."""
    import json

    from keras_emojigan.training.rundir import restore_gan

    run_dir = tmp_path / "run"
    base = ["fit", "--preset", "smoke", "--data", tiny_data, "--resolution", "32", "--eval-every", "0",
            "--run-dir", str(run_dir), "--quiet"]
    assert CliRunner().invoke(main, [*base, "--epochs", "1"]).exit_code == 0
    diverged = CliRunner().invoke(main, [*base, "--epochs", "2", "--lr", "1e30"])
    assert diverged.exit_code == 3, diverged.output
    assert "after 1 epoch(s) (history.csv's epoch 0)" in diverged.output
    assert str(run_dir / "checkpoints") in diverged.output
    assert (run_dir / "checkpoints").is_dir()
    resumed = CliRunner().invoke(main, [*base, "--epochs", "2", "--lr", "1e-4"])
    assert resumed.exit_code == 0, resumed.output
    records = [json.loads(line) for line in (run_dir / "overrides.jsonl").read_text().splitlines()]
    assert records[-1]["lr"] == [1e30, 1e-4] and records[-1]["from_epoch"] == 1
    gan = restore_gan(run_dir)[0]
    assert float(gan.g_optimizer.learning_rate) == pytest.approx(1e-4)
    fresh = tmp_path / "fresh"  # diverging in the first epoch: nothing to resume, and it says so
    first = CliRunner().invoke(main, [*base[:-3], "--run-dir", str(fresh), "--quiet", "--epochs", "1", "--lr", "1e30"])
    assert first.exit_code == 3 and "before any epoch finished" in first.output
    again = CliRunner().invoke(main, [*base[:-3], "--run-dir", str(fresh), "--quiet", "--epochs", "1", "--lr", "1e-4"])
    assert again.exit_code == 0, again.output


@pytest.mark.parametrize("args,message", [
    (["--model", "stylegan"], "Invalid value for '--model'"),
    (["--epochs", "0"], "Invalid value for '--epochs'"),
    (["--latent-n", "0"], "Invalid value for '--latent-n'"),
    (["--set", "nonsense=1"], "unknown field(s) nonsense"),
    (["--set", "ema_decay=2"], "ema_decay=2.0"),
    (["--set", "novalue"], "is not KEY=VALUE"),
    (["--data", "/no/such/folder", "--preset", "smoke"], "does not exist"),
])
def test_bad_flags_are_click_errors_not_tracebacks(args, message, tmp_path):
    result = CliRunner().invoke(main, ["fit", "--run-dir", str(tmp_path / "r"), *args])
    assert result.exit_code == 2, result.output
    assert message in result.output and "Traceback" not in result.output


def test_export_in_tf_serving_layout(tiny_data, tmp_path):
    run_dir = tmp_path / "run"
    assert cli("fit", "--preset", "smoke", "--model", "dcgan", "--epochs", 1, "--set", "eval_every=0",
               "--data", tiny_data, "--resolution", 32, "--run-dir", run_dir, "--quiet").exit_code == 0
    models = tmp_path / "saved_models"
    # two exports at once take two versions; neither replaces the other's
    both = [subprocess.Popen([sys.executable, "-m", "keras_emojigan.cli", "export", str(run_dir), "--name", "emoji",
                              "--saved-models", str(models)], env=ENV, stdout=subprocess.PIPE, text=True)
            for _ in range(2)]
    said = sorted(p.communicate(timeout=300)[0].split(" (")[0] for p in both)
    assert [p.returncode for p in both] == [0, 0]
    assert said == [f"wrote {models / 'emoji' / v}" for v in ("1", "2")]
    assert cli("export", run_dir, "--name", "emoji", "--version", 7, "--saved-models", models).exit_code == 0
    assert sorted(p.name for p in (models / "emoji").iterdir()) == [".export.lock", "1", "2", "7"]  # no partials
    taken = CliRunner().invoke(main, ["export", str(run_dir), "--name", "emoji", "--version", "2",
                                      "--saved-models", str(models)])
    assert taken.exit_code == 2 and "immutable" in taken.output and "--version 8" in taken.output
    both = CliRunner().invoke(main, ["export", str(run_dir), "--name", "emoji", "-o", str(tmp_path / "x")])
    assert both.exit_code == 2
    bad = CliRunner().invoke(main, ["export", str(run_dir), "--name", "../up", "--saved-models", str(models)])
    assert bad.exit_code == 2 and "plain folder name" in bad.output


def test_sample_and_export_errors(tmp_path):
    result = CliRunner().invoke(main, ["sample", str(tmp_path), "-o", str(tmp_path / "g.png")])
    assert result.exit_code == 2 and "no SavedModel" in result.output
    result = CliRunner().invoke(main, ["export", str(tmp_path), "-o", str(tmp_path / "e")])
    assert result.exit_code == 2 and "not a run dir" in result.output


@pytest.mark.parametrize("error,message", [
    (lambda: OSError(28, "No space left on device"), "No space left on device: free some space"),
    (lambda: __import__("tensorflow").errors.ResourceExhaustedError(
        None, None, "/full/variables/variables_temp/part-00000-of-00001.data-00000-of-00001; No space left on device"),
     "No space left on device (ResourceExhaustedError): free some space"),
    (lambda: __import__("tensorflow").errors.PermissionDeniedError(
        None, None, "/readonly/.1.partial/variables; Permission denied"),
     "Permission denied (PermissionDeniedError): free some space, or write somewhere you may"),
])
def test_a_full_or_read_only_disk_is_an_error_line_not_a_traceback(error, message, tmp_path, monkeypatch):
    """Root runs the tests, for whom no folder is read-only, and no test may fill a disk: the
    writer's errors are raised where export writes, as TensorFlow and Python raise them."""
    from keras_emojigan.serving import export

    def fail(*args, **kwargs):
        raise error()

    monkeypatch.setattr(export, "export_run", fail)
    (tmp_path / "run").mkdir()
    result = CliRunner().invoke(main, ["export", str(tmp_path / "run"), "-o", str(tmp_path / "out")])
    assert result.exit_code == 2 and message in result.output, result.output
    assert "Traceback" not in result.output


def test_instability_definition():
    tracker = InstabilityTracker()
    collapsed, healthy = (0.01, 0.01), (0.6, 0.4)
    history = [healthy, collapsed, collapsed, healthy] + [collapsed] * PATIENCE + [healthy]
    flags = [tracker.update(epoch, *values) for epoch, values in enumerate(history)]
    assert tracker.first_unstable_epoch == 4
    assert flags == [False] * 6 + [True, True]
    rows = [{"epoch": e, "d_loss": d, "d_fake": f} for e, (d, f) in enumerate(history)]
    assert InstabilityTracker.replay(rows).first_unstable_epoch == 4


def test_a_lost_index_or_a_damaged_newest_checkpoint_resumes_from_the_checkpoint_files(tiny_data, tmp_path):
    """Checkpoints are found by their files; one that does not load is skipped for the one
    before it, with a line naming it; none loading is an error, never a silent epoch 0."""
    from keras_emojigan.config import ConfigError

    settings = {"data": tiny_data, "resolution": 32, "batch_size": 16, "eval_every": 0}
    lines = []
    fit_module.fit(make_config("smoke", model="dcgan", epochs=2, **settings), tmp_path / "run", verbose=0,
                   log=lambda *_: None)
    checkpoints = tmp_path / "run" / "checkpoints"
    (checkpoints / "checkpoint").unlink()  # the index is gone; ckpt-1 and ckpt-2 are there
    assert restore_gan(tmp_path / "run")[2] == 2
    data = next(checkpoints.glob("ckpt-2.data-*"))
    data.write_bytes(data.read_bytes()[: data.stat().st_size // 2])  # truncated
    summary = fit_module.fit(make_config("smoke", model="dcgan", epochs=3, **settings), tmp_path / "run",
                             verbose=0, log=lines.append)
    assert any("skipped a checkpoint that does not load, ckpt-2" in line and "using ckpt-1" in line for line in lines)
    assert any("resuming" in line and "at epoch 1" in line for line in lines)
    assert summary["epochs_done"] == 3
    assert [row["epoch"] for row in read_history(tmp_path / "run")] == [0, 1, 2]
    for prefix in checkpoints.glob("ckpt-*.index"):  # nothing loads
        prefix.write_bytes(b"damaged")
    with pytest.raises(ConfigError, match="no checkpoint in .* loads"):
        restore_gan(tmp_path / "run")
