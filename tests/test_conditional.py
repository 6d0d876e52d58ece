"""Class-conditional GANs: a tiny conditional fit of each model, the exported signatures with a
class input, sampling by class name or index, and a source without labels refused."""

import json

import numpy as np
import pytest
import tensorflow as tf
from click.testing import CliRunner
from gan_helpers import smoke_fit_args
from PIL import Image

from keras_emojigan.cli import main
from keras_emojigan.serving.generator import load_generator


@pytest.mark.parametrize("model", ["dcgan", "deligan", "proposed"])
def test_a_conditional_fit_trains_exports_and_samples_by_class(model, tmp_path):
    run_dir = tmp_path / model
    result = CliRunner().invoke(main, ["fit", "--model", model, "--preset", "smoke", "--epochs", "1",
                                       "--set", "conditional=true", "--run-dir", str(run_dir), "--quiet"])
    assert result.exit_code == 0, result.output
    assert json.loads((run_dir / "classes.json").read_text()) == {"class_names": ["Negative", "Positive"]}
    generator = load_generator(run_dir)
    assert generator.class_names == ["Negative", "Positive"]
    serve = generator.module.signatures["serving_default"]
    assert set(serve.structured_input_signature[1]) == {"latent", "label"}
    assert set(generator.module.signatures["generate"].structured_input_signature[1]) == {"count", "seed", "label"}
    positive, negative = generator.generate(4, seed=1, label=1), generator.generate(4, seed=1, label=0)
    assert positive.shape == (4, 64, 64, 3) and not np.array_equal(positive, negative)  # the class changes the image
    np.testing.assert_array_equal(generator.generate(4, seed=1, label=1), positive)
    grid = tmp_path / "positive.png"
    sampled = CliRunner().invoke(main, ["sample", str(run_dir), "-n", "4", "--seed", "1", "--class", "positive",
                                        "-o", str(grid)])
    assert sampled.exit_code == 0, sampled.output
    with Image.open(grid) as image:
        first = np.asarray(image.convert("RGB"))[2:66, 2:66]
    np.testing.assert_array_equal(first, positive[0])
    for bad in ("neutral", "2"):
        refused = CliRunner().invoke(main, ["sample", str(run_dir), "--class", bad, "-o", str(grid)])
        assert refused.exit_code == 2 and "classes are Negative (or 0), Positive (or 1)" in refused.output
    with Image.open(run_dir / "samples" / "epoch_0000.png") as image:  # a block of rows per class
        assert image.height == image.width


def test_class_batch_norm_sets_each_channel_gain_and_bias_from_the_class(tmp_path):
    from keras_emojigan.models.gan import build_gan
    from keras_emojigan.models.networks import ClassBatchNormalization

    gan = build_gan("deligan", resolution=32, latent_dim=8, ngf=4, ndf=4, num_classes=2, class_batch_norm=True)
    norms = [layer for layer in gan.generator.layers if isinstance(layer, ClassBatchNormalization)]
    assert [layer.name for layer in norms] == ["g_bn0", "g_bn1", "g_bn2"]
    assert gan.generator.get_layer("g_class_one_hot").num_tokens == 2
    layer = norms[1]
    features = tf.random.stateless_normal([4, 8, 8, layer.gain_kernel.shape[1]], [1, 2])
    labels = np.array([0, 1, 1, 0])
    classes = tf.one_hot(labels, 2)  # what the generator passes: g_class_one_hot
    plain = layer.norm(features, training=False)
    layer.gain_kernel.assign(tf.zeros_like(layer.gain_kernel))
    layer.bias_kernel.assign(tf.zeros_like(layer.bias_kernel))
    np.testing.assert_allclose(layer([features, classes], training=False), plain, atol=1e-6)
    gains = np.random.default_rng(0).normal(size=layer.gain_kernel.shape).astype(np.float32)
    biases = np.random.default_rng(1).normal(size=layer.bias_kernel.shape).astype(np.float32)
    layer.gain_kernel.assign(gains)
    layer.bias_kernel.assign(biases)
    expected = plain * (1 + gains[labels][:, None, None, :]) + biases[labels][:, None, None, :]
    np.testing.assert_allclose(layer([features, classes], training=False), expected, rtol=1e-5, atol=1e-5)
    with pytest.raises(ValueError, match="class_batch_norm=True: conditions G.s batch norms on the class"):
        build_gan("dcgan", resolution=32, latent_dim=8, ngf=4, ndf=4, class_batch_norm=True)
    path = tmp_path / "g.keras"  # get_config: the generator saves and loads with its class batch norms
    gan.generator.save(path)
    import keras

    loaded = keras.saving.load_model(path)
    noise, labels = tf.random.stateless_normal([4, gan.noise_dim], [3, 4]), tf.constant([0, 1, 0, 1])
    np.testing.assert_allclose(loaded([noise, labels], training=False), gan.generator([noise, labels], training=False),
                               atol=1e-6)


