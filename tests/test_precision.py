"""precision=auto: bfloat16 where the CPU has it, float32 elsewhere, decided when a run starts or
resumes; a run moves between the two with its weights (the variables are float32 in both)."""

import keras
import numpy as np

from keras_emojigan.config import make_config
from keras_emojigan.training import fit as fit_module
from keras_emojigan.training import precision
from keras_emojigan.training.history import read_history
from keras_emojigan.training.rundir import restore_gan


def test_auto_resolves_from_the_cpus_flags(tmp_path):
    assert precision.resolve_precision("auto", {"avx2", "amx_bf16"}) == "mixed_bfloat16"
    assert precision.resolve_precision("auto", {"avx2", "avx512f", "avx512_bf16"}) == "mixed_bfloat16"
    assert precision.resolve_precision("auto", {"avx2", "avx512f"}) == "float32"
    assert precision.resolve_precision("auto", set()) == "float32"
    assert precision.resolve_precision("float32", {"amx_bf16"}) == "float32"  # an explicit choice stands
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text("processor : 0\nflags : fpu avx2 amx_bf16\n\nprocessor : 1\nflags : fpu avx2 amx_bf16\n")
    assert precision.cpu_flags(cpuinfo) == {"fpu", "avx2", "amx_bf16"}
    assert precision.cpu_flags(tmp_path / "missing") == set()


def test_a_run_started_in_bfloat16_resumes_in_float32_with_its_weights(tiny_data, tmp_path, monkeypatch):
    settings = {"data": tiny_data, "resolution": 32, "batch_size": 16, "eval_every": 0, "precision": "auto"}
    quiet = {"verbose": 0, "log": lambda *_: None}
    monkeypatch.setattr(precision, "cpu_flags", lambda *_: {"amx_bf16"})
    fit_module.fit(make_config("smoke", model="dcgan", epochs=1, **settings), tmp_path / "run", **quiet)
    assert keras.mixed_precision.global_policy().name == "float32"  # the process's policy is left alone
    in_bf16_gan = restore_gan(tmp_path / "run")[0]
    assert in_bf16_gan.generator.get_layer("g_conv0").dtype_policy.name == "mixed_bfloat16"
    assert keras.layers.Dense(2).dtype_policy.name == "float32"  # built after it: not bfloat16
    in_bf16 = [w.numpy() for w in in_bf16_gan.generator.weights]
    monkeypatch.setattr(precision, "cpu_flags", lambda *_: set())  # the next machine has no bfloat16
    gan, _, epoch = restore_gan(tmp_path / "run")
    assert gan.generator.compute_dtype == "float32" and epoch == 1
    for a, b in zip(in_bf16, (w.numpy() for w in gan.generator.weights), strict=True):
        assert a.dtype == b.dtype == np.float32
        np.testing.assert_array_equal(a, b)
    summary = fit_module.fit(make_config("smoke", model="dcgan", epochs=2, **settings), tmp_path / "run", **quiet)
    assert summary["epochs_done"] == 2
    assert [row["bfloat16"] for row in read_history(tmp_path / "run")] == [1.0, 0.0]
