"""Model names and versions are checked once, before any work, for export and ship alike: nothing
is written outside saved_models/NAME, and a refused or failed ship leaves no folder behind."""

import pytest
from click.testing import CliRunner

from keras_emojigan.cli import main
from keras_emojigan.errors import UserInputError
from keras_emojigan.serving.export import check_model_name, check_version

BAD_NAMES = ["..", ".", "", "/tmp/elsewhere", "a/b", ".hidden", "-flag", "a\\\\b", "x" * 101, "tab\\tname"]


@pytest.mark.parametrize("name", BAD_NAMES)
def test_bad_model_names_are_refused(name):
    with pytest.raises(UserInputError, match="model name"):
        check_model_name(name)


def test_good_names_and_versions_pass_and_huge_versions_do_not():
    assert check_model_name("emoji-faces_2.1") == "emoji-faces_2.1"
    assert check_version(2**63 - 1) == 2**63 - 1
    for version in (0, -1, 2**63, 99999999999999999999, True, 1.5):
        with pytest.raises(UserInputError, match="TF Serving versions"):
            check_version(version)


@pytest.fixture(scope="module")
def run_without_evaluation(tmp_path_factory, tiny_data_module):
    run_dir = tmp_path_factory.mktemp("run") / "run"
    result = CliRunner().invoke(main, ["fit", "--preset", "smoke", "--model", "dcgan", "--epochs", "1",
                                       "--eval-every", "0", "--data", tiny_data_module, "--resolution", "32",
                                       "--batch-size", "16", "--run-dir", str(run_dir), "--quiet"])
    assert result.exit_code == 0, result.output
    return run_dir


@pytest.fixture(scope="module")
def tiny_data_module(tmp_path_factory):
    import numpy as np

    from keras_emojigan.data.sources import load_images

    path = tmp_path_factory.mktemp("data") / "tiny.npz"
    np.savez(path, images=load_images("emoji-faces", 32).images[:32])
    return str(path)


@pytest.mark.parametrize("name", ["..", "", "/tmp/x-emojigan-test", "a/b"])
def test_ship_and_export_refuse_a_bad_name_before_writing_anything(name, run_without_evaluation, tmp_path,
                                                                    monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "README.md").write_text("mine\n")
    for command in (["ship", str(run_without_evaluation), "--name", name, "--extractors", "emoji"],
                    ["export", str(run_without_evaluation), "--name", name]):
        result = CliRunner().invoke(main, command)
        assert result.exit_code == 2 and "model name" in result.output, (command, result.output)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["README.md"]
    assert (tmp_path / "README.md").read_text() == "mine\n"


def test_ship_refuses_unknown_extractors_before_exporting_and_leaves_no_folder(run_without_evaluation, tmp_path):
    models = tmp_path / "models"
    result = CliRunner().invoke(main, ["ship", str(run_without_evaluation), "--name", "x", "--saved-models",
                                       str(models), "--extractors", "bogus"])
    assert result.exit_code == 2 and "--extractors bogus" in result.output
    assert not (models / "x").exists()
    refused = CliRunner().invoke(main, ["ship", str(run_without_evaluation), "--name", "x", "--saved-models",
                                        str(models), "--checkpoint", "best", "--extractors", "emoji"])
    assert refused.exit_code == 2 and "no best checkpoint" in refused.output and not (models / "x").exists()


def test_export_refuses_a_version_beyond_int64(run_without_evaluation, tmp_path):
    result = CliRunner().invoke(main, ["export", str(run_without_evaluation), "--name", "v", "--version",
                                       "99999999999999999999", "--saved-models", str(tmp_path)])
    assert result.exit_code == 2 and "--version" in result.output and not (tmp_path / "v").exists()


def test_export_best_without_an_evaluated_epoch_says_why_and_what_to_do(run_without_evaluation, tmp_path):
    result = CliRunner().invoke(main, ["export", str(run_without_evaluation), "--best", "-o", str(tmp_path / "m")])
    assert result.exit_code == 2 and "no epoch has been evaluated yet" in result.output
    assert "leave out --best" in result.output
