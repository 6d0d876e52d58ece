"""With no model named, `emojigan sample` and `emojigan serve` use the shipped
saved_models/emoji-faces (its newest version); without one they say what to do. The last test
uses the model the repository ships, as a fresh clone would."""

import json

import numpy as np
from click.testing import CliRunner
from PIL import Image
from serving_helpers import export_tiny

from keras_emojigan.cli import main
from keras_emojigan.serving.generator import load_generator
from keras_emojigan.serving.launcher import Server, http
from keras_emojigan.shipped import default_model_version, models_dir


def test_without_a_shipped_model_the_commands_say_what_to_do(tmp_path, monkeypatch):
    monkeypatch.setenv("EMOJIGAN_MODELS", str(tmp_path / "empty"))
    for args in (["sample", "-o", str(tmp_path / "x.png")], ["serve"],
                 ["interpolate", "--seeds", "0,1", "-o", str(tmp_path / "m.png")]):
        result = CliRunner().invoke(main, args)
        assert result.exit_code == 2 and "no shipped model" in result.output and "emojigan export" in result.output


def test_sample_and_serve_use_the_newest_shipped_version(tmp_path, monkeypatch):
    models = tmp_path / "saved_models"
    export_tiny(models / "emoji-faces", 1, seed=1)
    newest = export_tiny(models / "emoji-faces", 2, seed=2, contrast=40.0)
    monkeypatch.setenv("EMOJIGAN_MODELS", str(models))
    grid = tmp_path / "grid.png"
    result = CliRunner().invoke(main, ["sample", "-n", "4", "-o", str(grid)])
    assert result.exit_code == 0, result.output
    with Image.open(grid) as image:
        first = np.asarray(image.convert("RGB"))[2:34, 2:34]
    np.testing.assert_array_equal(first, load_generator(newest).generate(4, seed=0)[0])
    server = Server(None, "--poll-seconds", "0")
    try:
        status, answer, _ = http("GET", server.url + "/v1/models/emoji-faces")
        assert status == 200 and answer["model_version_status"][0]["version"] == "2"
    finally:
        server.stop()


def test_the_shipped_model_samples_and_serves_without_training(tmp_path, monkeypatch):
    monkeypatch.delenv("EMOJIGAN_MODELS", raising=False)
    version = default_model_version()
    assert version == models_dir() / "emoji-faces" / "2"  # the newest; version 1 stays beside it
    assert (models_dir() / "emoji-faces" / "1" / "saved_model.pb").exists()
    metadata = json.loads((version / "emojigan.json").read_text())
    assert (metadata["model"], metadata["resolution"], metadata["num_classes"], metadata["ema"]) == ("dcgan", 64, 0,
                                                                                                     True)
    assert metadata["config"]["arch"] == "lite"
    grid = tmp_path / "x.png"
    result = CliRunner().invoke(main, ["sample", "-o", str(grid)])
    assert result.exit_code == 0, result.output
    expected = load_generator(version).generate(4, seed=0)
    with Image.open(grid) as image:
        assert np.array_equal(np.asarray(image.convert("RGB"))[2:66, 2:66], expected[0])
    strip = tmp_path / "morph.png"
    result = CliRunner().invoke(main, ["interpolate", "--seeds", "0,1", "--steps", "3", "-o", str(strip)])
    assert result.exit_code == 0 and strip.exists(), result.output
    server = Server(None, "--poll-seconds", "0")
    try:
        status, answer, _ = http("POST", server.url + "/v1/models/emoji-faces:predict",
                                 {"signature_name": "generate", "inputs": {"count": 4, "seed": 0}})
        assert status == 200 and np.array_equal(np.array(answer["outputs"], dtype=np.uint8), expected)
        status, page, _ = http("GET", server.url + "/")
        assert status == 200 and b"emoji-faces" in page
    finally:
        server.stop()


def test_only_positive_ascii_numbers_are_versions(tmp_path):
    """'²' passes str.isdigit but is no version (serve crashed on it at start); nor are '0' and '01'."""
    from keras_emojigan.serving.export import next_version
    from keras_emojigan.serving.versions import ModelVersions
    from keras_emojigan.shipped import version_folders

    base = tmp_path / "m"
    for name in ("²", "0", "01", "notes", "3", "12"):
        (base / name).mkdir(parents=True)
    (base / "7").write_text("a file, not a folder")
    assert version_folders(base) == {3: base / "3", 12: base / "12"}
    assert next_version(base) == 13 and version_folders(tmp_path / "missing") == {}
    export_tiny(base, 12)
    assert ModelVersions(base).load_initial().version == 12


def test_the_shipped_conditional_model_is_emoji_faces_2_asked_for_a_class(tmp_path, monkeypatch):
    """saved_models/emoji-faces-conditional: emoji-faces/2 with class directions; its own mix is
    exactly version 2's images, and a class asked for moves them across its boundary. Its newest
    version (what the folder means) keeps Negative's colour and steers Positive as version 1 did."""
    import json

    monkeypatch.delenv("EMOJIGAN_MODELS", raising=False)
    folder = models_dir() / "emoji-faces-conditional"
    steered, first = load_generator(folder), load_generator(folder / "1")
    assert steered.path == folder / "2"
    base = load_generator(models_dir() / "emoji-faces" / "2")
    for model in (steered, first):
        assert model.steered and model.class_names == ["Negative", "Positive"] and model.default_strength == 3.0
        np.testing.assert_array_equal(model.generate(4, seed=5), base.generate(4, seed=5))
        assert not np.array_equal(model.generate(4, seed=5, label=1), base.generate(4, seed=5))
    directions = json.loads((folder / "2" / "directions.json").read_text())
    assert directions["keep_colour"]["classes"] == ["Negative"]
    np.testing.assert_array_equal(steered.generate(4, seed=5, label=1), first.generate(4, seed=5, label=1))
    # Negative's images are no longer version 1's, and on average less blue than theirs
    negative, negative_first = steered.generate(64, seed=0, label=0), first.generate(64, seed=0, label=0)
    blue = [float(np.mean(images[..., 2].astype(float) - images[..., 0])) for images in (negative, negative_first)]
    assert blue[0] < blue[1] - 10, blue
    grid = tmp_path / "happy.png"
    result = CliRunner().invoke(main, ["sample", str(folder), "--class", "positive", "-n", "4", "-o", str(grid)])
    assert result.exit_code == 0 and grid.exists(), result.output
