"""Latent interpolation: slerp, the path through seeds, the CLI's PNG strip and GIF, and the
server's morph strip."""

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image
from serving_helpers import TINY, export_tiny

from keras_emojigan.cli import main
from keras_emojigan.interpolate import latent_path, seed_noise, slerp
from keras_emojigan.serving.generator import load_generator
from keras_emojigan.serving.launcher import Server, http


def test_slerp_ends_on_its_ends_and_keeps_the_norm_between_orthogonal_vectors():
    a, b = np.array([1.0, 0.0]), np.array([0.0, 1.0])
    points = slerp(a, b, np.linspace(0, 1, 5))
    np.testing.assert_allclose(points[0], a, atol=1e-12)
    np.testing.assert_allclose(points[-1], b, atol=1e-12)
    np.testing.assert_allclose(np.linalg.norm(points, axis=1), 1.0)
    np.testing.assert_allclose(slerp(a, a, np.array([0.5]))[0], a)  # the same point: no division by zero


def test_a_path_through_three_seeds_passes_each_seed():
    noises = seed_noise([4, 9, 2], 16)
    path = latent_path(noises, steps=5)
    assert path.shape == (11, 16) and path.dtype == np.float32
    for i, index in enumerate((0, 5, 10)):
        np.testing.assert_allclose(path[index], noises[i], atol=1e-6)
    with pytest.raises(ValueError, match="two seeds"):
        latent_path(noises[:1], 5)


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory):
    base = tmp_path_factory.mktemp("models") / "emoji"
    export_tiny(base, 1, contrast=40.0)
    return base


def test_interpolate_writes_a_strip_and_a_gif(tiny_model, tmp_path):
    strip = tmp_path / "strip.png"
    result = CliRunner().invoke(main, ["interpolate", str(tiny_model / "1"), "--seeds", "1,2,3", "--steps", "4",
                                       "-o", str(strip)])
    assert result.exit_code == 0, result.output
    with Image.open(strip) as image:
        size = TINY["resolution"]
        assert image.width > 5 * size and size * 2 < image.height < size * 3  # 2 rows of 5
        first = np.asarray(image)[2:2 + size, 2:2 + size]
    np.testing.assert_array_equal(first, load_generator(tiny_model / "1").generate(1, seed=1)[0])  # seed 1 first
    gif = tmp_path / "morph.gif"
    assert CliRunner().invoke(main, ["interpolate", str(tiny_model / "1"), "--seeds", "1,2", "--steps", "3",
                                     "-o", str(gif)]).exit_code == 0
    with Image.open(gif) as image:
        assert image.format == "GIF" and image.n_frames == 6  # 4 frames there, 2 back
    for args in (["--seeds", "1"], ["--seeds", "1,2", "-o", str(tmp_path / "x.jpg")]):
        bad = CliRunner().invoke(main, ["interpolate", str(tiny_model / "1"), *args, *(
            ["-o", str(strip)] if "-o" not in args else [])])
        assert bad.exit_code == 2 and "Traceback" not in bad.output


def test_the_server_draws_a_morph_strip(tiny_model):
    server = Server(tiny_model, "--poll-seconds", "0")
    try:
        status, body, headers = http("GET", server.url + "/morph.png?from=1&to=2&steps=4")
        assert status == 200 and headers["Content-Type"] == "image/png"
        status, answer, _ = http("GET", server.url + "/morph.png?from=1&to=2&steps=0")
        assert status == 400 and "steps=0" in answer["error"]
    finally:
        server.stop()
