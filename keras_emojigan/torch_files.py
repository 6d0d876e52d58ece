"""Read the tensors of torch files without torch: TorchScript archives (``torch.jit.save``'s
zip) and ``torch.save``'s legacy (pre-1.6) single-pickle format (``read_legacy_state_dict``).

A TorchScript file is a zip: ``PREFIX/data.pkl`` pickles the module tree (objects of
``__torch__.*`` classes whose state holds their attributes, parameters among them), tensors
are ``torch._utils._rebuild_tensor_v2`` calls on storages, and each storage's bytes are
``PREFIX/data/KEY``. This module unpickles that tree with stand-ins for the torch classes, so
the FID Inception's weights can be converted on a machine without torch (torch stays out of
the runtime dependencies). Only what weight files use is supported: plain tensors of the
usual dtypes, modules, lists, dicts and scalars.
"""

from __future__ import annotations

import pickle
import zipfile
from collections import OrderedDict
from pathlib import Path

import numpy as np

from keras_emojigan.errors import UserInputError

DTYPES = {"FloatStorage": np.float32, "DoubleStorage": np.float64, "HalfStorage": np.float16,
          "LongStorage": np.int64, "IntStorage": np.int32, "ShortStorage": np.int16, "CharStorage": np.int8,
          "ByteStorage": np.uint8, "BoolStorage": np.bool_}


_TYPED_LISTS = ("build_intlist", "build_doublelist", "build_boollist", "build_tensorlist", "build_genericlist")


class TorchScriptError(UserInputError):
    """A file that is not a TorchScript archive this reader understands; the message says why."""


class ScriptObject:
    """A stand-in for one pickled TorchScript object: its class name and its attributes. The
    pickle makes objects with NEWOBJ (``cls.__new__``) and fills them with BUILD (``__setstate__``)."""

    class_name = ""

    def __new__(cls, *args):
        obj = super().__new__(cls)
        obj.attributes = {}
        return obj

    def __setstate__(self, state):
        if isinstance(state, dict):
            self.attributes.update(state)
        else:
            self.attributes["__state__"] = state

    def __repr__(self):
        return f"ScriptObject({self.class_name}, {sorted(self.attributes)})"


def _rebuild_tensor(storage, offset, size, stride, *_):
    """torch._utils._rebuild_tensor_v2: a view of ``storage`` -> a numpy array (copied)."""
    if not size:
        return np.array(storage[offset], storage.dtype)
    strides = [s * storage.itemsize for s in stride]
    return np.lib.stride_tricks.as_strided(storage[offset:], shape=tuple(size), strides=strides).copy()


class _Unpickler(pickle.Unpickler):
    def __init__(self, file, archive: zipfile.ZipFile, prefix: str):
        super().__init__(file)
        self.archive, self.prefix = archive, prefix

    def find_class(self, module, name):
        if module == "torch._utils" and name in ("_rebuild_tensor_v2", "_rebuild_tensor"):
            return _rebuild_tensor
        if module == "torch" and name in DTYPES:
            return name
        if module == "collections" and name == "OrderedDict":
            return OrderedDict
        if module == "torch.jit._pickle" and name in _TYPED_LISTS:
            return list  # build_intlist([...]) and the like: typed lists of TorchScript attributes
        if module == "torch.jit._pickle" and name == "restore_type_tag":
            return lambda value, _type: value
        if module.startswith("__torch__"):
            return type(name, (ScriptObject,), {"class_name": f"{module}.{name}"})
        if module == "builtins" and name in ("set", "frozenset", "list", "dict", "tuple"):
            return {"set": set, "frozenset": frozenset, "list": list, "dict": dict, "tuple": tuple}[name]
        raise TorchScriptError(f"unsupported object {module}.{name} in the TorchScript archive")

    def persistent_load(self, pid):
        if not (isinstance(pid, tuple) and pid and pid[0] == "storage"):
            raise TorchScriptError(f"unsupported persistent id {pid!r} in the TorchScript archive")
        _, dtype_name, key, _location, _numel = pid
        if dtype_name not in DTYPES:
            raise TorchScriptError(f"unsupported tensor type {dtype_name} in the TorchScript archive")
        return np.frombuffer(self.archive.read(f"{self.prefix}/data/{key}"), DTYPES[dtype_name])