def test_a_conditional_fit_with_class_batch_norm_records_it_resumes_and_exports(tiny_data, tmp_path):
    from keras_emojigan.training.rundir import restore_gan

    run_dir = tmp_path / "cbn"
    args = smoke_fit_args(run_dir, "class_batch_norm=true", model="proposed", data=tiny_data)
    assert CliRunner().invoke(main, [*args, "--epochs", "1"]).exit_code == 0
    resumed = CliRunner().invoke(main, [*args, "--epochs", "2"])
    assert resumed.exit_code == 0, resumed.output
    assert json.loads((run_dir / "config.json").read_text())["class_batch_norm"] is True
    gan, config, epochs = restore_gan(run_dir)
    assert config.class_batch_norm and epochs == 2
    generator = load_generator(run_dir)
    np.testing.assert_array_equal(generator.generate(4, seed=2, label=0), gan.generate(4, seed=2, label=0))
    assert not np.array_equal(generator.generate(4, seed=2, label=0), generator.generate(4, seed=2, label=1))
    refused = CliRunner().invoke(main, ["fit", "--preset", "smoke", "--set", "class_batch_norm=true",
                                        "--run-dir", str(tmp_path / "no")])
    assert refused.exit_code == 2 and "class_batch_norm" in refused.output and "conditional=true" in refused.output


def test_a_conditional_fit_with_acgan_class_losses_logs_them(tiny_data, tmp_path):
    from keras_emojigan.training.history import read_history

    run_dir = tmp_path / "acgan"
    args = smoke_fit_args(run_dir, "class_loss_weight=0.5", data=tiny_data)
    result = CliRunner().invoke(main, [*args, "--epochs", "1"])
    assert result.exit_code == 0, result.output
    row = read_history(run_dir)[0]
    assert row["d_class_loss"] > 0 and row["g_class_loss"] > 0
    assert json.loads((run_dir / "config.json").read_text())["class_loss_weight"] == 0.5
    generator = load_generator(run_dir)  # the export is the generator alone: the class head stays in D
    assert set(generator.module.signatures["serving_default"].structured_input_signature[1]) == {"latent", "label"}


def test_the_unconditional_export_is_unchanged_and_refuses_a_class(tmp_path):
    from serving_helpers import export_tiny

    path = export_tiny(tmp_path / "emoji", 1)
    generator = load_generator(path)
    assert generator.class_names == []
    assert set(generator.module.signatures["serving_default"].structured_input_signature[1]) == {"latent"}
    result = CliRunner().invoke(main, ["sample", str(path), "--class", "positive", "-o", str(tmp_path / "x.png")])
    assert result.exit_code == 2 and "unconditional" in result.output


def test_a_source_without_labels_is_refused(tmp_path):
    flat = tmp_path / "flat"
    flat.mkdir()
    for i in range(40):
        Image.fromarray(np.full((16, 16, 3), i * 5, np.uint8)).save(flat / f"{i}.png")
    result = CliRunner().invoke(main, ["fit", "--preset", "smoke", "--data", str(flat), "--set", "conditional=true",
                                       "--run-dir", str(tmp_path / "run")])
    assert result.exit_code == 2 and "has no classes" in result.output and "sub-folder per class" in result.output
    assert not (tmp_path / "run").exists()


def test_the_conditional_generate_signature_mixes_classes_for_label_minus_one(tmp_path):
    from keras_emojigan.models.gan import build_gan
    from keras_emojigan.models.savedmodel import export_saved_model

    gan = build_gan("dcgan", resolution=32, latent_dim=8, ngf=4, ndf=4, num_classes=3)
    path = export_saved_model(gan, tmp_path / "c" / "1", {"class_names": ["a", "b", "c"]})
    generate = load_generator(path).module.signatures["generate"]
    mixed = generate(count=tf.constant(6), seed=tf.constant(0, tf.int64), label=tf.constant(-1))["images"].numpy()
    np.testing.assert_array_equal(mixed, gan.generate(6, seed=0))  # the same balanced mix as in Python
    with pytest.raises(tf.errors.InvalidArgumentError):
        generate(count=tf.constant(2), seed=tf.constant(0, tf.int64), label=tf.constant(3))


