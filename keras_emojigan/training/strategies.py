"""tf.distribute strategies for `emojigan fit --strategy`: TensorFlow's own, nothing home-made.

- ``default``: one device (TensorFlow's default strategy).
- ``mirrored``: ``MirroredStrategy`` over this machine's GPUs (or, when there are none, its
  logical CPUs: tests split the CPU in two with ``tf.config.set_logical_device_configuration``).
- ``multiworker``: ``MultiWorkerMirroredStrategy``; every worker runs the same command with
  ``TF_CONFIG`` naming the cluster and its own task. Worker 0 (the chief) writes the run dir;
  the others write theirs to ``RUN_DIR/workers/N``. Every worker checkpoints and exports
  (TensorFlow's pattern: saving is collective, every worker must take part) and evaluates (the
  best-FID checkpoint is a save too, so the decision must be the same on all of them); only the
  chief's files are the run's.
The batch size is the global batch: each of R replicas gets batch / R images.
``EMOJIGAN_CPU_REPLICAS=N`` splits the CPU into N logical devices before TensorFlow starts, so
``mirrored`` can be tried (and is tested) on a machine without GPUs.
"""

from __future__ import annotations

import json
import os
from typing import TYPE_CHECKING

from keras_emojigan.config import STRATEGIES
from keras_emojigan.errors import UserInputError

if TYPE_CHECKING:
    import tensorflow as tf


class StrategyError(UserInputError):
    """A strategy that cannot run here, with what to do about it."""


def split_cpu(replicas: int) -> None:
    """N logical CPU devices (must run before TensorFlow initialises its devices)."""
    import tensorflow as tf

    cpu = tf.config.list_physical_devices("CPU")[0]
    try:
        tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * replicas)
    except RuntimeError as err:
        if len(tf.config.list_logical_devices("CPU")) == replicas:
            return  # split already (an earlier fit in this process)
        raise StrategyError(f"EMOJIGAN_CPU_REPLICAS={replicas}: TensorFlow had already started ({err}); "
                            "set it in the environment of a new process") from None


def make_strategy(name: str) -> tf.distribute.Strategy:
    import tensorflow as tf

    cpu_replicas = int(os.environ.get("EMOJIGAN_CPU_REPLICAS", "0") or 0)
    if cpu_replicas > 1:
        split_cpu(cpu_replicas)
    if name == "default":
        return tf.distribute.get_strategy()
    if name == "mirrored":
        gpus = tf.config.list_logical_devices("GPU")
        devices = [d.name for d in gpus] or [d.name for d in tf.config.list_logical_devices("CPU")]
        return tf.distribute.MirroredStrategy(devices)
    if name == "multiworker":
        cluster = json.loads(os.environ.get("TF_CONFIG", "{}")).get("cluster", {})
        if not cluster:
            raise StrategyError("--strategy multiworker needs TF_CONFIG with the cluster and this worker's task, e.g. "
                                'TF_CONFIG=\'{"cluster": {"worker": ["host1:12345", "host2:12345"]}, '
                                '"task": {"type": "worker", "index": 0}}\'')
        return tf.distribute.MultiWorkerMirroredStrategy()
    raise StrategyError(f"unknown strategy {name!r}: use one of {', '.join(STRATEGIES)}")


def is_chief(strategy: tf.distribute.Strategy) -> bool:
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None or not resolver.cluster_spec().as_dict():
        return True
    return resolver.task_type == "chief" or (resolver.task_type == "worker" and resolver.task_id == 0
                                             and "chief" not in resolver.cluster_spec().as_dict())


def task_id(strategy: tf.distribute.Strategy) -> int:
    resolver = getattr(strategy, "cluster_resolver", None)
    return int(resolver.task_id) if resolver is not None and resolver.task_id is not None else 0
