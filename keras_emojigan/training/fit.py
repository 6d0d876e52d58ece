"""`emojigan fit`: build everything from a TrainConfig, train with Keras fit, write the run dir
(its layout: ``rundir.py``). Every check that can refuse a request runs before anything is
written; a killed run resumes from its last checkpoint."""

from __future__ import annotations

import contextlib
import json
import time
from pathlib import Path

import keras
import tensorflow as tf

from keras_emojigan.config import ConfigError, TrainConfig
from keras_emojigan.data.pipeline import check_batch_size, training_stream
from keras_emojigan.data.sources import load_images
from keras_emojigan.filelock import exclusive
from keras_emojigan.models.gan import EmojiGAN
from keras_emojigan.models.terms import ClassGuide
from keras_emojigan.training.callbacks import Checkpoints, EpochRecorder, Evaluator, SampleWriter
from keras_emojigan.training.history import HISTORY, best_row, epoch_seconds, read_history, truncate_history
from keras_emojigan.training.instability import InstabilityTracker
from keras_emojigan.training.rundir import (
    CLASS_GUIDE,
    CLASSES,
    CONFIG,
    SUMMARY,
    build_from_config,
    check_config,
    open_checkpoints,
    write_json,
)
from keras_emojigan.training.strategies import is_chief, make_strategy, task_id


class TrainingDiverged(RuntimeError):
    """A loss became NaN or infinite; the last good checkpoint is kept."""


def check_classes(config: TrainConfig, image_set) -> list[str]:
    """The data source's classes for a conditional run; a source without labels is refused."""
    if not config.conditional:
        return []
    names = list(image_set.class_names)
    if len(names) < 2:
        raise ConfigError(f"conditional=True: the data source {config.data} has no classes ({len(names)} class: "
                          f"{', '.join(names)}); give a folder with one sub-folder per class, or an .npz with "
                          "'labels' and 'class_names'")
    return names


def _fit_class_guide(gan: EmojiGAN, image_set, class_names, config: TrainConfig, run_dir: Path, log) -> None:
    """Fit the fixed class guide on the real images (its head; with class_guide_robust, then all of
    it, adversarially); record its held-out accuracy."""
    from keras_emojigan.models.class_guide import fit_class_guide

    if config.class_guide_robust > 0:
        log(f"class guide: adversarial fine-tuning, radius {config.class_guide_robust:g} pixel levels")
    fitted = fit_class_guide(gan.part(ClassGuide).guide, image_set.images, image_set.labels, class_names,
                             seed=config.seed, robust=config.class_guide_robust,
                             robust_epochs=config.class_guide_robust_epochs)
    write_json(run_dir / CLASS_GUIDE, fitted)
    prefix = "robust_" if config.class_guide_robust > 0 else "probe_"
    per_class = ", ".join(f"{name} {value:.1%}" for name, value in fitted[prefix + "heldout_class_accuracy"].items())
    log(f"class guide: {fitted[prefix + 'heldout_accuracy']:.1%} on {fitted['probe_heldout_images']} held-out real "
        f"images ({per_class})"
        + (f"; {fitted['robust_heldout_attacked_accuracy']:.1%} under attack" if prefix == "robust_" else ""))


RESUMABLE = ("epochs", "stop_on_collapse", "inception_weights", "lr")  # may change when a run resumes
OVERRIDES = "overrides.jsonl"  # in the run dir: one line per resume that changed a field a run may change


def _prepare_run_dir(config: TrainConfig, run_dir: Path) -> dict:
    """Write the run's config; a resumed run may change only RESUMABLE fields. Returns the changed
    fields that change training ({field: [in the run, requested]}; epochs and the like are not)."""
    run_dir.mkdir(parents=True, exist_ok=True)
    changed = {}
    if (run_dir / CONFIG).exists():
        saved = TrainConfig.load(run_dir / CONFIG)
        differences = saved.differences(config, ignore=RESUMABLE)
        if differences:
            raise ConfigError(f"{run_dir} holds a run with a different configuration:\n  "
                              + "\n  ".join(differences)
                              + f"\nResume with the run's own settings (only {', '.join(RESUMABLE)} may change) "
                              "or start a new --run-dir.")
        changed = {k: [getattr(saved, k), v] for k, v in config.changed_from(saved).items() if k == "lr"}
    config.save(run_dir / CONFIG)
    return changed


