"""The conditional table: the conditional GANs class by class, beside the unconditional ones.

Reads what ``scripts/experiments/conditional/conditional_experiment.sh`` wrote, from ``emojigan evaluate --per-class
--json``: ``PUBLISH/per_class/EXTRACTOR/ROW.json`` for each conditional run and
``.../ROW.unconditional.json`` for the unconditional run set beside it. Writes
``PUBLISH/per_class.md``: per row and class, the conditional model's FID/KID and class accuracy,
the unconditional model's FID on the images the probe put in that class, their ratio, and
whether the issue's two criteria hold (class accuracy >= 85% for every class; per-class
FID-Inception <= 1.5x the unconditional model's).

    python scripts/experiments/conditional/conditional_table.py [PUBLISH]   # default docs/results/conditional
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from keras_emojigan.reports.tables import markdown_table

ORDER = ("dcgan", "deligan", "proposed")  # the `default` rows first, then the others by name
UNCONDITIONAL = ".unconditional.json"
EXTRACTORS = ("fid-inception", "emoji")
JUDGED_BY = "fid-inception"  # the extractor the criteria are read with
MIN_ACCURACY = 0.85
MAX_FID_RATIO = 1.5


def load(publish: Path) -> dict:
    """{extractor: {row: {"conditional": result, "unconditional": result or None}}} for what exists."""
    found = {}
    for extractor in EXTRACTORS:
        paths = [p for p in (publish / "per_class" / extractor).glob("*.json") if not p.name.endswith(UNCONDITIONAL)]
        for path in sorted(paths, key=lambda p: (ORDER.index(p.stem) if p.stem in ORDER else len(ORDER), p.stem)):
            base = path.with_name(path.stem + UNCONDITIONAL)
            found.setdefault(extractor, {})[path.stem] = {
                "conditional": json.loads(path.read_text()),
                "unconditional": json.loads(base.read_text()) if base.exists() else None}
    return found


def verdicts(entry: dict) -> dict:
    """The issue's two criteria for one model (None where the numbers are missing)."""
    classes = entry["conditional"]["classes"]
    accuracy_ok = all(row["class_accuracy"] >= MIN_ACCURACY for row in classes.values())
    ratio_ok = None
    if entry["unconditional"] is not None:
        ratios = [_ratio(row, entry["unconditional"]["classes"].get(name)) for name, row in classes.items()]
        ratio_ok = None if None in ratios else all(r <= MAX_FID_RATIO for r in ratios)
    return {"accuracy": accuracy_ok, "fid_ratio": ratio_ok}


def _ratio(row, base_row):
    if base_row is None or base_row.get("fid") in (None, 0) or row.get("fid") is None:
        return None
    return row["fid"] / base_row["fid"]


def _yes(value) -> str:
    return "n/a" if value is None else ("yes" if value else "no")


def table(found: dict) -> str:
    lines = ["# Emotion-conditioned emoji, class by class",
             "",
             "Written by `python scripts/experiments/conditional/conditional_table.py` from "
             "`per_class/EXTRACTOR/*.json` "
             "(`emojigan evaluate RUN --per-class --json`, each run's final generator, 800 images, seed 0). "
             "Conditional: 400 images made for each class, against that class's real images; class accuracy is "
             "the share the probe (trained on real images only) puts in the requested class. Unconditional: the "
             "probe sorts 800 images into the classes (their share in brackets), each share against that class's "
             "real images; fewer images raise FID a little, so a small share is measured slightly to its "
             "disadvantage.",
             ""]
    for extractor, models in found.items():
        probe = next(iter(models.values()))["conditional"]
        lines += [f"## Extractor `{extractor}`",
                  "",
                  f"Probe's accuracy on held-out real images: {probe['probe_heldout_accuracy']:.1%} "
                  f"({probe['probe_heldout_images']} images).",
                  ""]
        body = []
        for model, entry in models.items():
            base = (entry["unconditional"] or {}).get("classes", {})
            for name, row in entry["conditional"]["classes"].items():
                base_row = base.get(name)
                base_cell = "n/a" if base_row is None or base_row.get("fid") is None else \
                    f"{base_row['fid']:.4g} ({base_row['share']:.0%})"
                ratio = _ratio(row, base_row)
                real = entry["conditional"].get("probe_heldout_class_accuracy", {}).get(name)  # older results lack it
                real_cell = "n/a" if real is None else f"{real:.1%}"
                body.append([model, name, f"{row['fid']:.4g}", f"{row['kid']:.4g}", f"{row['class_accuracy']:.1%}",
                             real_cell, base_cell, "n/a" if ratio is None else f"{ratio:.2f}x"])
        lines += markdown_table(["model", "class", "FID", "KID", "class accuracy",
                                 "probe on held-out real images of the class", "unconditional FID (share)",
                                 "FID ratio"], body)
        lines.append("")
    if JUDGED_BY in found:
        lines += [f"## The issue's criteria ({JUDGED_BY})", ""]
        lines += markdown_table(["model", f"class accuracy >= {MIN_ACCURACY:.0%} for every class",
                                 f"per-class FID <= {MAX_FID_RATIO}x unconditional"],
                                [[model, _yes(v["accuracy"]), _yes(v["fid_ratio"])]
                                 for model, v in ((m, verdicts(e)) for m, e in found[JUDGED_BY].items())])
        lines.append("")
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    publish = Path(argv[1] if len(argv) > 1 else "docs/results/conditional")
    found = load(publish)
    if not found:
        print(f"conditional_table: no per_class/EXTRACTOR/ROW.json under {publish}: "
              "run scripts/experiments/conditional/conditional_experiment.sh first", file=sys.stderr)
        return 2
    out = publish / "per_class.md"
    out.write_text(table(found))
    print(f"conditional_table: wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
