"""The versions of one served model: TF Serving's ``--model_base_path`` rules on a folder.

``BASE/1``, ``BASE/2``, ... are versions; the highest complete one is served (TF Serving's
default "latest" policy) and a newer one replaces it without a restart when ``poll()`` finds
it. A version folder is loaded only when it looks complete (``saved_model.pb`` and, when
there is a ``variables/`` folder, its index) and has not changed between two polls, so a
folder still being copied is never served; one that fails to load is skipped (and logged)
until it changes, and the old version keeps serving.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from pathlib import Path

from keras_emojigan.errors import UserInputError
from keras_emojigan.serving.generator import LoadedGenerator
from keras_emojigan.serving.rest import Signature
from keras_emojigan.shipped import version_folders

log = logging.getLogger("keras_emojigan.serve")


class NoVersionError(UserInputError):
    """A model base folder with nothing servable in it."""


@dataclass
class LoadedVersion:
    version: int
    path: Path
    signatures: dict  # name -> Signature
    signature_def: dict  # the SignatureDef protos as TF Serving's metadata JSON shows them
    generator: LoadedGenerator  # keeps the loaded SavedModel (and so the signatures' variables) alive


def looks_complete(path: Path) -> bool:
    if not (path / "saved_model.pb").is_file():
        return False
    variables = path / "variables"
    return not variables.exists() or (variables / "variables.index").is_file()


def fingerprint(path: Path) -> tuple:
    """What changes while a folder is being written: its files' names, sizes and times."""
    return tuple(sorted((str(p.relative_to(path)), p.stat().st_size, p.stat().st_mtime_ns)
                        for p in path.rglob("*") if p.is_file()))


def signature_defs(path: Path) -> dict:
    """``saved_model.pb``'s SignatureDefs as JSON as TF Serving prints them: field names as in the
    proto and fields at their default value printed too (``"unknown_rank": false``, a dim's
    ``"name": ""``, a scalar's ``"dim": []``), so clients can index them without a KeyError."""
    from google.protobuf import json_format
    from tensorflow.core.protobuf import saved_model_pb2

    proto = saved_model_pb2.SavedModel()
    proto.ParseFromString((path / "saved_model.pb").read_bytes())
    graph = proto.meta_graphs[0]
    return {name: json_format.MessageToDict(definition, preserving_proto_field_name=True,
                                            always_print_fields_with_no_presence=True)
            for name, definition in graph.signature_def.items()}


def load_version(version: int, path: Path) -> LoadedVersion:
    generator = LoadedGenerator(path)
    signatures = {name: Signature.from_concrete_function(name, fn)
                  for name, fn in generator.module.signatures.items()}
    return LoadedVersion(version, path, signatures, signature_defs(path), generator)


class ModelVersions:
    """The served version of the model under ``base``, reloaded by ``poll()``."""

    def __init__(self, base: Path, name: str | None = None):
        self.base = Path(base)
        self.name = name or self.base.resolve().name
        self._current: LoadedVersion | None = None
        self._seen: dict[int, tuple] = {}  # version -> fingerprint at the last poll
        self._failed: dict[int, tuple] = {}  # version -> fingerprint that failed to load
        self._lock = threading.Lock()

    @property
    def current(self) -> LoadedVersion | None:
        return self._current

    def load_initial(self) -> LoadedVersion:
        """Load the newest complete version now (no stability wait): for start-up."""
        if (self.base / "saved_model.pb").exists():
            raise NoVersionError(f"{self.base} is a SavedModel itself: serve its parent model folder, laid out as "
                                 f"NAME/1/saved_model.pb (`emojigan export RUN --name NAME` writes that)")
        folders = version_folders(self.base)
        for version in sorted(folders, reverse=True):
            if looks_complete(folders[version]) and self._try_load(version, folders[version]):
                return self._current
        raise NoVersionError(f"{self.base} holds no loadable version folder (1/, 2/, ... with saved_model.pb): "
                             f"write one with `emojigan export RUN_DIR --name {self.name} "
                             f"--saved-models {self.base.parent}`")

    def poll(self) -> bool:
        """Load a newer version if one is complete and unchanged since the last poll; when the served
        version's folder is gone (or no longer complete), fall back to the newest other complete
        version, as TF Serving unloads a deleted version. True if swapped."""
        with self._lock:
            if self._current and not looks_complete(self._current.path):
                return self._fall_back()
            current = self._current.version if self._current else 0
            for version, path in sorted(version_folders(self.base).items(), reverse=True):
                if version <= current:
                    break
                if not looks_complete(path):
                    continue
                stamp = fingerprint(path)
                stable, self._seen[version] = self._seen.get(version) == stamp, stamp
                if not stable or self._failed.get(version) == stamp:
                    continue
                if self._try_load(version, path, stamp):
                    return True
            return False

    def _fall_back(self) -> bool:
        gone = self._current.version
        for version, path in sorted(version_folders(self.base).items(), reverse=True):
            if version != gone and looks_complete(path) and self._failed.get(version) != fingerprint(path) \
                    and self._try_load(version, path):
                log.warning("version %s of %s disappeared: serving version %s", gone, self.name, version)
                return True
        log.warning("version %s of %s disappeared and no other version loads: still serving it from memory",
                    gone, self.name)
        return False

    def _try_load(self, version: int, path: Path, stamp: tuple | None = None) -> bool:
        try:
            loaded = load_version(version, path)
        except Exception as err:  # a broken export must not take the server down
            self._failed[version] = stamp if stamp is not None else fingerprint(path)
            log.warning("version %s at %s did not load, still serving %s: %s", version, path,
                        self._current.version if self._current else "nothing", err)
            return False
        self._current = loaded
        log.info("serving %s version %s from %s", self.name, version, path)
        return True
