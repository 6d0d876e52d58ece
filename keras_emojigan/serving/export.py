"""TF Serving's layout for exported generators: ``saved_models/NAME/VERSION/``, numeric and
immutable versions, and the export of a run dir into it (the SavedModel itself is written by
``models/savedmodel.py``)."""

from __future__ import annotations

import contextlib
import json
import re
import shutil
from pathlib import Path

from keras_emojigan.errors import UserInputError
from keras_emojigan.filelock import exclusive
from keras_emojigan.models.savedmodel import export_saved_model, export_steered
from keras_emojigan.shipped import version_folders


def next_version(model_base: Path) -> int:
    """The next free numeric version under ``model_base`` (TF Serving serves the highest)."""
    return max(version_folders(model_base), default=0) + 1


EXPORT_LOCK = ".export.lock"  # in saved_models/NAME: held while a version is chosen and written


MAX_VERSION = 2**63 - 1  # TF Serving's versions are int64
MODEL_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")


def check_model_name(name) -> str:
    """A model's name under saved_models/, checked before any work: one plain folder name (letters,
    digits, '.', '_', '-'; not starting with '.' or '-'), so nothing is written outside
    saved_models/NAME. The one check of export, ship and every command that writes a model."""
    if not isinstance(name, str) or not MODEL_NAME.fullmatch(name):
        raise UserInputError(f"model name {name!r}: use a plain folder name such as 'emoji' (letters, digits, "
                             "'.', '_' and '-', starting with a letter or digit, at most 100 characters)")
    return name


def check_version(version) -> int:
    """A TF Serving version: an integer from 1 to 2**63 - 1."""
    if isinstance(version, bool) or not isinstance(version, int) or not 1 <= version <= MAX_VERSION:
        raise UserInputError(f"version {version}: TF Serving versions are integers from 1 to {MAX_VERSION}")
    return version


@contextlib.contextmanager
def version_lock(model_base: Path):
    """Held while the next version of ``model_base`` is chosen and written, so two exports at once
    take two versions (the second waits) and neither replaces the other's. A model folder this
    call made and that holds nothing but the lock afterwards (a failed export) is removed."""
    model_base = Path(model_base)
    made = not model_base.exists()
    try:
        with exclusive(model_base / EXPORT_LOCK, f"{model_base}", wait=True):
            yield
    finally:
        if made and model_base.is_dir() and {p.name for p in model_base.iterdir()} <= {EXPORT_LOCK}:
            shutil.rmtree(model_base, ignore_errors=True)


def serving_path(saved_models: Path, name: str, version: int | None = None) -> Path:
    """``saved_models/NAME/VERSION``: the layout ``tensorflow_model_server --model_base_path``
    expects; ``version`` defaults to the next free one, and an existing version is refused."""
    base = Path(saved_models) / check_model_name(name)
    version = next_version(base) if version is None else check_version(version)
    if (base / str(version)).exists():
        raise UserInputError(f"{base / str(version)} exists: TF Serving versions are immutable; "
                             f"use --version {next_version(base)} or leave --version out")
    return base / str(version)


FINE_TUNABLE_FILE = "gan.keras"  # beside a SavedModel: G, D and the EMA copy, for `fit --init-from`


def export_run(run_dir: Path, path: Path, best: bool = False, fine_tunable: bool = False) -> tuple[dict, Path]:
    """Export a run's latest (or best-FID) checkpoint to ``path`` with the run's config, epochs
    and classes in its metadata; return (metadata, path). ``fine_tunable`` also writes the whole
    GAN (G, D, the EMA copy) beside it as ``gan.keras``, which `fit --init-from PATH` starts from
    (TF Serving and `serve` ignore it)."""
    from keras_emojigan.training.rundir import restore_gan, run_classes

    gan, config, epochs = restore_gan(run_dir, best=best)
    classes = run_classes(run_dir)
    metadata = {"model": config.model, "epochs": epochs, "checkpoint": "best-fid" if best else "latest",
                "config": config.to_dict(), **({"class_names": classes} if classes else {}),
                **({"fine_tunable": FINE_TUNABLE_FILE} if fine_tunable else {})}
    export_saved_model(gan, path, metadata)
    if fine_tunable:
        partial = Path(path) / f"partial-{FINE_TUNABLE_FILE}"  # Keras wants the .keras suffix
        gan.save(partial)
        partial.replace(Path(path) / FINE_TUNABLE_FILE)
    return metadata, Path(path)


def export_directions(model_path: Path, directions: dict, path: Path, warn=None) -> tuple[dict, Path]:
    """Write the unconditional SavedModel at ``model_path`` with its class ``directions``
    (``directions.py``) as a steered SavedModel at ``path``: its signatures take ``label`` and
    ``strength``, and its metadata names the classes and keeps the directions (normals left out:
    they are in the graph). Return (metadata, path)."""
    from keras_emojigan.directions import DIRECTIONS_FILE, check_directions, mixture_of
    from keras_emojigan.models.savedmodel import saved_model_fingerprint
    from keras_emojigan.serving.generator import load_generator

    base = load_generator(model_path)
    if base.class_names:
        raise UserInputError(f"{base.path} already takes a class: --directions is for an unconditional model")
    directions = check_directions(directions, base.noise_dim, mixture=mixture_of(base.metadata),
                                  fingerprint=saved_model_fingerprint(base.path), model=str(base.path), warn=warn)
    names = [c["name"] for c in directions["classes"]]
    summary = {key: value for key, value in directions.items() if key not in ("classes", "mixture")}
    summary["classes"] = [{k: v for k, v in c.items() if k not in ("normal", "offset")} for c in directions["classes"]]
    metadata = {**base.metadata, "num_classes": len(names), "class_names": names, "steered_from": str(base.path),
                "directions": summary}
    export_steered(base.module, base.noise_dim, directions, path, metadata,
                   files={DIRECTIONS_FILE: json.dumps(directions, indent=1) + "\n"})
    return metadata, path
