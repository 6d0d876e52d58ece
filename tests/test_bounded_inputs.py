"""Strength, seeds, class and frames are bounded and parsed once (``serving/generator.py``) for the
CLI, the REST API and the gallery's requests alike: every out-of-range value gets a clear error
(exit code 2 or HTTP 400), never a black image, a traceback or a 500."""

import json

import numpy as np
import pytest
from click.testing import CliRunner
from serving_helpers import export_colour_toy_steered, export_tiny

from keras_emojigan.cli import main
from keras_emojigan.serving.generator import SavedModelError, check_strength, parse_seeds
from keras_emojigan.serving.launcher import Server, http


@pytest.fixture(scope="module")
def steered(tmp_path_factory):
    return export_colour_toy_steered(tmp_path_factory.mktemp("steered") / "toy" / "1")


@pytest.mark.parametrize("value", [float("nan"), float("inf"), -float("inf"), 1e39, 3e38, -1e30, 10.5])
def test_strength_beyond_the_bounds_is_refused(value):
    with pytest.raises(SavedModelError, match="give a number from -10 to 10"):
        check_strength(value)
    with pytest.raises(SavedModelError):
        check_strength(np.array([1.0, value]))
    assert check_strength(-10.0) == -10.0


@pytest.mark.parametrize("text,message", [("", "'' is not a whole number"), ("1,,2", "'' is not a whole number"),
                                          ("99999999999999999999,2", "from -9223372036854775808"),
                                          ("²", "'²' is not a whole number"), ("3;17", "'3;17' is not")])
def test_seeds_are_parsed_once_with_clear_errors(text, message):
    with pytest.raises(SavedModelError, match=message):
        parse_seeds(text)
    assert parse_seeds(" 3, -17 ,42") == [3, -17, 42]


@pytest.mark.parametrize("args,message", [
    (["sample", "--class", "blue", "--strength", "nan"], "strength nan: give a number from -10 to 10"),
    (["sample", "--class", "blue", "--strength", "inf"], "give a number from -10 to 10"),
    (["sample", "--class", "blue", "--strength", "1e39"], "give a number from -10 to 10"),
    (["sample", "--class", "²"], "class '²': this model's classes are blue (or 0), red (or 1)"),
    (["sample", "--class=--1"], "class '--1'"),
    (["sample", "--class", "9" * 5000], "this model's classes are"),
    (["sample", "--seed", "99999999999999999999"], "--seed"),
    (["interpolate", "--seeds", "99999999999999999999,2"], "from -9223372036854775808"),
    (["interpolate", "--seeds", "", "--emotion", "1:0"], "is not a whole number"),
    (["interpolate", "--seeds", "3", "--emotion", "0:1", "--strength", "nan"], "give a number from -10 to 10"),
    (["interpolate", "--seeds", "3,4", "--emotion", "²:0"], "class '²'"),
    (["interpolate", "--seeds", "1,2,3,4,5,6,7,8,9,10", "--steps", "64", "--scale", "8"], "use fewer --seeds"),
])
def test_the_cli_refuses_out_of_range_inputs(args, message, steered, tmp_path):
    command, *rest = args
    out = tmp_path / ("x.png" if command == "sample" else "x.gif")
    result = CliRunner().invoke(main, [command, str(steered), *rest, "-o", str(out)])
    assert result.exit_code == 2, result.output
    assert message in result.output and "Traceback" not in result.output
    assert not out.exists()


def test_rest_and_page_requests_refuse_out_of_range_strength_class_and_seed(steered, tmp_path):
    base = steered.parent
    server = Server(base, "--poll-seconds", "0")
    try:
        url = f"{server.url}/v1/models/{base.name}"
        latent = [0.0] * 6
        for strength in (3e38, -1e30, 11):
            status, answer, _ = http("POST", f"{url}:predict",
                                     {"instances": [{"latent": latent, "label": 1, "strength": strength}]})
            assert status == 400 and "give a number from -10 to 10" in answer["error"], answer
        status, answer, _ = http("POST", f"{url}:predict", {"instances": [{"latent": latent, "label": 1,
                                                                           "strength": 2.0}]})
        assert status == 200 and np.asarray(answer["predictions"][0]).max() > 0
        for query, message in ((f"class={'9' * 5000}", "this model's classes are"), ("class=%C2%B2", "class '²'"),
                               ("strength=nan", "give a number from -10 to 10"),
                               ("seed=99999999999999999999", "seed=")):
            status, answer, _ = http("GET", f"{server.url}/sheet.png?{query}")
            assert status == 400 and message in json.dumps(answer, ensure_ascii=False), (query, answer)
    finally:
        server.stop()


def test_interpolate_frames_are_bounded_before_any_work(tmp_path):
    from keras_emojigan.errors import UserInputError
    from keras_emojigan.interpolate import check_frames

    assert check_frames(3, 8, 1, 64) == 17 and check_frames(2, 8, 1, 64, emotion=True) == 18
    with pytest.raises(UserInputError, match="650 frames of 512x512"):
        check_frames(10, 64, 8, 64, emotion=True)
    assert check_frames(3, 8, 8, 64, animated=True) == 34  # a usual GIF, scaled up
    with pytest.raises(UserInputError, match="at least two seeds"):
        check_frames(1, 8, 1, 64)
    base = tmp_path / "m"
    export_tiny(base, 1)
    result = CliRunner().invoke(main, ["interpolate", str(base / "1"), "--seeds", ",".join(map(str, range(10))),
                                       "--steps", "64", "--scale", "8", "-o", str(tmp_path / "m.gif")])
    assert result.exit_code == 2 and "use fewer --seeds or --steps" in result.output
