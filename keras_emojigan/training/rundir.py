"""A run directory, as everything after training reads it: its config, its classes, its
checkpoints, and the GAN restored from them (export, compare, the scripts and fit itself).

RUN_DIR/
  config.json        the run's TrainConfig (resuming compares against it)
  logs/              TensorBoard: losses per step and epoch, D(x), D(G(z)), collapse, samples, hparams
  samples/           epoch_NNNN.png, the same fixed latents every epoch
  history.csv        one row per finished epoch (``history.py``)
  checkpoints/       tf.train checkpoints: networks, EMA, both optimizers, RNG step, epoch
  checkpoints/best/  the best evaluated epoch's checkpoint (``history.selection_key``)
  saved_model/       the generator as a SavedModel (at the end)
  gan.keras          the whole GAN as a Keras file, for fine-tuning (at the end)
  summary.json       status, epochs, final metrics, first unstable epoch, wall time
  classes.json       a conditional run's class names (class_guide.json: its class guide's accuracy)
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import keras
import tensorflow as tf

from keras_emojigan.config import ConfigError, TrainConfig
from keras_emojigan.models.gan import EmojiGAN, build_gan, check_options
from keras_emojigan.models.policy_scope import policy_scope
from keras_emojigan.training.fused_adam import FusedAdam
from keras_emojigan.training.precision import resolve_precision

SUMMARY, CONFIG = "summary.json", "config.json"
CLASSES, CLASS_GUIDE = "classes.json", "class_guide.json"


def check_config(config: TrainConfig) -> TrainConfig:
    """Refuse a config that cannot be trained, before any work: its fields
    (``TrainConfig.validate``), then the GAN's options against the networks and parts they choose
    (``models.gan.check_options``). Every rule lives in one of those two places."""
    config.validate()
    check_options(config.gan_options(), config.conditional)
    return config


def build_from_config(config: TrainConfig, *, sync_batch_norm: bool = False, num_classes: int = 0) -> EmojiGAN:
    """The compiled GAN of ``config``: seed, networks and both Adam optimizers (``FusedAdam``:
    Keras' Adam, one op per variable), built in its precision (``auto`` resolved on this CPU). The
    networks keep that precision; the process's global policy is left as it was."""
    keras.utils.set_random_seed(config.seed)
    with policy_scope(resolve_precision(config.precision)):
        gan = build_gan(config.gan_options(), sync_batch_norm=sync_batch_norm,
                        num_classes=num_classes if config.conditional else 0)
        gan.compile(FusedAdam(config.lr, config.beta1, config.beta2, name="g_adam"),
                    FusedAdam(config.lr, config.beta1, config.beta2, name="d_adam"))
    return gan


def open_checkpoints(gan: EmojiGAN, run_dir: Path, *, best: bool = False, log=None):
    """The run's checkpoint managers (latest, best), restored from the newest (or best) checkpoint
    that loads. Checkpoints are found by their files (``ckpt-N.index``), so a lost or stale index
    file loses nothing; a checkpoint that does not load (truncated, corrupted, missing data) is
    skipped for the one before it, with a line to ``log`` (stderr by default) naming it and why.
    If none loads, a ConfigError says so: never a silent start from epoch 0."""
    log = log or (lambda message: print(message, file=sys.stderr))
    epoch = tf.Variable(0, dtype=tf.int64, trainable=False, name="epoch")
    checkpoint = tf.train.Checkpoint(gan=gan, g_optimizer=gan.g_optimizer, d_optimizer=gan.d_optimizer,
                                     epoch=epoch)
    manager = tf.train.CheckpointManager(checkpoint, str(run_dir / "checkpoints"), max_to_keep=3)
    best_manager = tf.train.CheckpointManager(checkpoint, str(run_dir / "checkpoints" / "best"), max_to_keep=1)
    folder = Path(run_dir) / "checkpoints" / ("best" if best else "")
    skipped = []
    for prefix in checkpoint_files(folder):
        try:
            checkpoint.restore(str(prefix)).assert_existing_objects_matched()
        except (tf.errors.OpError, ValueError, AssertionError, IndexError) as err:
            reason = str(err).strip().splitlines()[0][:200] if str(err).strip() else type(err).__name__
            skipped.append(f"{prefix.name}: {type(err).__name__}: {reason}")
            continue
        for line in skipped:
            log(f"skipped a checkpoint that does not load, {line}; using {prefix.name}")
        return manager, best_manager, epoch
    if skipped:
        raise ConfigError(f"no checkpoint in {folder} loads ({'; '.join(skipped)}): move the folder away to "
                          "start again, or restore its files from a copy")
    return manager, best_manager, epoch


def checkpoint_files(folder: Path) -> list[Path]:
    """The checkpoint prefixes in ``folder`` (``ckpt-N`` with a ``ckpt-N.index``), newest first."""
    numbered = ((re.fullmatch(r"ckpt-([0-9]+)\.index", p.name), p) for p in Path(folder).glob("ckpt-*.index"))
    return [p.with_suffix("") for match, p in sorted(((m, p) for m, p in numbered if m),
                                                     key=lambda item: -int(item[0][1]))]


def restore_gan(run_dir: Path, *, best: bool = False) -> tuple[EmojiGAN, TrainConfig, int]:
    """The GAN of a run dir at its latest (or best) checkpoint, with its config and epoch."""
    run_dir = Path(run_dir)
    if not (run_dir / CONFIG).exists():
        raise ConfigError(f"{run_dir} is not a run dir (no {CONFIG}): give the --run-dir of an `emojigan fit`")
    config = TrainConfig.load(run_dir / CONFIG)
    gan = build_from_config(config, num_classes=len(run_classes(run_dir)))
    _, _, epoch = open_checkpoints(gan, run_dir, best=best)
    if int(epoch.numpy()) == 0:
        if best:
            raise ConfigError(f"{run_dir} has no best checkpoint: no epoch has been evaluated yet (this run "
                              f"evaluates every {config.eval_every} epochs; 0: never); use the latest checkpoint "
                              "(leave out --best, or ship with --checkpoint last), or train on")
        raise ConfigError(f"{run_dir} has no checkpoint yet: let `emojigan fit` finish an epoch first")
    return gan, config, int(epoch.numpy())


def run_classes(run_dir: Path) -> list[str]:
    """The class names a conditional run trained on (``classes.json``), [] for an unconditional run."""
    path = Path(run_dir) / CLASSES
    return json.loads(path.read_text())["class_names"] if path.exists() else []


def write_json(path: Path, values: dict) -> None:
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(values, indent=2) + "\n")
    tmp.replace(path)
