"""Class directions in an unconditional generator's noise (``emojigan directions``) and the steered
SavedModel that takes ``label`` and ``strength`` (``export --directions``), on a toy whose class
is known: its images are red where ``v . noise > 0`` and blue where it is below."""

import json
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf
from click.testing import CliRunner
from serving_helpers import COLOUR_TOY, export_colour_toy

from keras_emojigan.cli import main
from keras_emojigan.data.sources import load_images
from keras_emojigan.directions import find_directions
from keras_emojigan.errors import UserInputError
from keras_emojigan.metrics.extractors import Extractor
from keras_emojigan.models.savedmodel import SteeredModule
from keras_emojigan.serving.export import export_directions
from keras_emojigan.serving.generator import load_generator
from keras_emojigan.serving.launcher import Server, http

NOISE_DIM, SIZE, V = COLOUR_TOY["noise_dim"], COLOUR_TOY["resolution"], COLOUR_TOY["direction"]


class MeanColour(Extractor):
    """Features a linear probe separates red from blue with: the mean of each channel."""

    name = "mean-colour"

    def _batch(self, images):
        return tf.reduce_mean(tf.cast(images, tf.float32), axis=[1, 2]), None


def _colour_data(path, labelled=True):
    """Real images: 30 reddish and 30 bluish squares of varied brightness, labelled blue/red."""
    rng = np.random.default_rng(0)
    images, labels = [], []
    for label in (0, 1):
        for _ in range(30):
            colour = np.array([0, rng.integers(0, 60), 0])
            colour[2 - 2 * label] = rng.integers(150, 256)  # blue (label 0) or red (label 1)
            images.append(np.broadcast_to(colour, (SIZE, SIZE, 3)).astype(np.uint8))
            labels.append(label)
    fields = {"labels": np.array(labels), "class_names": np.array(["blue", "red"])} if labelled else {}
    np.savez(path, images=np.stack(images), **fields)
    return str(path)


@pytest.fixture(scope="module")
def toy(tmp_path_factory):
    root = tmp_path_factory.mktemp("directions")
    model = export_colour_toy(root / "toy")
    data = _colour_data(root / "colours.npz")
    directions = find_directions(load_generator(model), load_images(data, SIZE), count=400, sweep=64,
                                 extractor=MeanColour(), log=lambda line: None)
    steered = export_directions(model, directions, root / "steered" / "1")[1]
    return model, data, directions, steered


def test_directions_recover_a_separable_attribute_and_strength_moves_the_reading(toy):
    _, _, directions, _ = toy
    blue, red = directions["classes"]
    assert [blue["name"], red["name"]] == ["blue", "red"] and directions["space"] == "noise"
    assert np.dot(red["normal"], V) > 0.95 and np.dot(blue["normal"], V) < -0.95  # the hidden direction, both ways
    assert abs(red["offset"]) < 0.3 and red["boundary_heldout_accuracy"] > 0.9
    assert 0.3 < red["share"] < 0.7 and directions["labeller"]["probe_heldout_accuracy"] == 1.0
    curve = directions["selector_curve"]
    # on the boundary the image is grey and the reading a coin toss; 2 deviations in, all of the class
    assert curve["2.0"]["red"] == 1.0 and curve["2.0"]["blue"] == 1.0
    assert curve["0.0"]["red"] < 0.9 or curve["0.0"]["blue"] < 0.9
    assert 0 < directions["default_strength"] <= 2.0


def test_the_steered_saved_model_takes_label_and_strength(toy):
    model, _, directions, steered = toy
    generator, base = load_generator(steered), load_generator(model)
    assert generator.steered and generator.class_names == ["blue", "red"]
    assert generator.default_strength == directions["default_strength"]
    inputs = {name: set(generator.module.signatures[name].structured_input_signature[1])
              for name in ("serving_default", "generate")}
    assert inputs == {"serving_default": {"latent", "label", "strength"},
                      "generate": {"count", "seed", "label", "strength"}}
    red = generator.generate(16, seed=3, label=1, strength=2.0).astype(int)
    blue = generator.generate(16, seed=3, label=0, strength=2.0).astype(int)
    assert (red[..., 0] > red[..., 2] + 100).all() and (blue[..., 2] > blue[..., 0] + 100).all()
    # label -1 (None) is the model's own mix: exactly the unsteered model's images
    np.testing.assert_array_equal(generator.generate(16, seed=3), base.generate(16, seed=3))
    # strength moves each row to that distance from the boundary and keeps what lies along it
    noise = np.random.default_rng(1).standard_normal((8, NOISE_DIM)).astype(np.float32)
    module = SteeredModule(base.module, NOISE_DIM, directions)
    moved = module.steer(tf.constant(noise), tf.fill([8], 1), tf.fill([8], 1.5)).numpy()
    normal, offset = np.array(directions["classes"][1]["normal"]), directions["classes"][1]["offset"]
    np.testing.assert_allclose(moved @ normal + offset, 1.5, atol=1e-5)
    np.testing.assert_allclose(moved - np.outer(moved @ normal, normal), noise - np.outer(noise @ normal, normal),
                               atol=1e-5)
    with pytest.raises(tf.errors.InvalidArgumentError, match="label must be below 2"):
        generator.generate(2, label=2)


