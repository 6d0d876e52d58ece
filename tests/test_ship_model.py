"""emojigan ship: export, measure and card of a tiny run, conditional and not; the next version keeps the
previous card."""

import json
import shlex

import pytest
from click.testing import CliRunner

from keras_emojigan import ship
from keras_emojigan.cli import main
from keras_emojigan.config import TrainConfig, make_config
from keras_emojigan.training.history import read_history, trained_in_bfloat16


def _config_from_command(command: str) -> TrainConfig:
    """Parse the card's `emojigan fit` command back into the config it would train."""
    words = shlex.split(command)
    flags = {words[i]: words[i + 1] for i in range(2, len(words) - 1, 2)}
    sets = dict(w.split("=", 1) for i, w in enumerate(words) if i and words[i - 1] == "--set")
    return make_config(flags["--preset"], model=flags["--model"], epochs=int(flags["--epochs"]),
                       seed=int(flags["--seed"]), **sets)


@pytest.mark.parametrize("conditional", [False, True])
def test_ship_a_run(conditional, tiny_data, tmp_path, monkeypatch):
    run_dir = tmp_path / "run"
    args = ["fit", "--preset", "smoke", "--model", "deligan", "--epochs", "2", "--seed", "3", "--set", "lr=0.0003",
            "--set", "diffaugment=color,translation", "--data", tiny_data, "--resolution", "32", "--batch-size", "16",
            "--run-dir", str(run_dir), "--quiet"]
    if conditional:
        args += ["--set", "conditional=true", "--precision", "float32"]
    result = CliRunner().invoke(main, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    (tmp_path / "notes.md").write_text("- grey faces: a smoke model\n")
    models = tmp_path / "models"
    shipped = CliRunner().invoke(main, ["ship", str(run_dir), "--name", "tiny", "--saved-models", str(models),
                                        "--extractors", "emoji", "--notes", str(tmp_path / "notes.md")])
    assert shipped.exit_code == 0, shipped.output
    base = models / "tiny"
    assert (base / "1" / "saved_model.pb").exists() and (base / "samples.png").exists()
    metrics = json.loads((base / "metrics.json").read_text())["extractors"]["emoji"]
    assert metrics["halves"]["num_fake"] == 64 // 2 and metrics["halves"]["fid_over_floor"] > 0
    assert 0 <= metrics["whole"]["memorised_share"] <= 1
    assert 0 <= metrics["whole"]["recall"] <= 1 and 0 <= metrics["whole"]["near_duplicate_share"] <= 1
    assert (base / "groups.png").exists()
    assert ("per_class" in metrics) == conditional
    card = (base / "README.md").read_text()
    command = next(line.strip() for line in card.splitlines() if line.strip().startswith("emojigan fit"))
    trained = TrainConfig.load(run_dir / "config.json")
    assert _config_from_command(command.replace(" --run-dir runs/NAME", "")) == trained
    assert "emojigan export runs/NAME --best --name tiny" in card  # auto, nothing measured: the best one
    assert "near-duplicates (real)" in card and "KID (vs halves)" in card
    # the run's precision, from its history (the conditional run is float32; the other ran by `auto`)
    bf16 = trained_in_bfloat16(read_history(run_dir))
    assert ("It was trained in mixed_bfloat16" in card) == bf16 and ("It was trained in float32." in card) != bf16
    assert bf16 is False or not conditional
    assert "Licence: **unknown**" in card and "CC-BY-SA" not in card  # an .npz of the user's: its terms unknown
    assert "## Known failure modes" in card and "grey faces" in card
    assert ("Class by class" in card) == conditional and ("probe on held-out real images" in card) == conditional
    monkeypatch.setenv("EMOJIGAN_MODELS", str(models))
    sample = next(line.strip() for line in card.splitlines() if line.strip().startswith("emojigan sample"))
    assert ("--class positive" in sample) == conditional and "saved_models/tiny/1" in sample  # not the default model
    words = [w.replace("saved_models/", f"{models}/") for w in shlex.split(sample)[1:]]
    sampled = CliRunner().invoke(main, [*words[:-1], str(tmp_path / "g.png"), "-n", "4"])  # the card's command
    assert sampled.exit_code == 0, sampled.output
    assert (tmp_path / "g.png").exists()


def _fake_run(path, best=True):
    """A run dir as choose_checkpoint sees it: a config and checkpoint index files."""
    (path / "checkpoints" / "best").mkdir(parents=True)
    (path / "config.json").write_text("{}")
    (path / "checkpoints" / "ckpt-3.index").write_text("")
    if best:
        (path / "checkpoints" / "best" / "ckpt-1.index").write_text("")
    return path


def test_the_checkpoint_with_the_lower_fid_inception_ships(tmp_path):
    _fake_run(tmp_path)
    assert ship.choose_checkpoint(tmp_path, "auto")[0] is True  # nothing measured: best-FID
    measured = {"fid-inception": {"best": {"epoch": 89, "fid": 175.5}, "last": {"epoch": 99, "fid": 165.6}}}
    (tmp_path / "checkpoint_metrics.json").write_text(json.dumps(measured))
    best, why = ship.choose_checkpoint(tmp_path, "auto")
    assert best is False and "175.5" in why and "165.6 (last, epoch 99)" in why
    measured["fid-inception"]["last"]["fid"] = 180.0
    (tmp_path / "checkpoint_metrics.json").write_text(json.dumps(measured))
    assert ship.choose_checkpoint(tmp_path, "auto")[0] is True
    assert ship.choose_checkpoint(tmp_path, "last") == (False, "--checkpoint last")
    del measured["fid-inception"]["last"]
    (tmp_path / "checkpoint_metrics.json").write_text(json.dumps(measured))
    assert ship.choose_checkpoint(tmp_path, "auto")[0] is True
    # a lower FID-Inception does not win when that checkpoint collapsed
    measured["fid-inception"]["last"] = {"epoch": 99, "fid": 150.0, "near_duplicate_share": 0.9}
    measured["fid-inception"]["best"]["near_duplicate_share"] = 0.08
    (tmp_path / "checkpoint_metrics.json").write_text(json.dumps(measured))
    best, why = ship.choose_checkpoint(tmp_path, "auto")
    assert best is True and "near-duplicates 90%" in why


def test_a_new_version_keeps_the_previous_card_under_its_version(tmp_path):
    base = tmp_path / "m"
    (base / "1").mkdir(parents=True)
    (base / "README.md").write_text("# m/1\n![s](samples.png) `metrics.json` [g](groups.png)\n")
    for name in ("metrics.json", "samples.png", "groups.png", "training_config.json"):
        (base / name).write_text(name)
    ship.keep_previous_card(base, 1)
    assert sorted(p.name for p in base.iterdir()) == ["1", "README-v1.md", "groups-v1.png", "metrics-v1.json",
                                                      "samples-v1.png", "training_config-v1.json"]
    assert (base / "README-v1.md").read_text() == ("# m/1\n![s](samples-v1.png) `metrics-v1.json` "
                                                   "[g](groups-v1.png)\n")


def test_a_run_without_an_evaluated_epoch_ships_its_last_checkpoint_and_best_is_refused(tmp_path):
    from keras_emojigan.errors import UserInputError

    run = _fake_run(tmp_path / "run", best=False)
    assert ship.choose_checkpoint(run, "auto") == (False, "no evaluated epoch yet, so no best checkpoint: the last one")
    with pytest.raises(UserInputError, match="no best checkpoint .* use --checkpoint last"):
        ship.choose_checkpoint(run, "best")
    (run / "checkpoints" / "ckpt-3.index").unlink()
    with pytest.raises(UserInputError, match="has no checkpoint yet"):
        ship.choose_checkpoint(run, "last")
    with pytest.raises(UserInputError, match="is not a run dir"):
        ship.choose_checkpoint(tmp_path, "auto")


def test_the_cards_data_section_comes_from_the_source(tmp_path):
    """emoji-faces: its counts, classes, designs and licences; a folder of one's own: its counts and
    an unknown licence, never the embedded set's text."""
    embedded = ship.data_section("emoji-faces", 64)
    assert embedded.startswith("`emoji-faces`: 793 images in 400 Negative, 393 Positive.")
    assert "twemoji: CC-BY-4.0" in embedded and "**CC-BY-SA-4.0**" in embedded
    from PIL import Image

    for i in range(5):
        (tmp_path / "mine").mkdir(exist_ok=True)
        Image.new("RGB", (40, 40), (i * 40, 0, 0)).save(tmp_path / "mine" / f"{i}.png")
    folder = ship.data_section(str(tmp_path / "mine"), 32)
    assert "5 images." in folder and "Licence: **unknown**" in folder and "793" not in folder
