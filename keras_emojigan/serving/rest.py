"""TF Serving's REST predict API, translated to and from a SavedModel signature's tensors.

TF Serving's rules (https://www.tensorflow.org/tfx/serving/api_rest), followed here so client
code written for it works unchanged:
- ``{"instances": [...]}`` is the row format: one element per instance, either a bare value
  (only for a signature with one input) or an object of named inputs, as the first element
  shows, whatever the number of inputs; all inputs share the batch dimension. The answer is
  ``{"predictions": [...]}``, one element per instance (a bare value for one output, else an
  object).
- ``{"inputs": ...}`` is the columnar format: a bare value for one input, else an object of
  named inputs, each a whole tensor. The answer is ``{"outputs": ...}``, the same way round.
- ``signature_name`` defaults to ``serving_default``; errors are ``{"error": "..."}``.
Nothing here knows about HTTP; ``RestError.status`` carries the status code to answer with.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass, field

import numpy as np

DEFAULT_SIGNATURE = "serving_default"


class RestError(Exception):
    """A request we refuse: ``status`` is the HTTP code, the message goes into ``{"error": ...}``."""

    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Limits:
    """What one request may ask for; every limit is answered with a 4xx naming the flag."""

    max_body_bytes: int = 8 << 20
    max_instances: int = 64
    max_count: int = 256  # the ``count`` input of emojigan's ``generate`` signature


@dataclass
class Signature:
    """A signature's name, input and output specs (``tf.TensorSpec``) and its function."""

    name: str
    inputs: dict
    outputs: dict
    function: object = field(repr=False)

    @classmethod
    def from_concrete_function(cls, name: str, function) -> Signature:
        _, kwargs = function.structured_input_signature
        return cls(name, dict(kwargs), dict(function.structured_outputs), function)


def parse_body(body: bytes) -> dict:
    try:
        request = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise RestError(f"JSON Parse error: {err}") from None
    except ValueError as err:  # e.g. an integer of more than 4,300 digits (Python's int limit)
        raise RestError(f"JSON Parse error: {err}") from None
    except RecursionError:
        raise RestError("JSON Parse error: the request nests too deeply") from None
    if not isinstance(request, dict):
        raise RestError("JSON Parse error: the request body must be a JSON object with 'instances' or 'inputs'")
    return request


def pick_signature(request: dict, signatures: dict) -> Signature:
    name = request.get("signature_name", DEFAULT_SIGNATURE)
    if not isinstance(name, str) or name not in signatures:
        raise RestError(f'Serving signature name: "{name}" not found in signature def; '
                        f"this model has {', '.join(sorted(signatures))}")
    return signatures[name]


def request_tensors(request: dict, signature: Signature, limits: Limits) -> tuple[dict, str]:
    """The named input arrays of a predict request, and its format (``row`` or ``columnar``)."""
    has_rows, has_columns = "instances" in request, "inputs" in request
    if has_rows == has_columns:
        raise RestError("the request needs exactly one of 'instances' (row format) or 'inputs' (columnar format)")
    names = list(signature.inputs)
    if has_rows:
        instances = request["instances"]
        if not isinstance(instances, list) or not instances:
            raise RestError("'instances' must be a non-empty list, one element per instance")
        if len(instances) > limits.max_instances:
            raise RestError(f"{len(instances)} instances in one request; this server takes at most "
                            f"{limits.max_instances} (--max-instances)", 413)
        if any(signature.inputs[name].shape.rank == 0 for name in names):
            raise RestError(f"signature '{signature.name}' takes unbatched inputs ({_describe(signature.inputs)}): "
                            "send them in the columnar format, {\"inputs\": {...}}")
        if not isinstance(instances[0], dict):
            if len(names) != 1:
                raise RestError(f"signature '{signature.name}' has several inputs: each instance must be an object "
                                f"with {', '.join(names)}")
            if any(isinstance(item, dict) for item in instances):
                raise RestError("instances mix bare values and objects: use one form for all")
            values = {names[0]: instances}
        else:
            if not all(isinstance(item, dict) for item in instances):
                raise RestError(f"signature '{signature.name}' has several inputs: each instance must be an object "
                                f"with {', '.join(names)}")
            unknown = sorted({key for item in instances for key in item} - set(names))
            if unknown:
                raise RestError(f"signature '{signature.name}' takes {_describe(signature.inputs)}; "
                                f"unknown input(s) {', '.join(unknown)}")
            missing = [name for name in names if any(item.get(name) is None for item in instances)]
            if missing:
                raise RestError(f"instances lack input(s) {', '.join(missing)}")
            values = {name: [item[name] for item in instances] for name in names}
    else:
        inputs = request["inputs"]
        if len(names) == 1 and not (isinstance(inputs, dict) and set(inputs) == {names[0]}):
            values = {names[0]: inputs}
        elif isinstance(inputs, dict):
            values = inputs
        else:
            raise RestError(f"signature '{signature.name}' has several inputs: 'inputs' must be an object with "
                            f"{', '.join(names)}")
    unknown, missing = sorted(set(values) - set(names)), sorted(set(names) - set(values))
    if unknown or missing:
        raise RestError(f"signature '{signature.name}' takes {_describe(signature.inputs)}; "
                        + "; ".join(filter(None, [unknown and f"unknown input(s) {', '.join(unknown)}",
                                                  missing and f"missing input(s) {', '.join(missing)}"])))
    arrays = {name: _to_array(name, values[name], signature.inputs[name]) for name in names}
    for name, array in arrays.items():
        if has_columns and array.ndim and signature.inputs[name].shape.rank and len(array) > limits.max_instances:
            raise RestError(f"input '{name}' holds {len(array)} instances; this server takes at most "
                            f"{limits.max_instances} (--max-instances)", 413)
    count = arrays.get("count")
    if count is not None and count.ndim == 0 and not 1 <= int(count) <= limits.max_count:
        raise RestError(f"count {int(count)}: ask for 1 to {limits.max_count} images per call (--max-count)")
    return arrays, "row" if has_rows else "columnar"