def read_module_tree(path: Path) -> ScriptObject:
    """The root module of the TorchScript file at ``path``."""
    path = Path(path)
    try:
        archive = zipfile.ZipFile(path)
    except (OSError, zipfile.BadZipFile) as err:
        raise TorchScriptError(f"{path}: not a TorchScript file ({err})") from None
    with archive:
        pickles = [name for name in archive.namelist() if name.endswith("/data.pkl") and name.count("/") == 1]
        if not pickles:
            raise TorchScriptError(f"{path}: no data.pkl: not a TorchScript archive")
        prefix = pickles[0].split("/")[0]
        with archive.open(pickles[0]) as fh:
            return _Unpickler(fh, archive, prefix).load()


def named_tensors(root: ScriptObject, prefix: str = "") -> dict[str, np.ndarray]:
    """Every array in the module tree, by dotted path (``layers.mixed.conv.weight``)."""
    found = {}
    for name, value in root.attributes.items():
        path = f"{prefix}{name}"
        if isinstance(value, np.ndarray):
            found[path] = value
        elif isinstance(value, ScriptObject):
            found.update(named_tensors(value, path + "."))
    return found


def named_objects(root: ScriptObject, prefix: str = "") -> dict[str, ScriptObject]:
    """Every module in the tree, by dotted path ("" is the root)."""
    found = {prefix.rstrip("."): root}
    for name, value in root.attributes.items():
        if isinstance(value, ScriptObject):
            found.update(named_objects(value, f"{prefix}{name}."))
    return found


LEGACY_MAGIC = 0x1950A86A20F9469CFC6C  # torch.serialization's MAGIC_NUMBER, first in a legacy file


class _LegacyStorage:
    """A storage named in the pickle; its bytes follow the pickle (read after it)."""

    def __init__(self, dtype):
        self.dtype, self.array = dtype, None


class _LegacyTensor:
    """A view of a storage, made into an array once the storages are read."""

    def __init__(self, storage, offset, size, stride):
        self.storage, self.offset, self.size, self.stride = storage, offset, tuple(size), tuple(stride)

    def array(self) -> np.ndarray:
        return _rebuild_tensor(self.storage.array, self.offset, self.size, self.stride)


class _LegacyUnpickler(pickle.Unpickler):
    def __init__(self, file, storages: dict):
        super().__init__(file)
        self.storages = storages

    def find_class(self, module, name):
        if module == "torch._utils" and name in ("_rebuild_tensor_v2", "_rebuild_tensor"):
            return lambda storage, offset, size, stride, *_: _LegacyTensor(storage, offset, size, stride)
        if module == "torch" and name in DTYPES:
            return name
        if module == "collections" and name == "OrderedDict":
            return OrderedDict
        raise TorchScriptError(f"unsupported object {module}.{name} in a torch.save file")

    def persistent_load(self, pid):
        if not (isinstance(pid, tuple) and pid and pid[0] == "storage"):
            raise TorchScriptError(f"unsupported persistent id {pid!r} in a torch.save file")
        _, dtype_name, key = pid[:3]
        if dtype_name not in DTYPES:
            raise TorchScriptError(f"unsupported tensor type {dtype_name} in a torch.save file")
        return self.storages.setdefault(key, _LegacyStorage(DTYPES[dtype_name]))


def read_legacy_state_dict(path: Path) -> dict[str, np.ndarray]:
    """A state dict saved by ``torch.save`` in the legacy format: {name: array}. The file is the
    magic number, protocol version and system info (three pickles), the state dict's pickle with
    its storages as persistent ids, the list of storage keys (a pickle), then each storage's bytes
    in that order, each after its element count (int64, little-endian)."""
    path = Path(path)
    with open(path, "rb") as fh:
        try:
            magic = pickle.load(fh)
        except Exception as err:  # noqa: BLE001 - any unpickling failure means "not this format"
            raise TorchScriptError(f"{path}: not a torch.save file ({type(err).__name__})") from None
        if magic != LEGACY_MAGIC:
            raise TorchScriptError(f"{path}: not a legacy torch.save file (a zip archive is read by read_module_tree)")
        pickle.load(fh), pickle.load(fh)  # protocol version, system info
        storages: dict = {}
        state = _LegacyUnpickler(fh, storages).load()
        for key in pickle.load(fh):
            storage = storages[key]
            count = int(np.frombuffer(fh.read(8), "<i8")[0])
            data = fh.read(count * np.dtype(storage.dtype).itemsize)
            if len(data) != count * np.dtype(storage.dtype).itemsize:
                raise TorchScriptError(f"{path}: truncated (storage {key} has {len(data)} of its bytes)")
            storage.array = np.frombuffer(data, storage.dtype)
    if not isinstance(state, dict):
        raise TorchScriptError(f"{path}: holds a {type(state).__name__}, not a state dict")
    return {name: value.array() if isinstance(value, _LegacyTensor) else np.asarray(value)
            for name, value in state.items()}
