"""LPIPS: the Keras network against a plain numpy evaluation of the reference formula on known
inputs (a tiny random copy), identity gives 0, the weights file is read with numpy arrays only,
and without fetched weights the error names the fetch command."""

import pickle

import numpy as np
import pytest

from keras_emojigan.metrics import lpips as lpips_module
from keras_emojigan.metrics.lpips import LPIPS, SCALE, SHIFT, TAPS, VGG


def _numpy_lpips(model: LPIPS, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The reference formula, step by step in numpy (3x3 'same' convs by shifting, 2x2 max pools)."""
    def conv(x, kernel, bias):
        padded = np.pad(x, ((0, 0), (1, 1), (1, 1), (0, 0)))
        out = sum(padded[:, i:i + x.shape[1], j:j + x.shape[2], :] @ kernel[i, j] for i in range(3) for j in range(3))
        return np.maximum(out + bias, 0)

    def taps(x):
        x, out, index = (x - np.array(SHIFT)) / np.array(SCALE), [], 0
        for position, entry in enumerate(VGG):
            if entry == "M":
                x = x.reshape(x.shape[0], x.shape[1] // 2, 2, x.shape[2] // 2, 2, x.shape[3]).max(axis=(2, 4))
                continue
            kernel, bias = model.vgg.get_layer(f"vgg_conv{index}").get_weights()
            x, index = conv(x, kernel, bias), index + 1
            if position in TAPS:
                out.append(x)
        return out

    total = np.zeros(len(a))
    for fa, fb, weight in zip(taps(a), taps(b), model.lin, strict=True):
        unit_a = fa / (np.sqrt((fa ** 2).sum(-1, keepdims=True)) + 1e-10)
        unit_b = fb / (np.sqrt((fb ** 2).sum(-1, keepdims=True)) + 1e-10)
        total += (((unit_a - unit_b) ** 2) * weight.numpy()).sum(-1).mean(axis=(1, 2))
    return total


def test_lpips_equals_the_reference_formula_on_known_inputs():
    rng = np.random.default_rng(0)
    model = LPIPS(width=0.0625)
    a = rng.uniform(-1, 1, (2, 32, 32, 3)).astype(np.float32)
    b = np.clip(a + rng.normal(0, 0.3, a.shape), -1, 1).astype(np.float32)
    model(a, b)
    for weight in model.lin:
        weight.assign(rng.uniform(0, 1, weight.shape).astype(np.float32))
    np.testing.assert_allclose(np.asarray(model(a, b)), _numpy_lpips(model, a.astype(np.float64),
                                                                     b.astype(np.float64)), rtol=1e-4)
    np.testing.assert_allclose(np.asarray(model(a, a)), 0.0, atol=1e-7)


def test_the_weights_file_is_read_as_numpy_arrays_only(tmp_path):
    good = tmp_path / "good.ckpt"
    good.write_bytes(pickle.dumps({"NetLinLayer_0": {"Conv_0": {"kernel": np.ones((1, 1, 4, 1), np.float32)}}}))
    assert lpips_module.read_params(good)["NetLinLayer_0"]["Conv_0"]["kernel"].shape == (1, 1, 4, 1)
    evil = tmp_path / "evil.ckpt"
    evil.write_bytes(pickle.dumps({"x": pickle.loads}))
    with pytest.raises(pickle.UnpicklingError, match="not allowed in an LPIPS weights file"):
        lpips_module.read_params(evil)


def test_without_fetched_weights_the_error_names_the_fetch_command():
    with pytest.raises(lpips_module.LpipsUnavailable, match="emojigan extractors fetch lpips"):
        lpips_module.load_lpips()
