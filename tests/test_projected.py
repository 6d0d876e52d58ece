"""The projected discriminator and its frozen EfficientNet-Lite0: the port against the reference
implementation (where torch is installed), the legacy torch.save reader without torch, the frozen
weights, each input size, a tiny projected fit per latent in both precisions, and an exact resume."""

import json

import keras
import numpy as np
import pytest
import tensorflow as tf
from torchscript_writer import write_legacy_state_dict

from keras_emojigan.config import GANOptions, make_config
from keras_emojigan.models import efficientnet_lite, projected
from keras_emojigan.models.gan import build_gan
from keras_emojigan.models.policy_scope import policy_scope
from keras_emojigan.torch_files import TorchScriptError, read_legacy_state_dict
from keras_emojigan.training.fit import fit
from keras_emojigan.training.history import read_history

TINY = {"model": "dcgan", "generator": "lite", "discriminator": "projected", "projected_features": "random-tiny",
        "latent_dim": 8, "ngf": 8, "ndf": 8, "loss": "hinge", "diffaugment": "color,translation,cutout"}


def _state_of(model: keras.Model) -> dict:
    """A reference-layout state dict (torch's names and shapes) holding ``model``'s weights."""
    state = {}

    def put(name, key):
        layer = model.get_layer(f"{name}_conv")
        kernel = layer.get_weights()[0]
        state[f"{key}.weight"] = (kernel.transpose(2, 3, 0, 1) if isinstance(layer, keras.layers.DepthwiseConv2D)
                                  else kernel.transpose(3, 2, 0, 1))

    def bn(name, key):
        for part, value in zip(("weight", "bias", "running_mean", "running_var"),
                               model.get_layer(f"{name}_bn").get_weights(), strict=True):
            state[f"{key}.{part}"] = value

    put("stem", "_conv_stem")
    bn("stem", "_bn0")
    block = 0
    for repeats, _, _, expansion, _ in efficientnet_lite.STAGES:
        for _ in range(repeats):
            if expansion != 1:
                put(f"block{block}_expand", f"_blocks.{block}._expand_conv")
                bn(f"block{block}_expand", f"_blocks.{block}._bn0")
            put(f"block{block}_dw", f"_blocks.{block}._depthwise_conv")
            bn(f"block{block}_dw", f"_blocks.{block}._bn1")
            put(f"block{block}_project", f"_blocks.{block}._project_conv")
            bn(f"block{block}_project", f"_blocks.{block}._bn2")
            block += 1
    return state


def test_the_port_matches_the_reference_implementation_on_random_inputs():
    """Random weights (batch-norm statistics too) into the reference's EfficientNet-Lite0 and ours;
    the four feature maps agree. Skipped without torch and efficientnet-lite-pytorch."""
    torch = pytest.importorskip("torch")
    reference_module = pytest.importorskip("efficientnet_lite_pytorch")
    reference = reference_module.EfficientNet.from_name("efficientnet-lite0").eval()
    rng = np.random.default_rng(0)
    with torch.no_grad():
        for name, tensor in reference.state_dict().items():
            if tensor.dtype == torch.float32:
                values = rng.uniform(0.5, 1.5, tensor.shape) if "running_var" in name else rng.normal(
                    0, 0.1 if "weight" in name and tensor.dim() == 4 else 0.2, tensor.shape)
                tensor.copy_(torch.from_numpy(values.astype(np.float32)))
    ours = efficientnet_lite.build_efficientnet_lite0()
    efficientnet_lite.convert({k: v.numpy() for k, v in reference.state_dict().items()}, ours)
    images = rng.uniform(-1, 1, (2, 3, 128, 128)).astype(np.float32)
    expected, x = [], torch.from_numpy(images)
    with torch.no_grad():
        x = reference._swish(reference._bn0(reference._conv_stem(x)))
        for index, block in enumerate(reference._blocks):
            x = block(x)
            if index in efficientnet_lite.FEATURE_BLOCKS:
                expected.append(x.numpy().transpose(0, 2, 3, 1))
    got = ours(images.transpose(0, 2, 3, 1), training=False)
    for level, (a, b) in enumerate(zip(got, expected, strict=True)):
        np.testing.assert_allclose(np.asarray(a), b, rtol=1e-3, atol=1e-3 * float(np.abs(b).max()), err_msg=level)


def test_the_converter_reads_a_legacy_torch_file_without_torch(tmp_path):
    """A state dict written in torch.save's legacy layout (by hand, tests/torchscript_writer.py)
    reads back exactly and fills every weight of a tiny copy; a bad file is refused by name."""
    tiny = efficientnet_lite.build_efficientnet_lite0(width=0.25)
    state = _state_of(tiny)
    state["_bn0.num_batches_tracked"] = np.array(7, np.int64)
    path = write_legacy_state_dict(state, tmp_path / "tiny.pth")
    read = read_legacy_state_dict(path)
    assert set(read) == set(state) and all(np.array_equal(read[k], state[k]) for k in state)
    copy = efficientnet_lite.build_efficientnet_lite0(width=0.25)
    efficientnet_lite.convert(read, copy)
    for a, b in zip(copy.weights, tiny.weights, strict=True):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    (tmp_path / "text.pth").write_text("not a torch file")
    with pytest.raises(TorchScriptError, match="text.pth: not a torch.save file"):
        read_legacy_state_dict(tmp_path / "text.pth")
    path.write_bytes(path.read_bytes()[:-40])
    with pytest.raises(TorchScriptError, match="truncated"):
        read_legacy_state_dict(path)


