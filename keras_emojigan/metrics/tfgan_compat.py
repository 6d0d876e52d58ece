"""The one place that imports TF-GAN: its eval functions, without its package ``__init__``.

``import tensorflow_gan`` fails on TF >= 2.16: the package ``__init__`` imports its estimator
code and ``tf.estimator`` is gone (upstream tensorflow/gan#55). Its ``python/eval``
sub-package does not need it. We register empty module objects for ``tensorflow_gan`` and
``tensorflow_gan.python`` (with their real ``__path__``) and import only the eval
sub-package, so ``frechet_classifier_distance_from_activations``,
``classifier_score_from_logits`` and ``kernel_classifier_distance_and_std_from_activations``
are TF-GAN's own code, unmodified. If ``tensorflow_gan`` already imported normally (an older
TF), that module is used as it is.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
import types
import warnings


def _load_eval():
    if "tensorflow_gan" in sys.modules and hasattr(sys.modules["tensorflow_gan"], "eval"):
        return sys.modules["tensorflow_gan"].eval
    spec = importlib.util.find_spec("tensorflow_gan")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError("tensorflow-gan is not installed: pip install 'tensorflow-gan==2.1.*'")
    package_dir = list(spec.submodule_search_locations)[0]
    for name, path in (("tensorflow_gan", package_dir), ("tensorflow_gan.python", f"{package_dir}/python")):
        if name not in sys.modules:
            module = types.ModuleType(name)
            module.__path__ = [path]
            sys.modules[name] = module
    with warnings.catch_warnings():  # tensorflow-hub (imported by the eval code) warns that pkg_resources is deprecated
        warnings.filterwarnings("ignore", message="pkg_resources is deprecated", category=UserWarning)
        return importlib.import_module("tensorflow_gan.python.eval")


tfgan_eval = _load_eval()
frechet_classifier_distance_from_activations = tfgan_eval.frechet_classifier_distance_from_activations
classifier_score_from_logits = tfgan_eval.classifier_score_from_logits
kernel_classifier_distance_and_std_from_activations = tfgan_eval.kernel_classifier_distance_and_std_from_activations
