"""TF Serving's REST rules for signatures with several inputs and outputs (our exports have one
batched input; TF Serving's documented examples have several)."""

import numpy as np
import pytest
import tensorflow as tf

from keras_emojigan.serving.rest import Limits, RestError, Signature, request_tensors, response_body

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
    assert response_body(outputs, "row") == {"predictions": [{"y": 1.0, "z": [1, 2]}, {"y": 2.0, "z": [3, 4]}]}
    assert response_body(outputs, "columnar") == {"outputs": {"y": [1.0, 2.0], "z": [[1, 2], [3, 4]]}}