def test_without_fetched_weights_the_projected_d_says_which_command_fetches_them():
    with pytest.raises(efficientnet_lite.EfficientNetUnavailable, match="emojigan extractors fetch efficientnet-lite0"):
        build_gan(GANOptions(**{**TINY, "projected_features": "imagenet"}))


@pytest.mark.parametrize("resolution,size", [(64, 224), (64, 128), (128, 128), (32, 160)])
def test_each_input_size_gives_logits_per_scale_and_the_frozen_parts_never_change(resolution, size):
    gan = build_gan(GANOptions(**TINY, resolution=resolution, projected_size=size))
    gan.compile(keras.optimizers.Adam(1e-3), keras.optimizers.Adam(1e-3))
    frozen = {id(w): w.numpy().copy() for w in _frozen_weights(gan.discriminator)}
    assert frozen and not any(w.trainable for w in _frozen_weights(gan.discriminator))
    images = tf.random.stateless_uniform([4, resolution, resolution, 3], [1, 2], -1, 1)
    logits = gan._discriminate(images, None)["logits"]
    assert logits.dtype == tf.float32 and logits.shape == (4, sum(_patches(size, level) for level in range(4)))
    trained = [w.numpy().copy() for w in gan.discriminator.trainable_weights]
    for _ in range(2):
        gan.train_step(images)
    for w in _frozen_weights(gan.discriminator):
        np.testing.assert_array_equal(w.numpy(), frozen[id(w)], err_msg=w.path)
    assert any(not np.array_equal(a, w.numpy()) for a, w in zip(trained, gan.discriminator.trainable_weights,
                                                                strict=True))


def _patches(size: int, level: int) -> int:
    """Logits of one scale: SAME convs halve rounding up; CSM doubles; the 4x4 valid conv takes 3."""
    for _ in range(level + 2):
        size = -(-size // 2)
    size *= 2
    for _ in range(projected.DOWN_BLOCKS[level]):
        size = -(-size // 2)
    return (size - 3) ** 2


def _frozen_weights(discriminator):
    """The feature network's weights and the fixed mixing convs (CCM, CSM)."""
    network = next(layer for layer in discriminator.layers if layer.name.startswith("efficientnet_lite0"))
    mixing = [layer for layer in discriminator.layers if layer.name.startswith(("ccm", "csm")) and layer.weights]
    return [*network.weights, *(w for layer in mixing for w in layer.weights)]


@pytest.mark.heavy
@pytest.mark.parametrize("latent", ["dcgan", "deligan", "proposed"])
def test_a_tiny_projected_fit_per_latent(latent, tiny_data, tmp_path):
    config = make_config("smoke", **{**TINY, "model": latent, "data": tiny_data, "resolution": 32,
                                     "projected_size": 128, "epochs": 1, "eval_every": 0, "sample_count": 4})
    summary = fit(config, tmp_path / latent, verbose=0, log=lambda *_: None)
    row = read_history(tmp_path / latent)[0]
    assert summary["status"] == "finished" and np.isfinite(row["d_loss"]) and np.isfinite(row["g_loss"])
    assert json.loads((tmp_path / latent / "config.json").read_text())["discriminator"] == "projected"


def test_the_projected_d_builds_and_steps_in_bfloat16():
    with policy_scope("mixed_bfloat16"):
        gan = build_gan(GANOptions(**TINY, resolution=32, projected_size=128))
        gan.compile(keras.optimizers.Adam(1e-3), keras.optimizers.Adam(1e-3))
    logs = gan.train_step(tf.random.stateless_uniform([4, 32, 32, 3], [3, 4], -1, 1))
    assert gan.discriminator.get_layer("ccm0").compute_dtype == "bfloat16"
    assert all(np.isfinite(float(v)) for v in logs.values())
    assert gan._discriminate(tf.zeros([2, 32, 32, 3]), None)["logits"].dtype == tf.float32


@pytest.mark.heavy
def test_resume_with_the_projected_d_is_exact(tiny_data, tmp_path):
    """Two epochs, then one more, equal three in one go."""
    base = {**TINY, "data": tiny_data, "resolution": 32, "projected_size": 128, "eval_every": 0, "sample_count": 4,
            "ema_decay": 0.99, "lecam_weight": 0.1}
    fit(make_config("smoke", **base, epochs=3), tmp_path / "straight", verbose=0, log=lambda *_: None)
    fit(make_config("smoke", **base, epochs=2), tmp_path / "resumed", verbose=0, log=lambda *_: None)
    fit(make_config("smoke", **base, epochs=3), tmp_path / "resumed", verbose=0, log=lambda *_: None)
    straight, resumed = read_history(tmp_path / "straight"), read_history(tmp_path / "resumed")
    for a, b in zip(straight, resumed, strict=True):
        assert {k: v for k, v in a.items() if k != "seconds"} == {k: v for k, v in b.items() if k != "seconds"}