def test_a_bad_label_is_named_before_the_lookup_fails(tmp_path):
    """The label checks are ordered before the class embedding's lookup: without that ordering
    the lookup sometimes failed first with TF's bare "indices[0] = 7 is not in [0, 2)"."""
    from keras_emojigan.models.gan import build_gan
    from keras_emojigan.models.savedmodel import GeneratorModule, export_saved_model

    gan = build_gan("dcgan", resolution=32, latent_dim=8, ngf=4, ndf=4, num_classes=2)
    graph = GeneratorModule(gan.sampling_generator, gan.noise_dim, 2).serve.get_concrete_function().graph
    lookups = [op for op in graph.get_operations() if op.type in ("GatherV2", "ResourceGather")]
    assert lookups
    for lookup in lookups:  # which ops must have run before the lookup may start
        before, todo = set(), [lookup]
        while todo:
            op = todo.pop()
            for parent in [t.op for t in op.inputs] + list(op.control_inputs):
                if parent not in before:
                    before.add(parent)
                    todo.append(parent)
        assert sum(op.type == "Assert" for op in before) == 2, lookup.name
    serve = load_generator(export_saved_model(gan, tmp_path / "c" / "1")).module.signatures["serving_default"]
    latent = tf.zeros([1, gan.noise_dim])
    for bad, message in [(7, "label must be below 2"), (-1, "label must be >= 0")] * 5:
        with pytest.raises(tf.errors.InvalidArgumentError, match=message):
            serve(latent=latent, label=tf.constant([bad]))


@pytest.fixture(scope="module")
def served_conditional(tmp_path_factory):
    from keras_emojigan.models.gan import build_gan
    from keras_emojigan.models.savedmodel import export_saved_model
    from keras_emojigan.serving.launcher import Server

    gan = build_gan("dcgan", resolution=32, latent_dim=8, ngf=4, ndf=4, num_classes=2)
    for layer in gan.generator.layers:  # saturate the untrained weights into visible, class-dependent colours
        if getattr(layer, "kernel", None) is not None:
            layer.kernel.assign(layer.kernel * 40.0)
    gan.generator.get_layer("g_class_embedding").embeddings.assign(tf.constant([[-3.0] * 32, [3.0] * 32]))
    base = tmp_path_factory.mktemp("cond") / "faces"
    export_saved_model(gan, base / "1", {"model": "dcgan", "class_names": ["Negative", "Positive"]})
    server = Server(base, "--poll-seconds", "0")
    yield server, gan
    server.stop()


def test_rest_predict_and_generate_take_a_class(served_conditional):
    from keras_emojigan.serving.launcher import http

    server, gan = served_conditional
    noise = np.random.default_rng(0).normal(size=(2, gan.noise_dim)).round(4).tolist()
    url = server.url + "/v1/models/faces:predict"
    rows_request = {"instances": [{"latent": noise[0], "label": 1}, {"latent": noise[1], "label": 0}]}
    status, rows, _ = http("POST", url, rows_request)
    assert status == 200 and np.array(rows["predictions"]).shape == (2, 32, 32, 3)
    status, answer, _ = http("POST", url, {"signature_name": "generate", "inputs": {"count": 2, "seed": 5, "label": 1}})
    assert status == 200
    np.testing.assert_array_equal(np.array(answer["outputs"], np.uint8), gan.generate(2, seed=5, label=1))
    status, answer, _ = http("POST", url, {"instances": [{"latent": noise[0], "label": 7}]})
    assert status == 400 and "label must be below 2" in answer["error"]
    status, meta, _ = http("GET", server.url + "/v1/models/faces/metadata")
    label = meta["metadata"]["signature_def"]["signature_def"]["serving_default"]["inputs"]["label"]
    assert label["dtype"] == "DT_INT32" and label["tensor_shape"]["dim"] == [{"size": "-1", "name": ""}]
    for path in ("/sheet.png?count=4&class=positive", "/sheet.png?count=4&class=0", "/morph.png?from=1&to=2&class=1"):
        assert http("GET", server.url + path)[0] == 200, path
    status, answer, _ = http("GET", server.url + "/sheet.png?class=neutral")
    assert status == 400 and "classes are Negative (or 0), Positive (or 1)" in answer["error"]