def test_a_mixture_latent_is_steered_into_the_class_components():
    """DeLiGAN: noise dimension latent_dim picks the component through the normal CDF; a steered
    row lands in one of its class's components, and label -1 keeps its own."""
    from keras_emojigan.models.latents import MixtureLatent

    latent = MixtureLatent(4, components=5)
    latent.build()

    class Base(tf.Module):
        @tf.function
        def serve(self, rows):
            return {"images": rows}

    directions = {"mixture": {"latent_dim": 4, "components": 5},
                  "classes": [{"name": "a", "normal": [1.0, 0, 0, 0], "offset": 0.0, "components": [0, 3]},
                              {"name": "b", "normal": [-1.0, 0, 0, 0], "offset": 0.0, "components": [2]}]}
    module = SteeredModule(Base(), 5, directions)
    noise = tf.constant(np.random.default_rng(0).standard_normal((200, 5)).astype(np.float32))
    for label, allowed in ((0, {0, 3}), (1, {2})):
        moved = module.serve(noise, tf.fill([200], label), tf.fill([200], 0.5))["images"]
        components = set(latent.component(moved).numpy().tolist())
        assert components == allowed
    kept = module.serve(noise, tf.fill([200], -1), tf.fill([200], 0.5))["images"]
    np.testing.assert_array_equal(kept.numpy(), noise.numpy())


