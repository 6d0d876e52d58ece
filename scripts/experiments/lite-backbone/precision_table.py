#!/usr/bin/env python3
"""The precision side-by-side: row 1 of the lite-backbone comparison (mixed_bfloat16 where the CPU
has it) against the same run in float32 (``precision.sh``), epoch by epoch where both evaluated,
and optionally a reference: the bf16 run of another seed (``precision.sh RUNS 100 mixed_bfloat16 1``).

    python scripts/experiments/lite-backbone/precision_table.py [BF16_RUN [FLOAT32_RUN [OUT [REFERENCE_RUN]]]]
    # defaults, the published histories: docs/results/lite-backbone/runs/dcgan-s0
    #   docs/results/lite-backbone/precision/float32-s0 docs/results/lite-backbone/precision.md
    #   docs/results/lite-backbone/precision/mixed_bfloat16-s1 ("-" for none)

The two precisions' runs have the same seed, data, schedule and evaluation (the emoji extractor,
800 samples every 5 epochs), so each evaluated epoch pairs up. Two runs of one seed still drift
apart from the first step (bf16 rounds differently), so their difference holds the precision's
effect *and* the drift of two runs; the reference (same precision, another seed) measures the
drift alone. Writes a table of FID, precision, recall and the near-duplicate share per evaluated
epoch, their means, the paired differences (bf16 - float32; with a reference also bf16 - bf16 of
the other seed) with their mean absolute size and a bootstrap interval over epochs, and the mean
seconds per epoch of each (history.csv does not say whether a run shared the machine: say it
beside the table, as docs/results/lite-backbone/README.md does).
"""

from __future__ import annotations

import statistics
import sys
from pathlib import Path

from keras_emojigan.reports.stats import bootstrap_mean
from keras_emojigan.reports.tables import markdown_table
from keras_emojigan.training.history import read_history, trained_in_bfloat16

COLUMNS = (("fid", "FID", 1), ("precision", "precision", 3), ("recall", "recall", 3),
           ("near_duplicate_share", "near-duplicates", 3))


def table(bf16_dir: Path, float32_dir: Path, reference_dir: Path | None = None) -> list[str]:
    runs = [bf16_dir, float32_dir] + ([reference_dir] if reference_dir else [])
    histories = {run: read_history(run) for run in runs}
    if trained_in_bfloat16(histories[float32_dir]) or not trained_in_bfloat16(histories[bf16_dir]):
        raise SystemExit(f"expected {bf16_dir} in bfloat16 and {float32_dir} in float32 (history.csv's bfloat16)")
    if reference_dir and not trained_in_bfloat16(histories[reference_dir]):
        raise SystemExit(f"expected the reference {reference_dir} in bfloat16, as {bf16_dir}")
    # run -> epoch -> row, for the epochs with an evaluation
    evaluated = {run: {row["epoch"]: row for row in histories[run] if row.get("fid") is not None} for run in runs}
    epochs = sorted(set.intersection(*(set(evaluated[run]) for run in runs)))
    if not epochs:
        raise SystemExit(f"no evaluated epoch in all of {', '.join(map(str, runs))} yet")
    names = "bf16 / fp32" + (" / bf16, other seed" if reference_dir else "")
    body = [[epoch, *(" / ".join(f"{evaluated[run][epoch][key]:.{d}f}" for run in runs) for key, _, d in COLUMNS)]
            for epoch in epochs]
    body.append([f"mean of {len(epochs)}",
                 *(" / ".join(f"{statistics.fmean(evaluated[run][e][key] for e in epochs):.{d}f}" for run in runs)
                   for key, _, d in COLUMNS)])
    lines = markdown_table(["epoch", *(f"{label} {names}" for _, label, _ in COLUMNS)], body)
    pairs = [("bf16 - float32 (seed 0 both)", bf16_dir, float32_dir)]
    if reference_dir:
        pairs.append(("bf16 - bf16 of the other seed (the drift of two runs)", bf16_dir, reference_dir))
    lines += ["", "Paired differences over the evaluated epochs: mean (bootstrap 95% interval, resampling epochs "
              "as if independent, which they are not: the EMA generator averages over ~45 epochs) and the mean "
              "absolute difference:", ""]
    for name, a, b in pairs:
        cells = []
        for key, label, d in COLUMNS:
            differences = [evaluated[a][e][key] - evaluated[b][e][key] for e in epochs]
            mean, low, high = bootstrap_mean(differences)  # resampling epochs
            size = statistics.fmean(abs(x) for x in differences)
            cells.append(f"{label} {mean:+.{d}f} ({low:+.{d}f} to {high:+.{d}f}), |mean| {size:.{d}f}")
        lines.append(f"- {name}: " + "; ".join(cells))
    seconds = [statistics.fmean(row["seconds"] for row in histories[run] if row["epoch"] <= epochs[-1])
               for run in runs]
    lines += ["", f"Mean seconds per epoch to epoch {epochs[-1]}: bfloat16 {seconds[0]:.1f}, float32 {seconds[1]:.1f}"
              + (f", bfloat16 other seed {seconds[2]:.1f}." if reference_dir else ".")]
    return lines


def main(argv: list[str]) -> None:
    published = Path("docs/results/lite-backbone")
    bf16_dir = Path(argv[0] if argv else published / "runs/dcgan-s0")
    float32_dir = Path(argv[1] if len(argv) > 1 else published / "precision/float32-s0")
    out = Path(argv[2] if len(argv) > 2 else published / "precision.md")
    reference = argv[3] if len(argv) > 3 else str(published / "precision/mixed_bfloat16-s1")
    reference_dir = None if reference == "-" else Path(reference)
    out.write_text("\n".join(table(bf16_dir, float32_dir, reference_dir)) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main(sys.argv[1:])
