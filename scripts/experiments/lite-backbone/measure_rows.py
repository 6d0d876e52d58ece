#!/usr/bin/env python3
"""Measure each finished row of the lite-backbone comparison as it would ship, and write the table.

    python scripts/experiments/lite-backbone/measure_rows.py [RUNS [PUBLISH [WORK]]]
    # defaults: runs/lite-backbone docs/results/lite-backbone runs/lite-backbone/measured

For every finished run under RUNS/runs/ (``summary.json``), with the FID-Inception extractor:
the checkpoint ``emojigan ship`` would take (``--checkpoint auto``: best or last by the rule
that never prefers a collapsed checkpoint) exported to WORK/NAME, then everything its card
would hold (``ship.measure``: FID/KID against each real half beside the real-vs-real floor,
precision/recall and the near-duplicate share of 800 samples beside the real set's, the
memorisation share), and FID/KID/precision/recall of 2,000 samples against all the real
images (FID on ~400 images is biased upwards). Writes PUBLISH/runs/NAME/measured.json (a run
already measured is skipped: rerun after each row finishes) and PUBLISH/measured.md (not table.md,
which `emojigan compare --publish` writes: the training-time table); and
PUBLISH/latents.md, the paper's question on this backbone: the three latents' rows side by side,
the checkpoint the rule takes beside the last one (from compare's ``checkpoint_metrics.json``),
so a latent whose last checkpoint collapsed shows it; and PUBLISH/ablation.md, the recipe built up
one change per row (lite alone, + hinge, + LeCam, + x-flip = the full recipe): the shipped
checkpoint's FID-Inception beside the training-time evaluations of the last 50 epochs (history.csv,
the run's own extractor), whose mean and range say more about a row than one checkpoint does,
and how D fared (its mean outputs over those epochs, the epochs it won).
A table none of whose rows PUBLISH holds (another seed's runs) is not written.
Needs the FID-Inception weights (`emojigan extractors fetch fid-inception`).
"""

from __future__ import annotations

import json
import re
import shutil
import statistics
import sys
from pathlib import Path

from keras_emojigan.reports.tables import markdown_table

LARGE_SAMPLE = 2000


def measure_run(run_dir: Path, work: Path) -> dict:
    from keras_emojigan.config import TrainConfig
    from keras_emojigan.data.sources import load_images
    from keras_emojigan.metrics.evaluate import evaluate_images
    from keras_emojigan.metrics.extractors import get_extractor
    from keras_emojigan.serving.export import export_run
    from keras_emojigan.serving.generator import load_generator
    from keras_emojigan.ship import choose_checkpoint, measure
    from keras_emojigan.training.history import read_history, trained_in_bfloat16

    config = TrainConfig.load(run_dir / "config.json")
    best, why = choose_checkpoint(run_dir, "auto")
    target = work / run_dir.name
    if target.exists():  # a half-measured earlier attempt
        shutil.rmtree(target)
    _, model = export_run(run_dir, target, best=best)
    results, _, _ = measure(model, config.data, ["fid-inception"], log=lambda line: print(f"{run_dir.name}: {line}"))
    generator = load_generator(model)
    real = load_images(config.data, generator.resolution)
    print(f"{run_dir.name}: {LARGE_SAMPLE} samples against all {len(real.images)} real images ...")
    large = evaluate_images(real.images, generator.generate(LARGE_SAMPLE, 0), get_extractor("fid-inception"),
                            seed=0, metrics=("fid", "kid", "pr"))
    summary = json.loads((run_dir / "summary.json").read_text())
    return {"run": run_dir.name, "checkpoint": "best" if best else "last", "why": why,
            "fid_inception": results["extractors"]["fid-inception"],
            "large": {k: large[k] for k in ("num_real", "num_fake", "fid", "kid", "precision", "recall")},
            "epochs_done": summary["epochs_done"], "epoch_seconds": summary.get("epoch_seconds"),
            "bfloat16": trained_in_bfloat16(read_history(run_dir))}


