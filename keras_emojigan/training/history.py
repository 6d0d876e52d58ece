"""history.csv, a run's per-epoch record, and the one reader that fit and compare use.

One row per finished epoch, written by callbacks.EpochRecorder: losses, D's mean outputs,
the instability flags, IS/FID/KID when the epoch was evaluated (empty otherwise) and seconds.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

from keras_emojigan.errors import UserInputError
from keras_emojigan.metrics.diversity import COLLAPSED_SHARE

HISTORY = "history.csv"
COLUMNS = ("epoch", "d_loss", "g_loss", "d_real", "d_fake", "sigma_term", "collapsed", "unstable",
           "is_mean", "fid", "kid", "seconds", "augment_p", "r1_penalty", "d_class_loss", "g_class_loss",
           "g_guide_loss", "d_mismatch", "lecam_penalty", "d_reconstruction", "bfloat16", "precision", "recall",
           "near_duplicate_share", "near_duplicate_groups")


def _raw_rows(path: Path) -> tuple[list[dict], list[str], bool]:
    """The rows, the header's columns, and whether a last line was cut short. A row is appended
    whole and flushed before its epoch's checkpoint, so a kill (or a full disk) can cut only the
    last line, and that epoch has no checkpoint: a last line without its newline is dropped. A
    damaged row before it is an error that names the line."""
    text = path.read_text()
    cut = bool(text) and not text.endswith("\n")
    if cut:
        text = text[: text.rfind("\n") + 1]
    reader = csv.DictReader(io.StringIO(text, newline=""))
    rows = list(reader)
    columns = list(reader.fieldnames or [])
    for line, row in enumerate(rows, start=2):
        if None in row or None in row.values():
            fields = len(row.get(None, [])) + sum(v is not None for k, v in row.items() if k is not None)
            raise UserInputError(f"{path}, line {line}: {fields} fields where the header has {len(columns)}; "
                                 "repair or delete that line and the run resumes from its checkpoints")
    return rows, columns, cut


def read_history(run_dir: Path) -> list[dict]:
    """Rows as floats (None where empty; epoch as int); [] when there is no history yet."""
    path = Path(run_dir) / HISTORY
    if not path.exists():
        return []
    try:
        return [{k: (int(v) if k == "epoch" else float(v) if v != "" else None) for k, v in row.items()}
                for row in _raw_rows(path)[0]]
    except ValueError as err:
        raise UserInputError(f"{path}: a value is not a number ({err}); repair or delete that line") from None


def truncate_history(run_dir: Path, before: int) -> None:
    """Drop the rows of epochs at or after ``before`` (an epoch killed before its checkpoint was
    written), atomically, so the file agrees with the checkpoint a run resumes from."""
    path = Path(run_dir) / HISTORY
    if not path.exists():
        return
    raw, columns, cut = _raw_rows(path)
    kept = [row for row in raw if int(row["epoch"]) < before]
    if not columns:  # even the header was cut short: the next row writes a new one
        path.unlink()
    elif cut or len(kept) != len(raw):
        tmp = path.with_suffix(".csv.tmp")
        with open(tmp, "w", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=columns)
            writer.writeheader()
            writer.writerows(kept)
        tmp.replace(path)


def epoch_seconds(rows: list[dict]) -> float:
    """Time spent in the kept epochs (training and evaluation): unlike a wall clock, it survives kills."""
    return round(sum(row["seconds"] for row in rows if row.get("seconds") is not None), 1)


def trained_in_bfloat16(rows: list[dict]) -> bool | None:
    """Whether any kept epoch ran in mixed_bfloat16 (the ``bfloat16`` column; None for a run
    recorded before it existed)."""
    values = [row["bfloat16"] for row in rows if row.get("bfloat16") is not None]
    return bool(max(values)) if values else None


def collapsed_epochs(rows: list[dict]) -> int:
    """How many epochs were collapsed (D won; training/instability.py)."""
    return sum(1 for row in rows if row.get("collapsed"))


def selection_key(row: dict) -> tuple:
    """How checkpoints are chosen (the best row, ``checkpoints/best``, what a table calls best): a
    row whose near-duplicate share is above ``diversity.COLLAPSED_SHARE`` (five times the real
    set's) loses to any row that is not; among the rest, the lower FID wins, then the earlier
    epoch. Rows recorded without the share (older runs) compete on FID alone. A collapsed model
    is chosen only when every evaluated epoch collapsed, and its share is reported beside it."""
    share = row.get("near_duplicate_share")
    return (share is not None and share > COLLAPSED_SHARE, row["fid"], row["epoch"])


def best_row(rows: list[dict]) -> dict | None:
    """The evaluated row that ``selection_key`` ranks first, or None."""
    scored = [row for row in rows if row.get("fid") is not None]
    return min(scored, key=selection_key) if scored else None
