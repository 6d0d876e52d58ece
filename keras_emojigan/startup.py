"""TensorFlow's start-up lines, filtered out of the command line's stderr.

On a CPU machine every TensorFlow start prints, from C++ and before its logging is set up (so
``TF_CPP_MIN_LOG_LEVEL`` does not hide them): the oneDNN banner twice, "Could not find cuda
drivers" twice, a CPU-feature note, and "E0000 ... failed call to cuInit" when devices are
listed. They say nothing a user can act on. ``start_tensorflow`` imports TensorFlow and lists
its devices with file descriptor 2 sent to a temporary file, then writes back every line that
is not one of those. ``TF_CPP_MIN_LOG_LEVEL=0`` keeps them all.
"""

from __future__ import annotations

import os
import re
import sys
import tempfile

NOISE = re.compile(
    r"All log messages before absl::InitializeLog\(\) is called are written to STDERR"
    r"|oneDNN custom operations are on"
    r"|Could not find cuda drivers on your machine"
    r"|failed call to cuInit"
    r"|This TensorFlow binary is optimized to use available CPU instructions"
    r"|^To enable the following instructions:"
    r"|Unable to register cu(DNN|FFT|BLAS) factory"
    r"|computation placer already registered")


def start_tensorflow() -> None:
    """Import TensorFlow and initialise its devices, without the start-up noise on stderr."""
    if "tensorflow" in sys.modules or os.environ.get("TF_CPP_MIN_LOG_LEVEL") == "0":
        return
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile(mode="w+b") as captured:
        os.dup2(captured.fileno(), 2)
        try:
            import tensorflow as tf

            tf.config.list_physical_devices()
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            captured.seek(0)
            kept = [line for line in captured.read().decode(errors="replace").splitlines(keepends=True)
                    if not NOISE.search(line)]
            sys.stderr.write("".join(kept))
            sys.stderr.flush()