# the rows' specs (run.sh's order), each named once: the tables below take subsets of them
FULL_RECIPE, WIDER, DELIGAN, PROPOSED = "dcgan", "dcgan:ngf=96", "deligan", "proposed"
BARE_BCE = "dcgan:xflip=false:lecam_weight=0:loss=bce"  # lite alone: no hinge, LeCam or x-flip
BARE_HINGE = "dcgan:xflip=false:lecam_weight=0"
BARE_HINGE_LECAM = "dcgan:xflip=false"
ROWS = [("full recipe", FULL_RECIPE), ("+ wider generator", WIDER), ("DeLiGAN latent", DELIGAN),
        ("proposed latent", PROPOSED), ("lite alone (BCE, no LeCam, no x-flip)", BARE_BCE),
        ("+ hinge", BARE_HINGE), ("+ LeCam", BARE_HINGE_LECAM)]


def table(publish: Path) -> list[str]:
    from keras_emojigan.compare import parse_variant

    header = ["row", "ckpt (epoch)", "FID vs halves / floor (ratio)", "KID vs halves / floor", "FID, 2,000 vs all",
              "precision / recall (800; real halves)", "near-duplicates of 800 (groups; real)", "memorised",
              "s per run"]
    body = []
    for label, spec in ROWS:
        path = publish / "runs" / parse_variant(spec).run_name(0) / "measured.json"
        if not path.exists():
            body.append(_not_finished(f"{label} (`{spec}`)", header))
            continue
        m = json.loads(path.read_text())
        h, w, big = m["fid_inception"]["halves"], m["fid_inception"]["whole"], m["large"]
        seconds = m["epoch_seconds"]
        body.append([f"{label} (`{spec}`)", f"{m['checkpoint']} ({_epoch_of(m)})",
                     f"{h['fid']:.1f} / {h['floor_fid']:.1f} ({h['fid_over_floor']:.2f}x)",
                     f"{h['kid']:.4f} / {h['floor_kid']:.4f}", f"{big['fid']:.1f}",
                     f"{w['precision']:.2f} / {w['recall']:.2f} ({h['floor_precision']:.2f} / {h['floor_recall']:.2f})",
                     f"{w['near_duplicate_share']:.1%} ({w['near_duplicate_groups']}; "
                     f"{w['near_duplicate_share_real']:.1%})",
                     f"{w['memorised_share']:.1%}", "n/a" if seconds is None else f"{seconds:.0f}"])
    return markdown_table(header, body)


LATENTS = (FULL_RECIPE, DELIGAN, PROPOSED)  # the three latents at the full recipe


def latents_table(publish: Path) -> list[str]:
    """The three latents at the full recipe: FID-Inception over the floor, recall and near-duplicates of
    the checkpoint the selection rule takes, beside the last checkpoint's FID (800 samples), recall and
    near-duplicates."""
    from keras_emojigan.compare import parse_variant

    header = ["latent", "ckpt the rule takes (epoch)", "FID over the floor", "recall", "near-duplicates (groups)",
              "last ckpt: FID, 800 vs all", "recall", "near-duplicates (groups)"]
    body = []
    for latent in LATENTS:
        folder = publish / "runs" / parse_variant(latent).run_name(0)
        if not (folder / "measured.json").exists() or not (folder / "checkpoint_metrics.json").exists():
            body.append(_not_finished(latent, header))
            continue
        m = json.loads((folder / "measured.json").read_text())
        last = json.loads((folder / "checkpoint_metrics.json").read_text())["fid-inception"]["last"]
        h, w = m["fid_inception"]["halves"], m["fid_inception"]["whole"]
        body.append([latent, f"{m['checkpoint']} ({_epoch_of(m)})", f"{h['fid_over_floor']:.2f}x", f"{w['recall']:.2f}",
                     f"{w['near_duplicate_share']:.1%} ({w['near_duplicate_groups']})",
                     f"{last['fid']:.1f} (epoch {last['epoch']})", f"{last['recall']:.2f}",
                     f"{last['near_duplicate_share']:.1%} ({last['near_duplicate_groups']})"])
    return markdown_table(header, body)


# the recipe built up one change per row: (what the row adds, its spec)
ABLATION = (("lite alone (BCE)", BARE_BCE), ("+ hinge", BARE_HINGE), ("+ LeCam", BARE_HINGE_LECAM),
            ("+ x-flip (the full recipe)", FULL_RECIPE))
TAIL_EPOCHS = 50


