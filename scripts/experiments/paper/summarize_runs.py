#!/usr/bin/env python3
"""Per-model epoch times and collapsed epochs of a `compare` output (docs/performance.md's "Whole runs"
table and the collapsed-epoch column of its results), read from each run's history.csv.

    python scripts/experiments/paper/summarize_runs.py docs/results/paper100-default/runs
"""

from __future__ import annotations

import argparse
import json
import statistics
from collections import defaultdict
from pathlib import Path

from keras_emojigan.training.history import read_history


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("runs", type=Path, help="a compare OUT/runs folder (one MODEL-sSEED folder per run)")
    args = parser.parse_args()
    by_model = defaultdict(lambda: {"train": [], "eval": []})
    for run in sorted(p for p in args.runs.iterdir() if (p / "history.csv").exists()):
        rows = read_history(run)
        model = run.name.rsplit("-s", 1)[0]
        for row in rows:
            by_model[model]["eval" if row.get("fid") is not None else "train"].append(row["seconds"])
        print(json.dumps({"run": run.name, "collapsed_epochs": [r["epoch"] for r in rows if r["collapsed"]]}))
    for model, times in by_model.items():
        print(json.dumps({"model": model,
                          "median_epoch_seconds_without_eval": round(statistics.median(times["train"]), 1),
                          "median_epoch_seconds_with_eval": round(statistics.median(times["eval"]), 1),
                          "fastest_epoch_seconds": round(min(times["train"] + times["eval"]), 1)}))


if __name__ == "__main__":
    main()
