"""TF Serving's layout for exported generators: ``saved_models/NAME/VERSION/``, numeric and
immutable versions, and the export of a run dir into it (the SavedModel itself is written by
``models/savedmodel.py``)."""

from __future__ import annotations

from pathlib import Path

from keras_emojigan.errors import UserInputError
from keras_emojigan.models.savedmodel import export_saved_model
from keras_emojigan.shipped import version_folders


def next_version(model_base: Path) -> int:
    """The next free numeric version under ``model_base`` (TF Serving serves the highest)."""
    return max(version_folders(model_base), default=0) + 1


def serving_path(saved_models: Path, name: str, version: int | None = None) -> Path:
    """``saved_models/NAME/VERSION``: the layout ``tensorflow_model_server --model_base_path``
    expects; ``version`` defaults to the next free one, and an existing version is refused."""
    if not name or "/" in name or name.startswith("."):
        raise UserInputError(f"model name {name!r}: use a plain folder name such as 'emoji'")
    base = Path(saved_models) / name
    version = next_version(base) if version is None else int(version)
    if version < 1:
        raise UserInputError(f"version {version}: TF Serving versions are integers >= 1")
    if (base / str(version)).exists():
        raise UserInputError(f"{base / str(version)} exists: TF Serving versions are immutable; "
                             f"use --version {next_version(base)} or leave --version out")
    return base / str(version)


def export_run(run_dir: Path, path: Path, best: bool = False) -> tuple[dict, Path]:
    """Export a run's latest (or best-FID) checkpoint to ``path`` with the run's config, epochs
    and classes in its metadata; return (metadata, path)."""
    from keras_emojigan.training.rundir import restore_gan, run_classes

    gan, config, epochs = restore_gan(run_dir, best=best)
    classes = run_classes(run_dir)
    metadata = {"model": config.model, "epochs": epochs, "checkpoint": "best-fid" if best else "latest",
                "config": config.to_dict(), **({"class_names": classes} if classes else {})}
    return metadata, export_saved_model(gan, path, metadata)