def ablation_table(publish: Path) -> list[str]:
    """The ablation ladder: per row, the shipped checkpoint's FID-Inception over the floor, recall and
    near-duplicate share (measured.json), beside the mean and range of the evaluations in the run's
    last ``TAIL_EPOCHS`` epochs (history.csv: FID, recall and near-duplicate share on the run's own
    extractor, 800 samples each), and how training ran: D's mean sigmoid outputs on the real and the
    generated batches over those epochs, and how many epochs of the run D won (``collapsed``)."""
    from keras_emojigan.compare import parse_variant
    from keras_emojigan.training.history import collapsed_epochs, read_history

    header = ["row", "FID-Inception over the floor", "recall", "near-duplicates",
              f"last {TAIL_EPOCHS} epochs, the run's own extractor: evaluations", "FID, mean (range)",
              "recall, mean (range)", "near-duplicates, mean (max)", "D(real) / D(fake), mean", "epochs D won"]
    body = []
    for label, spec in ABLATION:
        folder = publish / "runs" / parse_variant(spec).run_name(0)
        if not (folder / "measured.json").exists():
            body.append(_not_finished(f"{label} (`{spec}`)", header))
            continue
        m = json.loads((folder / "measured.json").read_text())
        h, w = m["fid_inception"]["halves"], m["fid_inception"]["whole"]
        rows = read_history(folder)
        last = max(row["epoch"] for row in rows)
        epochs = [row for row in rows if row["epoch"] > last - TAIL_EPOCHS]
        tail = [row for row in epochs if row.get("fid") is not None]
        if not tail:
            raise SystemExit(f"{folder / 'history.csv'}: no evaluation in the last {TAIL_EPOCHS} epochs")
        shares = [row["near_duplicate_share"] for row in tail]
        body.append([f"{label} (`{spec}`)", f"{h['fid_over_floor']:.2f}x", f"{w['recall']:.2f}",
                     f"{w['near_duplicate_share']:.1%}", f"{len(tail)} (epochs {tail[0]['epoch']}-{tail[-1]['epoch']})",
                     _spread(tail, "fid", 1), _spread(tail, "recall", 3),
                     f"{statistics.fmean(shares):.1%} ({max(shares):.1%})",
                     f"{statistics.fmean(row['d_real'] for row in epochs):.2f} / "
                     f"{statistics.fmean(row['d_fake'] for row in epochs):.2f}",
                     f"{collapsed_epochs(rows)} of {len(rows)}"])
    return markdown_table(header, body)


NOT_FINISHED = "| not finished |"


def _not_finished(first_cell: str, header: list) -> list[str]:
    """A table row for a run PUBLISH does not hold (yet): its name, "not finished", the other cells empty."""
    return [first_cell, NOT_FINISHED.strip("| "), *[""] * (len(header) - 2)]


def _spread(rows: list[dict], key: str, digits: int) -> str:
    values = [row[key] for row in rows]
    return f"{statistics.fmean(values):.{digits}f} ({min(values):.{digits}f}-{max(values):.{digits}f})"


def _epoch_of(measured: dict) -> str:
    """The exported checkpoint's epoch, from ``choose_checkpoint``'s reason ("..., epoch N) ...")."""
    why, which = measured["why"], measured["checkpoint"]
    found = re.search(r"epoch (\d+)\)", why.split(" vs ")[0 if which == "best" else -1])
    return found.group(1) if found else "?"


def main(argv: list[str]) -> None:
    runs = Path(argv[0] if argv else "runs/lite-backbone")
    publish = Path(argv[1] if len(argv) > 1 else "docs/results/lite-backbone")
    work = Path(argv[2] if len(argv) > 2 else runs / "measured")
    for run_dir in sorted((runs / "runs").iterdir()):
        out = publish / "runs" / run_dir.name / "measured.json"
        if out.exists() or not (run_dir / "summary.json").exists():
            continue
        if json.loads((run_dir / "summary.json").read_text()).get("status") != "finished":
            continue
        measured = measure_run(run_dir, work)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(measured, indent=2) + "\n")
        print(f"wrote {out}")
    for name, lines in (("measured.md", table(publish)), ("latents.md", latents_table(publish)),
                        ("ablation.md", ablation_table(publish))):
        if all(NOT_FINISHED in line for line in lines[2:]):  # PUBLISH holds none of its rows
            print(f"{publish / name}: none of its rows is measured here, not written")
            continue
        (publish / name).write_text("\n".join(lines) + "\n")
        print(f"wrote {publish / name}")


if __name__ == "__main__":
    main(sys.argv[1:])
