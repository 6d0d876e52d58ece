"""Op categories for reading a TensorFlow profile (``profile_train_step.py --ops``) beside a
PyTorch one (``peer_torch_dcgan.py --profile``): both frameworks' op names mapped to the same
few kinds of work, and the lines both print. Only the standard library, so either framework's
Python can use it."""

import json

# (category, lower-case substrings of TensorFlow op types or PyTorch aten ops); first match wins
CATEGORIES = (
    ("conv backward (weights)", ("backpropfilter", "convolution_backward_weight", "weight_grad")),
    ("conv backward (input)", ("backpropinput", "convolution_backward_input", "input_grad")),
    ("conv backward", ("convolution_backward",)),
    ("conv forward", ("conv2d", "convolution", "conv_transpose", "_conv")),
    ("batch norm", ("batchnorm", "batch_norm", "moments", "fusedbatchnorm")),
    ("cast / layout", ("cast", "_to_copy", "copy_", "transpose", "contiguous", "clone")),
    ("optimizer", ("applyadam", "resourceapply", "adam", "assignvariable", "assignadd", "assignsub",
                   "lerp", "addcdiv", "addcmul", "_foreach", "sqrt", "readvariable")),
    ("random", ("random", "randn", "normal_")),
    ("activation", ("relu", "tanh", "sigmoid", "leaky", "elu", "threshold")),
    ("loss / reduction", ("binary_cross", "softplus", "log", "mean", "sum", "reduce")),
)


def op_category(name: str) -> str:
    """The category of a TensorFlow op type or a PyTorch aten op (``CATEGORIES``), else ``other``
    (elementwise arithmetic, reshapes, dispatch)."""
    lowered = name.lower()
    for category, keys in CATEGORIES:
        if any(key in lowered for key in keys):
            return category
    return "other"


def print_ops_and_categories(ms_per_step: dict[str, float], shown_from: float = 0.2) -> None:
    """JSON lines: each op with at least ``shown_from`` self ms per step, slowest first, then
    every category's ms per step and share of the ops' total."""
    total = sum(ms_per_step.values())
    categories: dict[str, float] = {}
    for op, ms in sorted(ms_per_step.items(), key=lambda kv: -kv[1]):
        categories[op_category(op)] = categories.get(op_category(op), 0.0) + ms
        if ms >= shown_from:
            print(json.dumps({"op": op, "category": op_category(op), "ms": round(ms, 2)}), flush=True)
    for category, ms in sorted(categories.items(), key=lambda kv: -kv[1]):
        print(json.dumps({"category": category, "ms": round(ms, 1), "share": round(ms / total, 3)}), flush=True)