def _describe(specs: dict) -> str:
    return ", ".join(f"{name}: {spec.dtype.name} {_shape(spec)}" for name, spec in specs.items())


def _shape(spec) -> list:
    return [-1 if d is None else d for d in spec.shape.as_list()] if spec.shape.rank is not None else "?"


def _to_array(name: str, value, spec) -> np.ndarray:
    try:
        array = np.asarray(value)
    except RecursionError:
        raise RestError(f"input '{name}' nests too deeply (expected {spec.dtype.name} {_shape(spec)})") from None
    except ValueError:
        raise RestError(f"input '{name}' is ragged: every row must have the same length "
                        f"(expected {spec.dtype.name} {_shape(spec)})") from None
    dtype = np.dtype(spec.dtype.as_numpy_dtype)
    if array.dtype.kind not in "biuf" or array.size and array.dtype == bool and dtype.kind != "b":
        kinds = {"U": "text", "S": "bytes", "O": "mixed values", "b": "true/false"}
        got = kinds.get(array.dtype.kind, array.dtype.name)
        raise RestError(f"input '{name}' must hold numbers ({spec.dtype.name} {_shape(spec)}), got {got}")
    if dtype.kind in "iu":
        if array.dtype.kind == "f" and not np.all(np.mod(array, 1) == 0):
            raise RestError(f"input '{name}' is {spec.dtype.name}: it takes whole numbers")
        info = np.iinfo(dtype)
        if array.size and (array.min() < info.min or array.max() > info.max):
            raise RestError(f"input '{name}' is {spec.dtype.name}: values must lie in [{info.min}, {info.max}]")
    elif dtype.kind == "f" and array.size and not np.all(np.isfinite(array.astype(np.float64))):
        raise RestError(f"input '{name}' holds NaN or infinity")
    with np.errstate(over="ignore"):
        array = array.astype(dtype)
    if dtype.kind == "f" and array.size and not np.all(np.isfinite(array)):
        raise RestError(f"input '{name}' is {spec.dtype.name}: a value is too large for it "
                        f"(largest: {np.finfo(dtype).max:.4g})")
    if not spec.shape.is_compatible_with(array.shape):
        raise RestError(f"input '{name}' has shape {list(array.shape)}; signature expects {_shape(spec)} "
                        f"({spec.dtype.name})")
    return array


def response_json(outputs: dict, layout: str) -> bytes:
    """TF Serving's answer for ``outputs`` (name -> array) in the request's format, as JSON bytes.
    Numbers are written by TensorFlow's string ops in a graph, a block of rows at a time, floats
    with the digits that give each value back exactly (9 significant for float32, 17 for float64):
    a 256-image answer is 3 million numbers, and ``json.dumps`` of them holds the GIL, so the
    server's event loop, for seconds; a graph releases it."""
    names = list(outputs)
    if layout == "columnar":
        key = b"outputs"
        value = _array(outputs[names[0]]) if len(names) == 1 else _object({n: _array(outputs[n]) for n in names})
    elif len(names) == 1:
        key, value = b"predictions", _array(outputs[names[0]])
    else:
        batch = len(next(iter(outputs.values())))
        key = b"predictions"
        value = b"[" + b", ".join(_object({n: _array(outputs[n][i]) for n in names}) for i in range(batch)) + b"]"
    return b'{"' + key + b'": ' + value + b"}"


NUMBERS_PER_BLOCK = 1 << 18  # a block's strings take ~40 bytes a number while they are formatted


def _array(array) -> bytes:
    array = np.asarray(array)
    if array.dtype.kind not in "iuf" or array.ndim == 0:
        return json.dumps(array.tolist()).encode()
    row = max(1, array[0].size if len(array) else 1)
    step = max(1, NUMBERS_PER_BLOCK // row)
    blocks = [_numbers_text(array[start:start + step])[1:-1] for start in range(0, len(array), step)]
    return b"[" + b", ".join(block for block in blocks if block) + b"]"


def _numbers_text(array: np.ndarray) -> bytes:
    """``array`` (integers or floats, at least 1-D) as JSON nested lists, NaN and Infinity written as
    ``json.dumps`` writes them. TensorFlow flushes subnormal floats to zero, so a block with any is
    left to ``json.dumps``."""
    if array.dtype.kind == "f":
        magnitude = np.abs(array)
        if np.any((magnitude > 0) & (magnitude < np.finfo(array.dtype).tiny)):
            return json.dumps(array.tolist()).encode()
    return _formatter(array.ndim, array.dtype.name)(array).numpy()


@functools.cache
def _formatter(ndim: int, dtype: str):
    """A graph function per rank and dtype: a graph runs without the GIL."""
    import tensorflow as tf

    floats = dtype.startswith("float")
    digits = 17 if dtype == "float64" else 9

    @tf.function(input_signature=[tf.TensorSpec([None] * ndim, dtype)])
    def format_json(values):
        if not floats:
            text = tf.strings.as_string(values)
        else:
            text = tf.strings.as_string(values, precision=digits, shortest=True)
            text = tf.where(tf.math.is_nan(values), "NaN", text)
            text = tf.where(tf.math.is_inf(values), tf.where(values > 0, "Infinity", "-Infinity"), text)
        for _ in range(ndim):
            text = "[" + tf.strings.reduce_join(text, axis=-1, separator=", ") + "]"
        return text

    return format_json


def _object(members: dict) -> bytes:
    return b"{" + b", ".join(json.dumps(name).encode() + b": " + value for name, value in members.items()) + b"}"
