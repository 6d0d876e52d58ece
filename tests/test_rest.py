"""TF Serving's REST rules for signatures with several inputs and outputs (our exports have one
batched input; TF Serving's documented examples have several)."""

import json

import numpy as np
import pytest
import tensorflow as tf

from keras_emojigan.serving.rest import Limits, RestError, Signature, request_tensors, response_json

TWO_INPUTS = Signature("two", {"a": tf.TensorSpec([None, 2], tf.float32), "b": tf.TensorSpec([None], tf.int32)},
                       {"y": tf.TensorSpec([None], tf.float32), "z": tf.TensorSpec([None, 2], tf.float32)}, None)


def test_row_format_objects_become_batched_columns():
    arrays, layout = request_tensors({"instances": [{"a": [1, 2], "b": 3}, {"a": [4, 5], "b": 6}]}, TWO_INPUTS,
                                     Limits())
    assert layout == "row"
    np.testing.assert_array_equal(arrays["a"], np.array([[1, 2], [4, 5]], np.float32))
    assert arrays["a"].dtype == np.float32 and arrays["b"].dtype == np.int32
    np.testing.assert_array_equal(arrays["b"], [3, 6])


def test_columnar_format_takes_named_tensors():
    arrays, layout = request_tensors({"inputs": {"a": [[1, 2]], "b": [7]}}, TWO_INPUTS, Limits())
    assert layout == "columnar" and arrays["b"].tolist() == [7]


@pytest.mark.parametrize("request_body, message", [
    ({"instances": [{"a": [1, 2]}]}, "lack input(s) b"),
    ({"instances": [{"a": [1, 2], "b": 1, "c": 0}]}, "unknown input(s) c"),
    ({"instances": [[1, 2]]}, "each instance must be an object"),
    ({"inputs": [[1, 2]]}, "'inputs' must be an object"),
    ({"inputs": {"a": [[1, 2]]}}, "missing input(s) b"),
    ({"inputs": {"a": [[1, 2]], "b": [1.5]}}, "whole numbers"),
    ({"inputs": {"a": [[1, 2, 3]], "b": [1]}}, "signature expects [-1, 2]"),
])
def test_several_inputs_errors(request_body, message):
    with pytest.raises(RestError) as caught:
        request_tensors(request_body, TWO_INPUTS, Limits())
    assert caught.value.status == 400 and message in str(caught.value)


def test_responses_for_several_outputs():
    outputs = {"y": np.array([1.0, 2.0]), "z": np.array([[1, 2], [3, 4]])}
    assert json.loads(response_json(outputs, "row")) == {"predictions": [{"y": 1.0, "z": [1, 2]},
                                                                         {"y": 2.0, "z": [3, 4]}]}
    assert json.loads(response_json(outputs, "columnar")) == {"outputs": {"y": [1.0, 2.0], "z": [[1, 2], [3, 4]]}}


@pytest.mark.parametrize("layout", ["row", "columnar"])
@pytest.mark.parametrize("shapes", [{"images": (3, 4, 4, 3)}, {"images": (2, 4, 4, 3), "label": (2,)},
                                    {"x": (0, 2)}, {"x": (5,)}, {"images": (40, 64, 64, 3)},
                                    {"pixels": (40, 8, 8, 3)}, {"pixels": (3, 2), "label": (3,)}])
def test_responses_give_every_number_back_exactly(layout, shapes, monkeypatch):
    """Numbers formatted by TensorFlow's ops, a block of rows at a time (blocks made small here so the
    40-image cases span several): the JSON parses back to exactly the arrays, NaN and infinities as
    ``json.dumps`` writes them, integers (uint8 pixels, int32 labels) as integers."""
    monkeypatch.setattr("keras_emojigan.serving.rest.NUMBERS_PER_BLOCK", 3 * 12288)
    rng = np.random.default_rng(0)
    outputs = {name: (rng.integers(-9, 9, size=shape).astype(np.int32) if name == "label" else
                      rng.integers(0, 256, size=shape).astype(np.uint8) if name == "pixels" else
                      (rng.normal(size=shape) * 10.0 ** rng.integers(-30, 30, size=shape)).astype(np.float32))
               for name, shape in shapes.items()}
    if "images" in outputs:
        outputs["images"].flat[:5] = [np.nan, np.inf, -np.inf, -0.0, np.float32(0.1)]
    answer = json.loads(response_json(outputs, layout))
    key = "outputs" if layout == "columnar" else "predictions"
    names = list(outputs)
    if len(names) == 1:
        got = {names[0]: answer[key]}
    elif layout == "columnar":
        got = answer[key]
    else:
        got = {n: [row[n] for row in answer[key]] for n in names}
    for name, array in outputs.items():
        assert np.asarray(got[name]).dtype.kind == ("f" if array.dtype.kind == "f" else "i"), name
        back = np.array(got[name], dtype=array.dtype).reshape(array.shape)
        assert np.array_equal(back, array, equal_nan=True), name
    if "images" in outputs:  # 9 significant digits: float32's 0.1, not float64's 0.10000000149011612
        assert b"[[[NaN, Infinity, -Infinity], [-0, 0.100000001, " in response_json(outputs, layout)


def test_subnormal_numbers_which_tensorflow_flushes_to_zero_come_back_too():
    array = np.array([[1e-40, -3e-39, 0.5]], np.float32)
    assert np.array_equal(np.array(json.loads(response_json({"x": array}, "columnar"))["outputs"], np.float32), array)


def _random_json(rng, depth=0):
    kind = rng.integers(0, 8 if depth < 4 else 5)
    if kind == 0:
        return None
    if kind == 1:
        return bool(rng.integers(0, 2))
    if kind == 2:
        return float(rng.choice([0.5, -1e40, 1e300, 3, -7]))
    if kind == 3:
        return int(rng.integers(-2**40, 2**40))
    if kind == 4:
        return rng.choice(["", "latent", "a", "serving_default", "generate", "NaN"]).item()
    if kind in (5, 6):
        return [_random_json(rng, depth + 1) for _ in range(rng.integers(0, 4))]
    keys = ["instances", "inputs", "signature_name", "a", "b", "latent", "count", "seed"]
    return {rng.choice(keys).item(): _random_json(rng, depth + 1) for _ in range(rng.integers(0, 4))}


def test_random_requests_are_answered_or_refused_never_crash():
    """2,000 random JSON bodies through the REST rules: each is either tensors or a RestError."""
    import json

    from keras_emojigan.serving.rest import parse_body, pick_signature

    signatures = {"serving_default": Signature("serving_default", {"latent": tf.TensorSpec([None, 3], tf.float32)},
                                               {"images": tf.TensorSpec([None], tf.uint8)}, None),
                  "generate": Signature("generate", {"count": tf.TensorSpec([], tf.int32),
                                                     "seed": tf.TensorSpec([], tf.int64)},
                                        {"images": tf.TensorSpec([None], tf.uint8)}, None),
                  "two": TWO_INPUTS}
    rng = np.random.default_rng(0)
    answered = 0
    for _ in range(2000):
        body = _random_json(rng)
        if rng.integers(0, 3) == 0 and isinstance(body, dict):
            body["instances"] = [[float(v) for v in rng.normal(size=3)] for _ in range(rng.integers(1, 3))]
        try:
            request = parse_body(json.dumps(body).encode())
            request_tensors(request, pick_signature(request, signatures), Limits())
            answered += 1
        except RestError as err:
            assert 400 <= err.status < 500
    assert answered > 0
