"""A directions file is checked against the model it is exported with: each of the 27 malformed
files in tests/data/malformed_directions (expected.json: file -> what its error says) gets a clear
error (exit code 2, nothing written), never a traceback or a black image; a good file for another
model is refused by fingerprint, or warned about by path."""

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from serving_helpers import export_colour_toy

from keras_emojigan.cli import main
from keras_emojigan.directions import check_directions
from keras_emojigan.errors import UserInputError

CORPUS = Path(__file__).parent / "data" / "malformed_directions"
EXPECTED = json.loads((CORPUS / "expected.json").read_text(encoding="utf-8"))
GOOD = {"noise_dim": 6, "default_strength": 1.5,
        "classes": [{"name": "blue", "normal": [-0.6, 0.8, 0, 0, 0, 0], "offset": 0.0},
                    {"name": "red", "normal": [0.6, -0.8, 0, 0, 0, 0], "offset": 0.0}]}


@pytest.fixture(scope="module")
def toy(tmp_path_factory):
    return export_colour_toy(tmp_path_factory.mktemp("toy") / "toy" / "1")


def test_the_corpus_has_at_least_25_files():
    assert len(EXPECTED) >= 25 and all((CORPUS / name).exists() for name in EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_malformed_directions_file_gets_a_clear_error(name, toy, tmp_path):
    models = tmp_path / "models"
    result = CliRunner().invoke(main, ["export", str(toy), "--directions", str(CORPUS / name), "--name", "x",
                                       "--saved-models", str(models)])
    assert result.exit_code == 2, result.output
    assert EXPECTED[name] in result.output and name in result.output, result.output
    assert "Traceback" not in result.output and not (models / "x").exists()


def test_a_good_file_exports_and_another_models_file_is_warned_about(toy, tmp_path):
    path = tmp_path / "good.json"
    path.write_text(json.dumps({**GOOD, "model": "/somewhere/else"}))
    result = CliRunner().invoke(main, ["export", str(toy), "--directions", str(path), "--name", "x",
                                       "--saved-models", str(tmp_path / "models")])
    assert result.exit_code == 0, result.output
    assert "was made for /somewhere/else" in result.output and (tmp_path / "models" / "x" / "1").exists()


def test_mixture_components_must_be_the_models():
    mixture = {"latent_dim": 6, "components": 4}
    good = {**GOOD, "noise_dim": 7, "mixture": mixture,
            "classes": [{**c, "components": [0, 1]} for c in GOOD["classes"]]}
    assert check_directions(good, 7, mixture=mixture)["classes"][0]["components"] == [0, 1]
    for bad in ([999, -5], [], "all", [1.5]):
        broken = {**good, "classes": [{**good["classes"][0], "components": bad}, good["classes"][1]]}
        with pytest.raises(UserInputError, match="components .* must be a non-empty list of the model's components"):
            check_directions(broken, 7, mixture=mixture)
    with pytest.raises(UserInputError, match="the model has a mixture latent"):
        check_directions(GOOD, 7, mixture=mixture)