def test_class_accuracy_tells_the_right_class_from_the_wrong_one():
    from keras_emojigan.data.sources import load_images
    from keras_emojigan.metrics.evaluate import evaluate_classes
    from keras_emojigan.metrics.extractors import get_extractor

    real = load_images("emoji-faces", 64)
    rng = np.random.default_rng(0)

    def faithful(count, seed, label):  # a 'generator' that returns real images of the class asked for
        return real.images[rng.choice(np.flatnonzero(real.labels == label), count)]

    def swapped(count, seed, label):
        return faithful(count, seed, 1 - label)

    extractor = get_extractor("emoji")
    right = evaluate_classes(faithful, real.images, real.labels, real.class_names, extractor, per_class=100)
    wrong = evaluate_classes(swapped, real.images, real.labels, real.class_names, extractor, per_class=100)
    assert 0.6 < right["probe_heldout_accuracy"] <= 1.0
    per_class = right["probe_heldout_class_accuracy"]  # real images of each class, held out
    assert list(per_class) == list(real.class_names) and all(0.5 < a <= 1.0 for a in per_class.values())
    counts = [int(round(0.2 * (real.labels == c).sum())) for c in range(len(real.class_names))]
    assert sum(a * n for a, n in zip(per_class.values(), counts, strict=True)) / sum(counts) == pytest.approx(
        right["probe_heldout_accuracy"])  # the per-class figures make up the overall one
    for name in real.class_names:
        assert right["classes"][name]["class_accuracy"] > 0.8 > 0.2 > wrong["classes"][name]["class_accuracy"]
        assert right["classes"][name]["fid"] < wrong["classes"][name]["fid"]
    # An unconditional 'generator' that makes only Positive faces: the probe puts most of them there.
    from keras_emojigan.metrics.evaluate import evaluate_classes_unconditional

    positive = real.class_names.index("Positive")
    only = evaluate_classes_unconditional(faithful(200, 0, positive), real.images, real.labels, real.class_names,
                                          extractor)
    assert only["classes"]["Positive"]["share"] > 0.8 and only["classes"]["Positive"]["num_fake"] > 160
    assert only["classes"]["Positive"]["fid"] < wrong["classes"]["Positive"]["fid"]  # real positives vs negatives


def test_evaluate_per_class_on_a_conditional_model_and_refused_on_another(tmp_path):
    from serving_helpers import export_tiny

    from keras_emojigan.models.gan import build_gan
    from keras_emojigan.models.savedmodel import export_saved_model

    gan = build_gan("dcgan", resolution=64, latent_dim=8, ngf=4, ndf=4, num_classes=2)
    path = export_saved_model(gan, tmp_path / "c" / "1", {"class_names": ["Negative", "Positive"],
                                                          "config": {"data": "emoji-faces"}})
    result = CliRunner().invoke(main, ["evaluate", str(path), "--per-class", "--extractor", "emoji", "-n", "40",
                                       "--json"])
    assert result.exit_code == 0, result.output
    values = json.loads(result.output[result.output.index("{"):])
    assert set(values["classes"]) == {"Negative", "Positive"} and values["classes"]["Positive"]["num_fake"] == 20
    plain = export_tiny(tmp_path / "u", 1)  # unconditional: the probe sorts its images into the classes
    sorted_out = CliRunner().invoke(main, ["evaluate", str(plain), "--per-class", "--extractor", "emoji", "-n", "40",
                                           "--json"])
    assert sorted_out.exit_code == 0, sorted_out.output
    values = json.loads(sorted_out.output[sorted_out.output.index("{"):])
    assert values["conditional"] is False and set(values["classes"]) == {"Negative", "Positive"}
    assert sum(row["share"] for row in values["classes"].values()) == pytest.approx(1.0)
    assert sum(row["num_fake"] for row in values["classes"].values()) == 40
    assert not any("class_accuracy" in row for row in values["classes"].values())
    flat = tmp_path / "flat"
    flat.mkdir()
    for i in range(8):
        Image.fromarray(np.full((32, 32, 3), i * 20, np.uint8)).save(flat / f"{i}.png")
    refused = CliRunner().invoke(main, ["evaluate", str(plain), "--per-class", "--real", str(flat),
                                        "--extractor", "emoji"])
    assert refused.exit_code == 2 and "has no classes" in refused.output