def test_the_cli_finds_exports_samples_and_sweeps_and_refuses_unlabelled_data(toy, tmp_path):
    model, data, _, steered = toy
    runner = CliRunner()
    found = tmp_path / "directions.json"
    result = runner.invoke(main, ["directions", str(model), "--data", data, "-n", "200", "-o", str(found)])
    assert result.exit_code == 0, result.output
    assert "default strength" in result.output and json.loads(found.read_text())["latents"] == 200
    out = tmp_path / "steered"
    result = runner.invoke(main, ["export", str(model), "--directions", str(found), "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert (out / "directions.json").exists() and load_generator(out).class_names == ["blue", "red"]
    grid = tmp_path / "red.png"
    result = runner.invoke(main, ["sample", str(steered), "--class", "RED", "--strength", "3", "-n", "4",
                                  "-o", str(grid)])
    assert result.exit_code == 0, result.output
    sweep = tmp_path / "sweep.png"
    result = runner.invoke(main, ["interpolate", str(steered), "--seeds", "1,2", "--emotion", "blue:red",
                                  "--steps", "4", "-o", str(sweep)])
    assert result.exit_code == 0, result.output
    from PIL import Image

    with Image.open(sweep) as image:
        pixels = np.asarray(image.convert("RGB")).astype(int)
    first, last = pixels[4, 4], pixels[4, image.width - 6]  # the first and the last frame of seed 1's row
    assert first[2] > first[0] + 100 and last[0] > last[2] + 100  # blue to red
    unlabelled = _colour_data(tmp_path / "plain.npz", labelled=False)
    elsewhere = ["-o", str(tmp_path / "other.json")]
    for args, message in ((["directions", str(model), "--data", unlabelled, *elsewhere], "has no classes"),
                          (["directions", str(model), "--data", data, "-n", "200", "--keep-colour", "red,up",
                            *elsewhere], "--keep-colour up: no such class"),
                          (["directions", str(model), "--data", data, "-n", "200", "--keep-colour", "red",
                            *elsewhere], "lies along the images' colour"),
                          (["directions", str(steered), *elsewhere], "already takes a class"),
                          (["sample", str(model), "--class", "red", "-o", str(grid)], "is unconditional"),
                          (["sample", str(steered), "--strength", "2", "-o", str(grid)],
                           "--strength goes with --class"),
                          (["interpolate", str(model), "--seeds", "1", "--emotion", "blue:red", "-o", str(sweep)],
                           "takes no emotion"),
                          (["export", str(model), "--directions", str(tmp_path / "none.json"),
                            "-o", str(tmp_path / "x")], "does not exist")):
        result = runner.invoke(main, args)
        assert result.exit_code == 2 and message in result.output, (args, result.output)
        assert "Traceback" not in result.output


def test_the_server_answers_a_steered_model_by_class_and_strength(toy):
    _, _, _, steered = toy
    server = Server(steered.parent, "--poll-seconds", "0")
    try:
        body = {"signature_name": "generate", "inputs": {"count": 4, "seed": 5, "label": 1, "strength": 2.0}}
        status, answer, _ = http("POST", server.url + "/v1/models/steered:predict", body)
        assert status == 200, answer
        images = np.array(answer["outputs"], dtype=int)
        assert images.shape == (4, SIZE, SIZE, 3) and (images[..., 0] > images[..., 2] + 100).all()
        assert http("GET", server.url + "/sheet.png?seed=1&count=4&class=blue&strength=2")[0] == 200
        status, answer, _ = http("GET", server.url + "/sheet.png?class=blue&strength=nan")
        assert status == 400 and "strength" in answer["error"]
        assert http("GET", server.url + "/morph.png?from=1&to=2&class=red&strength=1")[0] == 200
    finally:
        server.stop()


def test_a_boundary_fitted_on_the_surest_rows_only_uses_their_extremes():
    """``confident``: InterFaceGAN's fit on the rows the labeller is surest of, each side."""
    from keras_emojigan.directions import _boundary


    rng = np.random.default_rng(0)
    v = np.eye(8)[2]
    x = rng.standard_normal((2000, 8))
    margin = x @ v + rng.normal(0, 1.0, 2000)  # a labeller that errs near its boundary
    inside = margin > 0
    every = _boundary(x, inside, "c", 0, margin=margin)
    surest = _boundary(x, inside, "c", 0, margin=margin, confident=0.1)
    assert every["fitted_on"] == 2000 and surest["fitted_on"] == 400
    assert np.dot(surest["normal"], v) > 0.95 and np.dot(every["normal"], v) > 0.95
    # the extremes are far easier to tell apart than every row
    assert surest["boundary_heldout_accuracy"] > every["boundary_heldout_accuracy"] + 0.1
    assert 0.6 < surest["agreement_with_labels"] <= 1.0
    with pytest.raises(UserInputError, match="all on one side"):
        _boundary(x, inside, "c", 0, margin=np.abs(margin) + 1, confident=0.1)


def test_directions_from_the_surest_latents_recover_the_attribute_too(toy):
    model, data, _, _ = toy
    directions = find_directions(load_generator(model), load_images(data, SIZE), count=1000, sweep=32,
                                 strengths=(0.0, 2.0), extractor=MeanColour(), confident=0.2, log=lambda line: None)
    blue, red = directions["classes"]
    assert directions["confident"] == 0.2 and red["fitted_on"] == 400
    # the extremes are separable, so the fit's direction is less pinned down than from every row
    assert np.dot(red["normal"], V) > 0.9 and np.dot(blue["normal"], V) < -0.9
    assert directions["selector_curve"]["2.0"] == {"blue": 1.0, "red": 1.0}
    with pytest.raises(UserInputError, match="--confident"):
        find_directions(load_generator(model), load_images(data, SIZE), count=400, confident=0.01,
                        extractor=MeanColour(), log=lambda line: None)


E0, E1 = np.eye(6, dtype=np.float32)[0], np.eye(6, dtype=np.float32)[1]


def _export_tinted_toy(path):
    """A toy whose class is which half is bright (left where e0 . noise > 0) and whose tint (red
    against blue, e1 . noise) does not depend on it, as an unconditional SavedModel."""
    import keras

    from keras_emojigan.models.savedmodel import GeneratorModule, _write

    half = np.where(np.arange(SIZE) < SIZE // 2, 1.0, -1.0)
    split = np.broadcast_to(half[None, :, None], (SIZE, SIZE, 3)).reshape(-1)
    tint = np.tile(np.array([0.5, 0.0, -0.5]), SIZE * SIZE)
    noise = keras.Input((6,))
    scores = keras.layers.Dense(2, use_bias=False, kernel_initializer=keras.initializers.Constant(
        np.stack([E0, E1], axis=1)))(noise)
    pixels = keras.layers.Dense(SIZE * SIZE * 3, use_bias=False, activation="tanh",
                                kernel_initializer=keras.initializers.Constant(np.stack([split, tint])))(scores)
    model = keras.Model(noise, keras.layers.Reshape((SIZE, SIZE, 3))(pixels))
    return _write(GeneratorModule(model, 6), Path(path), {"noise_dim": 6, "resolution": SIZE, "num_classes": 0,
                                                          "model": "dcgan"})


class HalfAndTint(Extractor):
    """Features a probe tells the toy's classes by: left half minus right half, and red minus blue."""

    name = "half-and-tint"

    def _batch(self, images):
        images = tf.cast(images, tf.float32)
        half = tf.reduce_mean(images[:, :, : SIZE // 2], axis=[1, 2, 3]) - tf.reduce_mean(images[:, :, SIZE // 2:],
                                                                                          axis=[1, 2, 3])
        tint = tf.reduce_mean(images[..., 0] - images[..., 2], axis=[1, 2])
        return tf.stack([half, tint], axis=1), None


def _tinted_data(path):
    """Real images where the class and the tint go together: left-bright ones red, right-bright blue."""
    rng = np.random.default_rng(0)
    images, labels = [], []
    for label, sign in ((0, 1.0), (1, -1.0)):  # left, right
        for _ in range(40):
            half = np.where(np.arange(SIZE) < SIZE // 2, sign, -sign) * rng.uniform(0.5, 1.5)
            tint = np.array([0.5, 0.0, -0.5]) * sign * rng.uniform(0.5, 1.5)
            pixels = np.tanh(half[None, :, None] + tint[None, None, :] + np.zeros((SIZE, SIZE, 3)))
            images.append(((pixels + 1) * 127.5).round().astype(np.uint8))
            labels.append(label)
    np.savez(path, images=np.stack(images), labels=np.array(labels), class_names=np.array(["left", "right"]))
    return str(path)


def test_keep_colour_steers_by_the_class_alone_where_the_probe_also_reads_colour(tmp_path):
    """The probe learns class and tint together from the real images; in the generator they are
    independent. The fitted normal leans on the tint; with keep_colour it is the class alone, and
    steering leaves the images' tint where it was."""
    model = load_generator(_export_tinted_toy(tmp_path / "toy"))
    real = load_images(_tinted_data(tmp_path / "tinted.npz"), SIZE)
    def directions(keep):
        return find_directions(model, real, count=2000, sweep=64, strengths=(0.0, 2.0), extractor=HalfAndTint(),
                               keep_colour=keep, log=lambda line: None)

    found = {False: directions(()), True: directions("all")}
    fitted, kept = found[False]["classes"][0], found[True]["classes"][0]
    assert found[False]["keep_colour"] is None and "kept_share" not in fitted
    assert found[True]["keep_colour"]["classes"] == ["left", "right"]
    only_left = directions(["LEFT"])  # naming one class keeps its colour only: the other keeps the fitted normal
    assert only_left["keep_colour"]["classes"] == ["left"] and only_left["classes"][0]["normal"] == kept["normal"]
    assert only_left["classes"][1]["normal"] == found[False]["classes"][1]["normal"]
    with pytest.raises(UserInputError, match="--keep-colour up: no such class; the classes are left, right"):
        directions(["up"])

    class NeverDrawn:  # a bad --keep-colour is refused before a single latent is drawn and labelled
        class_names, path, metadata, noise_dim = [], "never", {}, model.noise_dim

        def from_latent(self, latent):
            raise AssertionError("latents were labelled before --keep-colour was checked")

    with pytest.raises(UserInputError, match="--keep-colour up"):
        find_directions(NeverDrawn(), real, count=2000, extractor=HalfAndTint(), keep_colour=["up"],
                        log=lambda line: None)
    assert np.dot(fitted["normal"], E0) > 0.5 and abs(np.dot(fitted["normal"], E1)) > 0.2
    assert np.dot(kept["normal"], E0) > 0.97 and abs(np.dot(kept["normal"], E1)) < 0.1
    assert kept["kept_share"] == pytest.approx(np.linalg.norm(
        np.asarray(fitted["normal"]) - np.dot(fitted["normal"], E1) * E1), abs=0.1)
    assert found[True]["keep_colour"]["r2"][0] > 0.5 and found[True]["keep_colour"]["r2"][1] == 0.0  # green is flat
    assert found[True]["keep_colour"]["directions"] == 1  # red and blue move together, along e1

    def tint(directions, strength, label=0):
        """The mean red minus blue (8-bit steps) of 256 rows asked for ``label`` ("left"; -1: unsteered)."""
        module = SteeredModule(model.module, 6, directions)
        noise = tf.constant(np.random.default_rng(1).standard_normal((256, 6)).astype(np.float32))
        images = module.serve(noise, tf.fill([256], label), tf.fill([256], strength))["images"].numpy()
        return float(np.mean(images[..., 0].astype(float) - images[..., 2]))

    unsteered = tint(found[True], 0.0, label=-1)
    assert abs(tint(found[True], 3.0) - unsteered) < 10
    assert tint(found[False], 3.0) - unsteered > 20  # the fitted normal turns "left" red
    assert found[True]["selector_curve"]["2.0"]["left"] > 0.8


def test_keep_colour_refuses_a_class_that_is_nothing_but_colour(toy):
    model, data, _, _ = toy
    with pytest.raises(UserInputError, match="lies along the images' colour"):
        find_directions(load_generator(model), load_images(data, SIZE), count=400, sweep=32, strengths=(0.0,),
                        extractor=MeanColour(), keep_colour="all", log=lambda line: None)
