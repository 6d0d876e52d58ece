#!/usr/bin/env python3
"""The precision side-by-side: row 1 of the lite-backbone comparison (mixed_bfloat16 where the CPU
has it) against the same run in float32 (``precision.sh``), epoch by epoch where both evaluated.

    python scripts/experiments/lite-backbone/precision_table.py [BF16_RUN [FLOAT32_RUN [OUT]]]
    # defaults: runs/lite-backbone/runs/dcgan-s0 runs/lite-backbone/precision/float32-s0
    #           docs/results/lite-backbone/precision.md

Both runs have the same seed, data, schedule and evaluation (the emoji extractor, 800 samples
every 5 epochs), so each evaluated epoch pairs up. Writes a table of FID, precision, recall and
the near-duplicate share per evaluated epoch, their means over the epochs both have, and the
mean seconds per epoch of each (a run that shared the machine says so in OUT's text, by hand).
"""

from __future__ import annotations

import statistics
import sys
from pathlib import Path

from keras_emojigan.training.history import read_history, trained_in_bfloat16

COLUMNS = (("fid", "FID", 1), ("precision", "precision", 3), ("recall", "recall", 3),
           ("near_duplicate_share", "near-duplicates", 3))


def table(bf16_dir: Path, float32_dir: Path) -> list[str]:
    histories = {run: read_history(run) for run in (bf16_dir, float32_dir)}
    if trained_in_bfloat16(histories[float32_dir]) or not trained_in_bfloat16(histories[bf16_dir]):
        raise SystemExit(f"expected {bf16_dir} in bfloat16 and {float32_dir} in float32 (history.csv's bfloat16)")
    # epoch -> row, for the epochs with an evaluation
    bf16, float32 = ({row["epoch"]: row for row in histories[run] if row.get("fid") is not None}
                     for run in (bf16_dir, float32_dir))
    epochs = sorted(set(bf16) & set(float32))
    if not epochs:
        raise SystemExit(f"no evaluated epoch in both {bf16_dir} and {float32_dir} yet")
    head = " | ".join(f"{label} bf16 / fp32" for _, label, _ in COLUMNS)
    lines = [f"| epoch | {head} |", "|---|" + "---|" * len(COLUMNS)]
    for epoch in epochs:
        cells = " | ".join(f"{bf16[epoch][key]:.{d}f} / {float32[epoch][key]:.{d}f}" for key, _, d in COLUMNS)
        lines.append(f"| {epoch} | {cells} |")
    means = " | ".join(f"{statistics.fmean(bf16[e][key] for e in epochs):.{d}f} / "
                       f"{statistics.fmean(float32[e][key] for e in epochs):.{d}f}" for key, _, d in COLUMNS)
    lines.append(f"| mean of {len(epochs)} | {means} |")
    seconds = [statistics.fmean(row["seconds"] for row in histories[run] if row["epoch"] <= epochs[-1])
               for run in (bf16_dir, float32_dir)]
    lines += ["", f"Mean seconds per epoch to epoch {epochs[-1]}: bfloat16 {seconds[0]:.1f}, float32 {seconds[1]:.1f}."]
    return lines


def main(argv: list[str]) -> None:
    bf16_dir = Path(argv[0] if argv else "runs/lite-backbone/runs/dcgan-s0")
    float32_dir = Path(argv[1] if len(argv) > 1 else "runs/lite-backbone/precision/float32-s0")
    out = Path(argv[2] if len(argv) > 2 else "docs/results/lite-backbone/precision.md")
    out.write_text("\n".join(table(bf16_dir, float32_dir)) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main(sys.argv[1:])
