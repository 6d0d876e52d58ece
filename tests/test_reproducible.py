"""The same `emojigan fit` command twice gives the same run, with DiffAugment and the EMA generator.

At the paper's network widths only: with tiny networks the steps' ops rarely overlap and the
runs agreed even before G's step was made to wait for D's update (models/gan.py,
_after_updates_of); at full width two one-epoch `modern` runs differed in their first epoch's
losses. One epoch each of 8 steps (280 of the embedded images, at full width), in separate processes."""

import subprocess
import sys

import numpy as np
import pytest

from keras_emojigan.data.sources import load_images
from keras_emojigan.training.history import read_history


def _fit(run_dir, data):
    command = [sys.executable, "-m", "keras_emojigan.cli", "fit", "--model", "deligan", "--preset", "modern",
               "--data", str(data), "--epochs", "1", "--eval-every", "0", "--run-dir", str(run_dir), "--quiet"]
    subprocess.run(command, check=True, capture_output=True, text=True, timeout=600)
    return read_history(run_dir)[0]


@pytest.mark.heavy
def test_a_modern_run_is_reproduced_exactly(tmp_path):
    images = load_images("emoji-faces", 64).images[:280]
    np.savez(tmp_path / "part.npz", images=images)
    first, second = _fit(tmp_path / "a", tmp_path / "part.npz"), _fit(tmp_path / "b", tmp_path / "part.npz")
    for column in ("d_loss", "g_loss", "d_real", "d_fake", "sigma_term"):
        assert first[column] == second[column], column  # exactly: same seed, same data, same steps
    ema_samples = [(tmp_path / run / "samples" / "epoch_0000.png").read_bytes() for run in ("a", "b")]
    assert ema_samples[0] == ema_samples[1]
