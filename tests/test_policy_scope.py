"""policy_scope: the global precision policy inside a block only, restored even when it raises."""

import keras
import pytest

from keras_emojigan.models.policy_scope import policy_scope


def test_the_policy_holds_inside_the_block_and_is_restored_after_it():
    assert keras.mixed_precision.global_policy().name == "float32"
    with policy_scope("mixed_bfloat16"):
        inside = keras.layers.Dense(2)
        with policy_scope("float32"):
            nested = keras.layers.Dense(2)
        assert keras.mixed_precision.global_policy().name == "mixed_bfloat16"
    after = keras.layers.Dense(2)
    assert (inside.dtype_policy.name, nested.dtype_policy.name, after.dtype_policy.name) == (
        "mixed_bfloat16", "float32", "float32")
    with pytest.raises(RuntimeError), policy_scope("mixed_bfloat16"):
        raise RuntimeError("a failed build")
    assert keras.mixed_precision.global_policy().name == "float32"
