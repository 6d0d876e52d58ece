"""Op categories for reading a TensorFlow profile (``profile_train_step.py --ops``) beside a
PyTorch one (``peer_torch_dcgan.py --profile``): both frameworks' op names mapped to the same
few kinds of work. No imports, so either framework's Python can use it."""

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
