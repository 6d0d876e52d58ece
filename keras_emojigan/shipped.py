"""The trained generators that ship with the project, under the repository's ``saved_models/``.

``emojigan serve`` and ``emojigan sample`` use ``saved_models/emoji-faces`` when no model is
named, so a fresh clone can serve emoji without training. The folder is found beside the
package (an editable install or a checkout) or where ``EMOJIGAN_MODELS`` points.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from keras_emojigan.errors import UserInputError

DEFAULT_MODEL = "emoji-faces"


def models_dir() -> Path:
    """``$EMOJIGAN_MODELS``, else the ``saved_models/`` folder beside the package."""
    if os.environ.get("EMOJIGAN_MODELS"):
        return Path(os.environ["EMOJIGAN_MODELS"])
    return Path(__file__).resolve().parent.parent / "saved_models"


def version_folders(base: Path) -> dict[int, Path]:
    """A TF Serving model base's version folders by number: folders named by a positive integer in
    ASCII digits ('1', '2', ...). Anything else is not a version: '0', '01', and names that
    ``str.isdigit`` accepts but ``int`` does not read as a version, such as '²'."""
    base = Path(base)
    if not base.is_dir():
        return {}
    return {int(p.name): p for p in base.iterdir() if p.is_dir() and re.fullmatch(r"[1-9][0-9]*", p.name)}


def default_model_base(name: str = DEFAULT_MODEL) -> Path:
    """``saved_models/NAME``, the TF Serving model base of the shipped model, when it has a version."""
    base = models_dir() / name
    if not version_folders(base):
        raise UserInputError(f"no shipped model at {base}: name a model (a run dir or a SavedModel), or train and "
                             f"export one with `emojigan fit` and `emojigan export RUN_DIR --name {name}`")
    return base


def newest_version(base: Path) -> Path | None:
    """The highest version folder of a TF Serving model base (what TF Serving serves), else None."""
    versions = version_folders(base)
    return versions[max(versions)] if versions else None


def default_model_version(name: str = DEFAULT_MODEL) -> Path:
    """The newest version folder of the shipped model (what TF Serving would serve)."""
    return newest_version(default_model_base(name))
