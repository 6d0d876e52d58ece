"""Keras' global precision policy for one block of code, restored after it.

Why: a Keras layer takes the global policy it is constructed under and keeps it, so setting the
policy for the whole process (``keras.mixed_precision.set_global_policy``) leaks into everything
built later in it: after a ``mixed_bfloat16`` training run, a feature extractor or a user's own
model would silently compute in bfloat16. Networks are built inside ``policy_scope`` instead;
once built they keep their policy, whatever the global one is afterwards.
"""

from __future__ import annotations

import contextlib

import keras


@contextlib.contextmanager
def policy_scope(policy: str):
    """Set the global policy to ``policy`` (a Keras policy name: float32, mixed_bfloat16, ...) for the
    block and restore the previous one on leaving it, also when the block raises."""
    previous = keras.mixed_precision.global_policy()
    keras.mixed_precision.set_global_policy(policy)
    try:
        yield
    finally:
        keras.mixed_precision.set_global_policy(previous)
