"""The projector (``emojigan project``, ``edit``, ``interpolate --latents``) on a tiny model: the
generator rebuilt from a SavedModel draws what the SavedModel draws (plain and steered), projecting a
generated image recovers it, the latents file round-trips and refuses damage and other models, a
user's image is laid out as the training emoji are (and bad images are refused by name), and the
commands write what they say, rendered by the SavedModel's own signature."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image
from serving_helpers import export_projectable, export_projectable_steered

from keras_emojigan.data.emoji_canvas import MIN_SIDE, lay_out, prepare_user_image
from keras_emojigan.data.sources import ImageReadError
from keras_emojigan.metrics import lpips as lpips_module
from keras_emojigan.metrics.lpips import LPIPS
from keras_emojigan.models.restored_generator import RestoreError, restore_generator
from keras_emojigan.projector import (
    LatentsFile,
    LatentsFileError,
    ProjectionSettings,
    Projector,
    check_same_model,
    learning_rate_at,
    noise_at,
)
from keras_emojigan.serving.generator import load_generator


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    root = tmp_path_factory.mktemp("projector")
    plain = export_projectable(root / "plain" / "1")
    return {"plain": plain, "steered": export_projectable_steered(plain, root / "steered" / "1"), "root": root}


@pytest.fixture
def tiny_lpips(monkeypatch):
    """A tiny random LPIPS in place of the fetched one (the real weights are a download)."""
    import keras

    keras.utils.set_random_seed(0)
    lpips = LPIPS(width=0.25)
    monkeypatch.setattr(lpips_module, "load_lpips", lambda policy="float32": lpips)
    return lpips


@pytest.mark.parametrize("which", ["plain", "steered"])
def test_the_rebuilt_generator_draws_what_the_savedmodel_draws(models, which):
    generator = load_generator(models[which])
    rebuilt = restore_generator(generator.path, generator.from_latent)  # checks 2 latents itself
    z = np.random.default_rng(7).standard_normal((6, 8)).astype(np.float32)
    mine = np.clip((np.asarray(rebuilt(z)) + 1.0) * 127.5, 0, 255)
    assert np.abs(mine - generator.from_latent(z)).max() <= 1.0  # float32 export: rounding only


def test_restore_refuses_what_it_cannot_rebuild(models, tmp_path):
    old = export_projectable(tmp_path / "old" / "1", config=False)
    with pytest.raises(RestoreError, match="does not say how the generator was built"):
        restore_generator(old)
    other = export_projectable(tmp_path / "other" / "1")
    metadata = json.loads((other / "emojigan.json").read_text())
    metadata["config"]["ngf"] = 16  # the config names another network than the variables hold
    (other / "emojigan.json").write_text(json.dumps(metadata))
    with pytest.raises(RestoreError, match="does not fit its variables"):
        restore_generator(other)
    swapped = export_projectable(tmp_path / "swapped" / "1", seed=4)
    (swapped / "emojigan.json").write_text((models["plain"] / "emojigan.json").read_text())
    generator = load_generator(swapped)
    # same shapes, other weights: the config fits, but a rebuild under another seed would not draw the
    # same; here the weights are read from the variables, so the rebuild still matches
    restore_generator(generator.path, generator.from_latent)


def test_projecting_a_generated_image_recovers_it(models, tiny_lpips):
    generator = load_generator(models["plain"])
    rebuilt = restore_generator(generator.path)
    truth = np.random.default_rng(11).standard_normal((1, 8)).astype(np.float32)
    target = generator.from_latent(truth)[0]
    # the tiny random LPIPS tells little apart, so the pixel term leads here
    projector = Projector(rebuilt, tiny_lpips, ProjectionSettings(steps=150, candidates=32, restarts=4,
                                                                  pixel_weight=10.0))
    steps = []
    found = projector.project(target, seed=0, progress=steps.append)
    assert len(steps) == 150 and found.losses.shape == (150,)
    starts = generator.from_latent(np.random.default_rng(0).standard_normal((32, 8)).astype(np.float32))
    nearest_start = np.abs(starts.astype(float) - target).mean(axis=(1, 2, 3)).min()  # about 12 levels
    rendered = generator.from_latent(found.latent[None])[0]
    off = np.abs(rendered.astype(float) - target).mean()
    assert off < 0.25 * nearest_start and off < 3.0  # the same picture, to a few levels of 255
    assert np.linalg.norm(found.latent - truth[0]) < 0.5  # and (nearly) the same latent
    again = projector.project(target, seed=0)
    np.testing.assert_array_equal(again.latent, found.latent)  # deterministic for a seed


def test_schedules_follow_stylegan2s_projector():
    assert learning_rate_at(0.0, 0.1) == 0.0 and learning_rate_at(0.5, 0.1) == pytest.approx(0.1)
    assert learning_rate_at(0.99, 0.1) < 0.01
    assert noise_at(0.0, 0.3) == 0.3 and noise_at(0.75, 0.3) == 0.0 and noise_at(0.9, 0.3) == 0.0


@pytest.mark.parametrize("bad, message", [({"steps": 0}, "--steps"), ({"restarts": 9, "candidates": 4}, "--restarts"),
                                          ({"learning_rate": 0.0}, "--learning-rate"),
                                          ({"prior_weight": float("nan")}, "--prior-weight")])
def test_settings_refuse_nonsense(bad, message):
    with pytest.raises(Exception, match=message):
        ProjectionSettings(**bad).check()


def _latents_file(rows=2, dim=8):
    rng = np.random.default_rng(0)
    return LatentsFile(rng.standard_normal((rows, dim)).astype(np.float32), [f"e{i}.png" for i in range(rows)],
                       np.zeros((rows, 32, 32, 3), np.uint8), np.zeros((rows, 32, 32, 3), np.uint8), "m", "ab",
                       np.zeros(rows, np.float32), np.zeros(rows), {"steps": 3})


def test_latents_file_round_trips_and_refuses_damage(tmp_path):
    path = _latents_file().save(tmp_path / "latents.npz")
    back = LatentsFile.load(path)
    assert back.names == ["e0.png", "e1.png"] and back.model == "m" and back.settings == {"steps": 3}
    np.testing.assert_array_equal(back.latents, _latents_file().latents)
    (tmp_path / "junk.npz").write_bytes(b"not a zip")
    with pytest.raises(LatentsFileError, match="not a latents file"):
        LatentsFile.load(tmp_path / "junk.npz")
    np.savez(tmp_path / "other.npz", images=np.zeros((2, 4)))
    with pytest.raises(LatentsFileError, match="not a latents file"):
        LatentsFile.load(tmp_path / "other.npz")
    broken = _latents_file()
    broken.latents[0, 0] = np.nan
    with pytest.raises(LatentsFileError, match="finite"):
        LatentsFile.load(broken.save(tmp_path / "nan.npz"))
    with pytest.raises(LatentsFileError, match="no such file"):
        LatentsFile.load(tmp_path / "missing.npz")


def test_latents_are_refused_by_a_model_that_draws_them_differently():
    latents = _latents_file()
    check_same_model(latents, latents.reconstructions + 1, "same")  # rounding of a steered export passes
    with pytest.raises(LatentsFileError, match="draws them differently"):
        check_same_model(latents, latents.reconstructions + 40, "other")


def _rgba(size=(100, 80), box=(20, 10, 70, 60), colour=(200, 30, 30, 255)):
    image = Image.new("RGBA", size, (0, 0, 0, 0))
    image.paste(Image.new("RGBA", (box[2] - box[0], box[3] - box[1]), colour), box[:2])
    return image


def test_a_users_image_is_laid_out_as_the_training_emoji(tmp_path):
    transparent = _rgba()
    transparent.save(tmp_path / "t.png")
    laid = prepare_user_image(tmp_path / "t.png", 64)
    red = np.all(laid == (200, 30, 30), axis=-1)
    rows, cols = np.nonzero(red)
    assert cols.max() - cols.min() + 1 == 60 and rows.max() - rows.min() + 1 == 60  # a square fitted in 60 of 64
    assert np.all(laid[0] == 255) and np.all(laid[:, 0] == 255)  # on white
    flat = Image.new("RGB", (100, 80), (255, 255, 255))
    flat.paste(Image.new("RGB", (50, 50), (200, 30, 30)), (20, 10))
    flat.save(tmp_path / "f.jpg", quality=95)
    laid_flat = prepare_user_image(tmp_path / "f.jpg", 64)  # no alpha: what is darker than white is the emoji
    assert np.mean(np.abs(laid_flat.astype(int) - laid)) < 4
    assert lay_out(transparent, 32).shape == (32, 32, 3)


@pytest.mark.parametrize("make, message", [
    (lambda p: p.write_bytes(b"hello"), "not a readable image"),
    (lambda p: Image.new("RGBA", (MIN_SIDE - 1, 40), (0, 0, 0, 255)).save(p), "too small"),
    (lambda p: Image.new("RGBA", (64, 64), (0, 0, 0, 0)).save(p), "blank"),
    (lambda p: Image.new("RGB", (64, 64), (255, 255, 255)).save(p), "blank"),
])
def test_bad_images_are_refused_by_what_is_wrong(tmp_path, make, message):
    path = tmp_path / "bad.png"
    make(path)
    with pytest.raises(ImageReadError, match=message):
        prepare_user_image(path, 64)


def test_an_animation_is_refused_when_stills_are_asked_for(tmp_path):
    frames = [Image.new("RGB", (40, 40), colour) for colour in ((255, 0, 0), (0, 0, 255))]
    frames[0].save(tmp_path / "a.gif", save_all=True, append_images=frames[1:])
    assert prepare_user_image(tmp_path / "a.gif", 32).shape == (32, 32, 3)  # the first frame, as data sources do
    with pytest.raises(ImageReadError, match="an animation"):
        prepare_user_image(tmp_path / "a.gif", 32, animated_ok=False)


def test_project_edit_and_interpolate_commands(models, tiny_lpips, tmp_path):
    from keras_emojigan.cli import main

    generator = load_generator(models["plain"])
    for i, seed in enumerate((3, 4)):
        Image.fromarray(generator.generate(1, seed)[0]).resize((96, 96)).save(tmp_path / f"mine{i}.png")
    runner = CliRunner()
    out = tmp_path / "out"
    result = runner.invoke(main, ["project", str(tmp_path / "mine0.png"), str(tmp_path / "mine1.png"), "--model",
                                  str(models["plain"]), "-o", str(out), "--steps", "20", "--candidates", "8",
                                  "--restarts", "2"])
    assert result.exit_code == 0, result.output
    assert "mine0.png: LPIPS" in result.output
    latents = LatentsFile.load(out / "latents.npz")
    assert latents.latents.shape == (2, 8) and latents.names == ["mine0.png", "mine1.png"]
    np.testing.assert_array_equal(latents.reconstructions, generator.from_latent(latents.latents))
    assert sorted(p.name for p in (out / "images").iterdir()) == [
        "000-mine0-input.png", "000-mine0-projected.png", "001-mine1-input.png", "001-mine1-projected.png"]
    assert len((out / "losses.csv").read_text().splitlines()) == 21
    from keras_emojigan.grid import image_grid

    pairs = np.stack([latents.targets, latents.reconstructions], axis=1).reshape(4, 32, 32, 3)
    np.testing.assert_array_equal(np.asarray(Image.open(out / "projection.png")), np.asarray(image_grid(pairs, 4)))

    steered = load_generator(models["steered"])
    edited = tmp_path / "edit.png"
    result = runner.invoke(main, ["edit", str(out / "latents.npz"), "--model", str(models["steered"]),
                                  "--class", "positive", "--strength", "1,3", "-o", str(edited), "--out-dir",
                                  str(tmp_path / "edits")])
    assert result.exit_code == 0, result.output
    own = np.asarray(Image.open(tmp_path / "edits" / "001-mine1-positive-3.png"))
    np.testing.assert_array_equal(own, steered.from_latent(latents.latents, np.array([1, 1]),
                                                           np.array([3.0, 3.0], np.float32))[1])
    result = runner.invoke(main, ["edit", str(out / "latents.npz"), "--class", "positive", "-o", str(edited)])
    assert result.exit_code != 0 and "takes no class" in result.output  # the latents' own model is not steered
    other = export_projectable(tmp_path / "other" / "1", seed=9)
    result = runner.invoke(main, ["edit", str(out / "latents.npz"), "--model", str(other), "--class", "positive",
                                  "-o", str(edited)])
    assert result.exit_code != 0 and "draws them differently" in result.output

    morph = tmp_path / "morph.png"
    result = runner.invoke(main, ["interpolate", "--latents", str(out / "latents.npz"), "--steps", "3",
                                  "-o", str(morph)])
    assert result.exit_code == 0, result.output
    assert "4 frames through your emoji" in result.output
    result = runner.invoke(main, ["interpolate", str(models["steered"]), "--latents", str(out / "latents.npz"),
                                  "--emotion", "negative:positive", "-o", str(tmp_path / "sweep.png")])
    assert result.exit_code == 0, result.output
    result = runner.invoke(main, ["interpolate", "--seeds", "1,2", "--latents", str(out / "latents.npz"),
                                  "-o", str(morph)])
    assert result.exit_code != 0 and "one of them" in result.output


def test_project_names_a_bad_image(models, tiny_lpips, tmp_path):
    from keras_emojigan.cli import main

    (tmp_path / "bad.png").write_bytes(b"nope")
    result = CliRunner().invoke(main, ["project", str(tmp_path / "bad.png"), "--model", str(models["plain"]),
                                       "-o", str(tmp_path / "o")])
    assert result.exit_code == 2 and "bad.png: not a readable image" in result.output
    assert not (tmp_path / "o").exists()