def _record_overrides(run_dir: Path, changed: dict, epoch: int, log) -> None:
    """Append what a resume changed to RUN_DIR/overrides.jsonl (the run's history of overrides)."""
    if not changed:
        return
    with open(run_dir / OVERRIDES, "a") as fh:
        fh.write(json.dumps({"from_epoch": epoch, "time": time.strftime("%Y-%m-%dT%H:%M:%S"), **changed}) + "\n")
    log("resuming with " + ", ".join(f"{k} {old:g} -> {new:g}" for k, (old, new) in changed.items())
        + f" from epoch {epoch} (recorded in {run_dir / OVERRIDES})")


LOCK = ".lock"  # in the run dir: held while a process trains it (filelock.py)


def fit(config: TrainConfig, run_dir: Path, *, callbacks=(), verbose="auto", log=print,
        strategy: str = "default") -> dict:
    """Train (or resume) the run in ``run_dir``; return its summary. Raises TrainingDiverged.

    ``strategy`` (``strategies.py``) may change between a run and its resume: checkpoints
    hold plain values. ``config.batch_size`` is the global batch. One process at a time trains
    a run dir: a second is refused (its epochs would interleave with the first's)."""
    with contextlib.ExitStack() as held:
        return _fit(config, run_dir, held, callbacks=callbacks, verbose=verbose, log=log, strategy=strategy)


def _fit(config, run_dir, held: contextlib.ExitStack, *, callbacks, verbose, log, strategy) -> dict:
    check_config(config)
    distribution = make_strategy(strategy)
    replicas = distribution.num_replicas_in_sync
    if config.batch_size % replicas:
        raise ConfigError(f"batch_size={config.batch_size} does not split over {replicas} replicas: "
                          f"use a multiple of {replicas}")
    run_dir = Path(run_dir)
    if not is_chief(distribution):  # every worker saves (a collective); only the chief's files count
        run_dir = run_dir / "workers" / str(task_id(distribution))
    started = time.time()
    # Every check that can refuse the request runs before the run dir is written, so a corrected
    # command is not refused as "a different configuration" of a run that never started.
    image_set = load_images(config.data, config.resolution)
    check_batch_size(config.batch_size, len(image_set))
    if config.eval_every and len(image_set) < 2:
        raise ConfigError(f"{config.data} holds {len(image_set)} image: the per-epoch evaluation needs at least 2 "
                          "real images; add images, or train without it (--eval-every 0)")
    class_names = check_classes(config, image_set)
    extractor = _extractor(config) if config.eval_every else None
    source = None
    if config.init_from and not (run_dir / CONFIG).exists():  # a fresh run starts from another model's weights
        from keras_emojigan.training.transfer import load_source

        source = load_source(Path(config.init_from))
    held.enter_context(exclusive(run_dir / LOCK, f"run dir {run_dir}"))
    changed = _prepare_run_dir(config, run_dir)
    if class_names:
        write_json(run_dir / CLASSES, {"class_names": class_names})
    with distribution.scope():
        gan = build_from_config(config, sync_batch_norm=replicas > 1, num_classes=len(class_names))
        manager, best_manager, epoch_variable = open_checkpoints(gan, run_dir, log=log)
    if replicas > 1:
        log(f"{strategy} strategy: {replicas} replicas, {config.batch_size // replicas} images each per step")
    initial_epoch = int(epoch_variable.numpy())
    for optimizer in (gan.g_optimizer, gan.d_optimizer):  # a checkpoint restores the rate it was saved with
        optimizer.learning_rate.assign(config.lr)
    _record_overrides(run_dir, changed, initial_epoch, log)
    if source is not None and initial_epoch == 0:
        from keras_emojigan.training.transfer import REPORT, init_from

        try:
            write_json(run_dir / REPORT, init_from(gan, source, log, name=config.init_from))
        except ConfigError:
            (run_dir / CONFIG).unlink()  # the run never started: a corrected --init-from is not "a different run"
            raise
    if gan.part(ClassGuide) is not None and initial_epoch == 0:  # a resumed run's guide comes from its checkpoint
        _fit_class_guide(gan, image_set, class_names, config, run_dir, log)
    truncate_history(run_dir, before=initial_epoch)
    rows = read_history(run_dir)
    tracker = InstabilityTracker.replay(rows)
    log(f"TensorBoard: tensorboard --logdir {run_dir / 'logs'}")
    if initial_epoch:
        log(f"resuming {run_dir} at epoch {initial_epoch} of {config.epochs}")
    log_dir = run_dir / "logs"
    recorder = EpochRecorder(
        tracker, run_dir / HISTORY,
        Checkpoints(manager, best_manager, epoch_variable, best_row(rows)),
        samples=SampleWriter(run_dir / "samples", log_dir, config.sample_count, config.seed),
        evaluator=Evaluator(config.eval_every, config.eval_samples, config.seed, image_set.images, extractor)
        if extractor else None,
        stop_on_collapse=config.stop_on_collapse)

    def stopped_on_collapse():
        return config.stop_on_collapse and tracker.first_unstable_epoch is not None

    if initial_epoch < config.epochs and not stopped_on_collapse():
        steps = len(image_set) // config.batch_size
        stream = training_stream(image_set.images, config.batch_size, seed=config.seed,
                                 first_epoch=initial_epoch, epochs=config.epochs,
                                 labels=image_set.labels if class_names else None, xflip=config.xflip)
        if initial_epoch == 0:
            _write_hparams(log_dir, config)
        all_callbacks = [  # the recorder fills the epoch's logs, which TensorBoard then writes
            recorder,
            keras.callbacks.TensorBoard(str(log_dir), update_freq=1, write_graph=False, profile_batch=0),
            *callbacks,
        ]
        gan.fit(stream, epochs=config.epochs, initial_epoch=initial_epoch, steps_per_epoch=steps,
                callbacks=all_callbacks, verbose=verbose, shuffle=False)
    status = "diverged" if recorder.diverged else "stopped_on_collapse" if stopped_on_collapse() else "finished"
    epochs_done = int(epoch_variable.numpy())
    if status != "diverged":
        # The weights are those of the last checkpoint: it is written at the end of the last epoch.
        from keras_emojigan.models.savedmodel import export_saved_model

        export_saved_model(gan, run_dir / "saved_model",
                           {"model": config.model, "epochs": epochs_done, "config": config.to_dict(),
                            **({"class_names": class_names} if class_names else {})})
        gan.save(run_dir / "gan.keras")
    summary = _summary(run_dir, config, status, epochs_done, tracker, time.time() - started, recorder.diverged,
                       extractor.name if extractor else None)
    summary["strategy"], summary["replicas"] = strategy, replicas
    write_json(run_dir / SUMMARY, summary)
    if status == "diverged":
        if epochs_done == 0:
            raise TrainingDiverged(f"training diverged: {recorder.diverged}, before any epoch finished, so there is "
                                   f"no checkpoint to resume; run again with a lower --lr and the same --run-dir "
                                   f"({run_dir}): it starts again")
        raise TrainingDiverged(f"training diverged: {recorder.diverged}. The last good checkpoint, after "
                               f"{epochs_done} epoch(s) (history.csv's epoch {epochs_done - 1}), is kept in "
                               f"{run_dir / 'checkpoints'}; resume it with a lower --lr and the same --run-dir "
                               f"(the change is recorded in {run_dir / OVERRIDES})")
    return summary


