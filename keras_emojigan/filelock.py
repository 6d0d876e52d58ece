"""An exclusive advisory lock on a file (``fcntl.flock``), held while a run dir is trained or a
model's next version is written: the kernel releases it when its holder exits, however it ends
(a SIGKILL leaves no stale lock to clean up). Where ``fcntl`` is missing (Windows) nothing is
locked."""

from __future__ import annotations

import os
from contextlib import contextmanager
from pathlib import Path

from keras_emojigan.errors import UserInputError

try:
    import fcntl
except ImportError:  # pragma: no cover - not POSIX
    fcntl = None


@contextmanager
def exclusive(path: Path, what: str, *, wait: bool = False):
    """Hold the lock on ``path`` (created with its folder; it records the holder's pid). ``wait``
    blocks until the other holder is done; otherwise a held lock is a UserInputError naming
    ``what`` and the holder."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+") as handle:
        if fcntl is not None:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
            except BlockingIOError:
                handle.seek(0)
                holder = handle.read().strip()
                raise UserInputError(f"{what} is in use by another process{f' (pid {holder})' if holder else ''}: "
                                     "wait until it ends, or stop it") from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"{os.getpid()}\n")
        handle.flush()
        yield
