"""The same `emojigan fit` command twice gives the same run, with DiffAugment and the EMA generator.

At the paper's network widths only: with tiny networks the steps' ops rarely overlap and the
runs agreed even before G's step was made to wait for D's update (models/gan.py,
_after_updates_of); at full width two one-epoch `modern` runs differed in their first epoch's
losses. One epoch each, in separate processes (about 30 s each on 2 cores)."""

import subprocess
import sys

from keras_emojigan.training.history import read_history


def _fit(run_dir):
    command = [sys.executable, "-m", "keras_emojigan.cli", "fit", "--model", "deligan", "--preset", "modern",
               "--epochs", "1", "--eval-every", "0", "--run-dir", str(run_dir), "--quiet"]
    subprocess.run(command, check=True, capture_output=True, text=True, timeout=600)
    return read_history(run_dir)[0]


def test_a_modern_run_is_reproduced_exactly(tmp_path):
    first, second = _fit(tmp_path / "a"), _fit(tmp_path / "b")
    for column in ("d_loss", "g_loss", "d_real", "d_fake", "sigma_term"):
        assert first[column] == second[column], column  # exactly: same seed, same data, same steps
    ema_samples = [(tmp_path / run / "samples" / "epoch_0000.png").read_bytes() for run in ("a", "b")]
    assert ema_samples[0] == ema_samples[1]