def _summary(run_dir, config, status, epochs_done, tracker, seconds, diverged, extractor) -> dict:
    truncate_history(run_dir, before=epochs_done)
    rows = read_history(run_dir)
    previous = json.loads((run_dir / SUMMARY).read_text()) if (run_dir / SUMMARY).exists() else {}
    last = {k: v for k, v in rows[-1].items() if k != "epoch" and v is not None} if rows else {}
    best = best_row(rows) or {}
    return {
        "best_fid_epoch": best.get("epoch"),
        "best_fid": best.get("fid"),
        "best_recall": best.get("recall"),
        "best_near_duplicate_share": best.get("near_duplicate_share"),
        "extractor": extractor or previous.get("extractor"),  # a resumed run that trained no more
        "status": status,
        "model": config.model,
        "preset": config.preset,
        "epochs_done": epochs_done,
        "epochs": config.epochs,
        "first_unstable_epoch": tracker.first_unstable_epoch,
        "last_epoch": last,
        "diverged": diverged,
        "wall_seconds": round(previous.get("wall_seconds", 0.0) + seconds, 1),  # of the calls that ended
        "epoch_seconds": epoch_seconds(rows),
        "saved_model": str(run_dir / "saved_model") if status != "diverged" else None,
    }


def _extractor(config: TrainConfig):
    from keras_emojigan.metrics.extractors import ExtractorUnavailable, get_extractor

    try:
        return get_extractor(config.extractor, inception_weights=config.inception_weights or None)
    except ExtractorUnavailable as err:
        raise ConfigError(f"extractor={config.extractor!r}: {err}") from None


def _write_hparams(log_dir: Path, config: TrainConfig) -> None:
    from tensorboard.plugins.hparams import api as hp

    writer = tf.summary.create_file_writer(str(log_dir / "hparams"))
    values = {k: v for k, v in config.to_dict().items() if isinstance(v, (int, float, str, bool))}
    with writer.as_default():
        hp.hparams(values, trial_id=str(log_dir.parent.name))
    writer.flush()
