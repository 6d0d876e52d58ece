"""The emojigan command line: data info / preview, versions, errors as exit code 2."""

import json
import os
import subprocess
import sys

import numpy as np
from click.testing import CliRunner
from PIL import Image

from keras_emojigan import __version__
from keras_emojigan.cli import main


def run(*args):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def test_version_and_help():
    assert __version__ in run("--version").output
    result = run("--help")
    assert result.exit_code == 0 and "data" in result.output


def test_data_info_on_the_embedded_set():
    result = run("data", "info")
    assert result.exit_code == 0
    assert "designs: 10" in result.output and "Positive" in result.output
    report = json.loads(run("data", "info", "--json").output)
    assert report["images"] >= 780 and report["shape"] == [64, 64, 3]
    assert len(report["designs"]) == 10
    assert sum(d["images"] for d in report["designs"].values()) == report["images"]
    assert all(d["licence"] for d in report["designs"].values())


def test_data_preview_writes_a_sheet_of_real_images(tmp_path):
    out = tmp_path / "sheet.png"
    result = run("data", "preview", "-o", str(out), "--per-class", "12", "--columns", "6")
    assert result.exit_code == 0, result.output
    with Image.open(out) as sheet:
        pixels = np.asarray(sheet.convert("RGB")).astype(int)
    assert sheet.size[0] >= 6 * 64
    # emoji are mostly yellow/orange: many pixels with red and green high and blue low
    yellowish = (pixels[..., 0] > 180) & (pixels[..., 1] > 120) & (pixels[..., 2] < 90)
    assert yellowish.mean() > 0.1


def test_messy_folder_lists_skipped_files(messy_folder):
    root, good, bad = messy_folder
    result = run("data", "info", str(root))
    assert result.exit_code == 0
    assert f"skipped: {len(bad)} files" in result.output
    for name in bad:
        assert name in result.output
    assert "happy" in result.output and "sad" in result.output


def test_bad_sources_exit_with_code_2_and_no_traceback(tmp_path):
    for source in [str(tmp_path / "missing"), str(tmp_path)]:
        result = CliRunner().invoke(main, ["data", "info", source])
        assert result.exit_code == 2
        assert "Error:" in result.output and "Traceback" not in result.output
    result = CliRunner().invoke(main, ["data", "preview", "-o", str(tmp_path / "x.png"),
                                       "--resolution", "48"])
    assert result.exit_code == 2


def test_console_script_is_installed():
    result = subprocess.run([sys.executable, "-m", "keras_emojigan.cli", "--version"],
                            capture_output=True, text=True, check=True)
    assert __version__ in result.stdout


def test_import_turns_onednn_on_unless_the_user_chose():
    probe = ("import os, keras_emojigan, tensorflow as tf; "
             "from tensorflow.python.util import _pywrap_util_port as port; "
             "print(os.environ['TF_ENABLE_ONEDNN_OPTS'], port.IsMklEnabled())")
    env = {k: v for k, v in os.environ.items() if k != "TF_ENABLE_ONEDNN_OPTS"}
    default = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=env, timeout=300)
    assert default.stdout.split() == ["1", "True"], default.stderr[-2000:]
    chosen = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                            env={**env, "TF_ENABLE_ONEDNN_OPTS": "0"}, timeout=300)
    assert chosen.stdout.split() == ["0", "False"], chosen.stderr[-2000:]


def test_a_command_prints_no_tensorflow_start_up_noise(tmp_path):
    """The oneDNN banner, 'Could not find cuda drivers' and 'failed call to cuInit' are printed
    from C++ before TF_CPP_MIN_LOG_LEVEL applies; startup.py filters them."""
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    done = subprocess.run([sys.executable, "-m", "keras_emojigan.cli", "evaluate", "--fake", str(tmp_path / "none")],
                          capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [f"Error: data source '{tmp_path / 'none'}' does not exist: give "
                                                "'emoji-faces', a folder of images or an .npz file"], done.stderr
