"""Write a TorchScript-layout archive (and a legacy ``torch.save`` file) without torch (pickle
opcodes by hand), for tests of the reader and the converter: a module tree of ``__torch__``
objects whose attributes are tensors, ints, lists and sub-modules, tensors as
``_rebuild_tensor_v2`` on storages in ``data/KEY``."""

from __future__ import annotations

import io
import struct
import zipfile
from pathlib import Path

import numpy as np

STORAGE = {np.dtype(np.float32): "FloatStorage", np.dtype(np.int64): "LongStorage"}


class Module:
    """A stand-in module: class name and attributes (np.ndarray, int, bool, str, list, Module)."""

    def __init__(self, class_name: str, **attributes):
        self.class_name, self.attributes = class_name, attributes


class IntList(list):
    """A ``List[int]`` attribute: TorchScript pickles it as ``torch.jit._pickle.build_intlist(list)``."""


class _Writer:
    def __init__(self):
        self.out, self.storages, self.arrays = io.BytesIO(), {}, []

    def raw(self, data: bytes):
        self.out.write(data)

    def global_(self, module: str, name: str):
        self.raw(b"c" + module.encode() + b"\n" + name.encode() + b"\n")

    def value(self, v):
        if isinstance(v, Module):
            module, _, name = v.class_name.rpartition(".")
            self.global_(module, name)
            self.raw(b")\x81")  # EMPTY_TUPLE, NEWOBJ
            self.value(dict(v.attributes))
            self.raw(b"b")  # BUILD
        elif isinstance(v, np.ndarray):
            self.tensor(v)
        elif isinstance(v, bool):
            self.raw(b"\x88" if v else b"\x89")
        elif isinstance(v, int):
            self.raw(b"J" + struct.pack("<i", v))
        elif isinstance(v, float):
            self.raw(b"G" + struct.pack(">d", v))
        elif isinstance(v, str):
            data = v.encode()
            self.raw(b"X" + struct.pack("<I", len(data)) + data)
        elif isinstance(v, dict):
            self.raw(b"}(")  # EMPTY_DICT, MARK
            for key, item in v.items():
                self.value(key)
                self.value(item)
            self.raw(b"u")  # SETITEMS
        elif isinstance(v, IntList):
            self.global_("torch.jit._pickle", "build_intlist")
            self.raw(b"(")
            self.value(list(v))
            self.raw(b"tR")  # TUPLE, REDUCE
        elif isinstance(v, (list, tuple)):
            self.raw(b"](" if isinstance(v, list) else b"(")
            for item in v:
                self.value(item)
            self.raw(b"e" if isinstance(v, list) else b"t")  # APPENDS / TUPLE
        else:
            raise TypeError(type(v))

    def tensor(self, array: np.ndarray):
        array = np.require(array, requirements="C")  # (ascontiguousarray would make a 0-d array 1-d)
        key = str(len(self.storages))
        self.storages[key] = array.tobytes()
        self.arrays.append(array)
        self.global_("torch._utils", "_rebuild_tensor_v2")
        self.raw(b"(")  # MARK: the argument tuple
        self.raw(b"(")  # MARK: the persistent id tuple
        self.value("storage")
        self.global_("torch", STORAGE[array.dtype])
        self.value(key)
        self.value("cpu")
        self.value(int(array.size))
        self.raw(b"tQ")  # TUPLE, BINPERSID
        self.value(0)
        self.value(tuple(int(d) for d in array.shape))
        self.value(tuple(int(s // array.itemsize) for s in array.strides))
        self.value(False)
        self.global_("collections", "OrderedDict")
        self.raw(b")R")  # EMPTY_TUPLE, REDUCE
        self.raw(b"tR")  # TUPLE, REDUCE


def write_archive(root: Module, path: Path, prefix: str = "archive") -> Path:
    writer = _Writer()
    writer.raw(b"\x80\x02")
    writer.value(root)
    writer.raw(b".")
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr(f"{prefix}/data.pkl", writer.out.getvalue())
        for key, data in writer.storages.items():
            archive.writestr(f"{prefix}/data/{key}", data)
        archive.writestr(f"{prefix}/version", "3\n")
    return Path(path)


def write_legacy_state_dict(state: dict, path: Path) -> Path:
    """``torch.save(state, path, _use_new_zipfile_serialization=False)`` without torch: the magic
    number, protocol version and system info, the state dict (tensors on storages named by key),
    the storage keys, then each storage's element count and bytes."""
    import pickle

    writer = _Writer()
    writer.raw(b"\x80\x02")
    writer.value(dict(state))
    writer.raw(b".")
    header = [pickle.dumps(value, protocol=2) for value in
              (0x1950A86A20F9469CFC6C, 1001, {"protocol_version": 1001, "little_endian": True})]
    with open(path, "wb") as out:
        out.write(b"".join(header) + writer.out.getvalue())
        out.write(pickle.dumps(list(writer.storages), protocol=2))
        for data, array in zip(writer.storages.values(), writer.arrays, strict=True):
            out.write(np.array([array.size], "<i8").tobytes() + data)
    return Path(path)
