"""keras_emojigan: GANs for small image sets (emoji first) in TensorFlow / Keras 3.

TensorFlow is imported lazily: ``keras_emojigan.data.sources`` and the CLI's data commands
work with NumPy and Pillow alone.

TensorFlow turns its oneDNN convolutions on by default only on CPUs with AVX512-VNNI or newer;
on an AVX2 CPU (AMD EPYC here) it falls back to Eigen, and our training step ran 2x slower
(``scripts/benchmarks/bench_train.py --onednn 0,1``). So, unless the user chose otherwise, we ask for
oneDNN here, which must happen before TensorFlow is first imported: import
``keras_emojigan`` before ``tensorflow`` to get it in your own scripts.
"""

import os

os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")

__version__ = "0.1.0"
