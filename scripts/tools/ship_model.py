"""Ship a trained run as a model of the project: export its best-FID generator to
saved_models/NAME/1/ (TF Serving's layout), measure it, and write its card.

The card (saved_models/NAME/README.md) and saved_models/NAME/metrics.json hold: the command that
trained it, the data and its licence, FID/KID with the FID Inception and with the emoji
extractor against each random half of the real set beside the real-vs-real floor at the same
sizes (``emojigan evaluate --halves``), the memorisation share, and for a conditional model
FID per class and class accuracy (``emojigan evaluate --per-class``). ``--notes FILE`` adds
what a person saw (known failure modes) as its own section; samples.png is the sample sheet.

Which checkpoint: ``--checkpoint best`` is the run's best-FID one (the emoji extractor's pick
during training), ``last`` the latest; ``auto`` (the default) takes whichever of the two has the
lower FID-Inception in the run's checkpoint_metrics.json (``compare`` measures both), else best.

    python scripts/tools/ship_model.py RUN_DIR --name emoji-faces [--notes failure_modes.md]
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import shutil
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from keras_emojigan.config import PRESETS, TrainConfig  # noqa: E402

LICENCE = "keras_emojigan/data/emoji_faces/LICENSES.md"
COMPARE_SAMPLES = 800  # as compare's checkpoint numbers (CheckpointMeter: 800 images, seed 0), to set beside them
FIELDS_SET_BY_FLAGS = {"model": "--model", "epochs": "--epochs", "seed": "--seed", "preset": "--preset"}


def fit_command(config: TrainConfig) -> str:
    """The `emojigan fit` command that trains this config: the preset, then what differs from it."""
    preset = TrainConfig.from_dict({**PRESETS[config.preset], "preset": config.preset})
    sets = [f"--set {shlex.quote(f'{k}={str(v).lower() if isinstance(v, bool) else v}')}"
            for k, v in config.changed_from(preset, ignore=FIELDS_SET_BY_FLAGS).items()]
    return " ".join([f"emojigan fit --model {config.model} --preset {config.preset} --epochs {config.epochs} "
                     f"--seed {config.seed}", *sets, "--run-dir runs/NAME"])


def choose_checkpoint(run_dir: Path, choice: str) -> tuple[bool, str]:
    """(export the best-FID checkpoint?, why) for --checkpoint best|last|auto."""
    if choice != "auto":
        return choice == "best", f"--checkpoint {choice}"
    path = run_dir / "checkpoint_metrics.json"
    measured = json.loads(path.read_text()).get("fid-inception", {}) if path.exists() else {}
    if not {"best", "last"} <= set(measured):
        return True, f"no FID-Inception of both checkpoints in {path}: the best-FID one"
    fid = {k: measured[k]["fid"] for k in ("best", "last")}
    pick = min(fid, key=fid.get)
    return pick == "best", (f"FID-Inception {fid['best']:.1f} (best-FID checkpoint, epoch {measured['best']['epoch']}) "
                            f"vs {fid['last']:.1f} (last, epoch {measured['last']['epoch']}) in {path.name}")


def measure(model_dir: Path, data: str, extractors: list[str], log=print) -> dict:
    from keras_emojigan.data.sources import load_images
    from keras_emojigan.metrics.evaluate import evaluate_classes, evaluate_halves, evaluate_images
    from keras_emojigan.metrics.extractors import get_extractor
    from keras_emojigan.serving.generator import load_generator

    generator = load_generator(model_dir)
    real = load_images(data, generator.resolution)
    half = len(real.images) // 2
    results = {"data": data, "num_real": int(len(real.images)), "extractors": {}}
    for name in extractors:
        extractor = get_extractor(name)
        log(f"{name}: against the real halves ...")
        entry = {"halves": evaluate_halves(real.images, generator.generate(half, 0), extractor, seed=0)}
        log(f"{name}: against the whole set, with the memorisation check ...")
        whole = evaluate_images(real.images, generator.generate(COMPARE_SAMPLES, 0), extractor, seed=0,
                                metrics=("fid", "kid"), memorisation=True)
        entry["whole"] = {k: whole[k] for k in ("num_real", "num_fake", "fid", "kid", "memorised_share",
                                                "memorised_share_pixels")}
        if generator.class_names:
            log(f"{name}: class by class ...")
            entry["per_class"] = evaluate_classes(generator.generate, real.images, real.labels,
                                                  generator.class_names, extractor, per_class=half, seed=0)
        results["extractors"][name] = entry
    return results


def card(name: str, config: TrainConfig, metadata: dict, results: dict, notes: str, why: str) -> str:
    conditional = bool(metadata.get("class_names"))
    best = metadata["checkpoint"] == "best-fid"
    lines = [f"# {name}/1: {config.model}{', class-conditional' if conditional else ''}, "
             f"`{config.preset}` preset, {'best-FID' if best else 'last'} checkpoint of {config.epochs} epochs", "",
             f"A {config.resolution}x{config.resolution} emoji-face generator trained on `{config.data}` "
             f"({results['num_real']} images); the checkpoint is the one after epoch {metadata['epochs'] - 1}, "
             f"chosen by {why}.", "",
             *usage(name, conditional), "",
             "## Training", "", f"    {fit_command(config)}",
             f"    emojigan export runs/NAME{' --best' if best else ''} --name {name}", "",
             "`training_config.json` beside this card is the run's whole config.", "",
             "## Data and licence", "",
             f"`{config.data}`: 793 face emoji from ten openly licensed designs; as a whole **CC-BY-SA-4.0**. "
             f"Credit the designs when you publish images from this model: see [{LICENCE}](../../{LICENCE}).", "",
             "## Metrics", "",
             f"{half_count(results)} generated images (seed 0) against each random half of the real set, "
             "averaged, beside the floor at the same sizes (one real half against the other): "
             "`emojigan evaluate saved_models/" + name + "/1 --halves --extractor E`. "
             f"Then {COMPARE_SAMPLES} generated images against the whole set, as `compare` measures every run's "
             "checkpoints (docs/results/*/table.md), with the memorisation check (the share "
             "of generated images nearer to a training image than 95% of training images are to their "
             "nearest neighbour).", "",
             "| extractor | FID (vs halves) | floor | ratio | KID (vs halves) | floor | FID (whole set) "
             "| memorised (features / pixels) |", "|---|---|---|---|---|---|---|---|"]
    for extractor, entry in results["extractors"].items():
        h, w = entry["halves"], entry["whole"]
        lines.append(f"| `{extractor}` | {h['fid']:.1f} | {h['floor_fid']:.1f} | {h['fid_over_floor']:.2f}x "
                     f"| {h['kid']:.4g} | {h['floor_kid']:.4g} | {w['fid']:.1f} "
                     f"| {100 * w['memorised_share']:.1f}% / {100 * w['memorised_share_pixels']:.1f}% |")
    for extractor, entry in results["extractors"].items():
        if "per_class" in entry:
            per = entry["per_class"]
            lines += ["", f"Class by class (`{extractor}`; the probe's accuracy on held-out real images: "
                      f"{100 * per['probe_heldout_accuracy']:.1f}%):", "",
                      "| class | FID | KID | class accuracy | probe on held-out real images of the class |",
                      "|---|---|---|---|---|"]
            for cls, values in per["classes"].items():
                lines.append(f"| {cls} | {values['fid']:.1f} | {values['kid']:.4g} | "
                             f"{100 * values['class_accuracy']:.1f}% | "
                             f"{100 * per['probe_heldout_class_accuracy'][cls]:.1f}% |")
    lines += ["", "`metrics.json` holds every number; `samples.png` is `emojigan sample saved_models/" + name
              + "/1 -o samples.png`.", ""]
    if notes:
        lines += ["## Known failure modes", "", notes.strip(), ""]
    return "\n".join(lines)


def usage(name: str, conditional: bool) -> list[str]:
    """How to sample and serve it: with no model argument when it is the default shipped model."""
    from keras_emojigan.shipped import DEFAULT_MODEL

    shipped = name == DEFAULT_MODEL
    model, base = ("", "") if shipped else (f" saved_models/{name}/1", f" saved_models/{name}")
    by_class = " --class positive" if conditional else ""
    picker = " (with a class picker)" if conditional else ""
    return [f"    emojigan sample{model}{by_class} -o grid.png",
            f"    emojigan serve{base}   # TF Serving's REST API and the gallery{picker}"]


def half_count(results: dict) -> int:
    return next(iter(results["extractors"].values()))["halves"]["num_fake"]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("run_dir", type=Path)
    parser.add_argument("--name", required=True, help="saved_models/NAME")
    parser.add_argument("--saved-models", type=Path, default=Path("saved_models"))
    parser.add_argument("--extractors", default="fid-inception,emoji")
    parser.add_argument("--notes", type=Path, help="Markdown: known failure modes, as seen in the samples")
    parser.add_argument("--checkpoint", choices=("auto", "best", "last"), default="auto")
    args = parser.parse_args(argv)
    from keras_emojigan.grid import image_grid
    from keras_emojigan.serving.export import export_run
    from keras_emojigan.serving.generator import load_generator

    base = args.saved_models / args.name
    version = base / "1"
    if version.exists():
        shutil.rmtree(version)
    best, why = choose_checkpoint(args.run_dir, args.checkpoint)
    metadata, _ = export_run(args.run_dir, version, best=best)
    config = TrainConfig.from_dict(metadata["config"])
    print(f"wrote {version} from the {metadata['checkpoint']} checkpoint ({why})")
    results = measure(version, config.data, args.extractors.split(","))
    (base / "metrics.json").write_text(json.dumps(results, indent=2) + "\n")
    config.save(base / "training_config.json")
    image_grid(load_generator(version).generate(64, 0)).save(base / "samples.png", optimize=True)
    notes = args.notes.read_text() if args.notes else ""
    (base / "README.md").write_text(card(args.name, config, metadata, results, notes, why))
    print((base / "README.md").read_text())
    return 0


if __name__ == "__main__":
    sys.exit(main())
