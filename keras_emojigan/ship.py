"""`emojigan ship RUN_DIR --name NAME`: make a trained run one of the project's models.

It exports the run's chosen checkpoint as the next version of ``saved_models/NAME`` (TF
Serving's layout; a shipped version is never replaced), measures it, and writes its card. The
card (``NAME/README.md``) and ``NAME/metrics.json`` hold: the command that trained it, the data
and its licence, FID/KID with each extractor against each random half of the real set beside
the real-vs-real floor (``emojigan evaluate --halves``), precision/recall and the near-duplicate
share beside their real-vs-real values, the memorisation share, and for a conditional model FID
per class and class accuracy (``emojigan evaluate --per-class``). ``notes`` (what a person saw:
known failure modes) becomes its own section; ``samples.png`` is the sample sheet and
``groups.png`` the largest near-duplicate groups. The previous version's card and files stay
beside it with the version in their names (``README-v1.md``, ``metrics-v1.json``, ...).

Which checkpoint: ``best`` is the run's best one (``history.selection_key``, with the emoji
extractor during training), ``last`` the latest; ``auto`` (the default) ranks the two by the same
rule with the FID Inception's numbers in the run's checkpoint_metrics.json (``compare`` measures
both), else takes the best one.
"""

from __future__ import annotations

import json
import shlex
import shutil
from pathlib import Path

from keras_emojigan.config import PRESETS, TrainConfig, override_text
from keras_emojigan.errors import UserInputError
from keras_emojigan.reports.tables import markdown_table, percent, times
from keras_emojigan.training.history import selection_key

LICENCE = "keras_emojigan/data/emoji_faces/LICENSES.md"
COMPARE_SAMPLES = 800  # as compare's checkpoint numbers (CheckpointMeter: 800 images, seed 0), to set beside them
FLAGS_WRITTEN = ("model", "preset", "epochs", "seed")  # of config.FIT_FLAGS: fit_command writes these as flags
CARD_FILES = ("README.md", "metrics.json", "samples.png", "groups.png", "training_config.json")


def fit_command(config: TrainConfig) -> str:
    """The `emojigan fit` command that trains this config: the preset, then what differs from it."""
    preset = TrainConfig.from_dict({**PRESETS[config.preset], "preset": config.preset})
    changed = config.changed_from(preset, ignore=FLAGS_WRITTEN)
    sets = [f"--set {shlex.quote(override_text(k, v))}" for k, v in changed.items()]
    return " ".join([f"emojigan fit --model {config.model} --preset {config.preset} --epochs {config.epochs} "
                     f"--seed {config.seed}", *sets, "--run-dir runs/NAME"])


def choose_checkpoint(run_dir: Path, choice: str) -> tuple[bool, str]:
    """(export the best checkpoint?, why) for ``choice`` best, last or auto. A run without a best
    checkpoint (no evaluated epoch yet: the lite preset evaluates every 5th) takes its last under
    auto, and is refused under best; a run without any checkpoint is refused."""
    from keras_emojigan.training.rundir import CONFIG, checkpoint_files

    run_dir = Path(run_dir)
    if not (run_dir / CONFIG).exists():
        raise UserInputError(f"{run_dir} is not a run dir (no {CONFIG}): give the --run-dir of an `emojigan fit`")
    if not checkpoint_files(run_dir / "checkpoints"):
        raise UserInputError(f"{run_dir} has no checkpoint yet: let `emojigan fit` finish an epoch first")
    has_best = bool(checkpoint_files(run_dir / "checkpoints" / "best"))
    if choice == "best" and not has_best:
        raise UserInputError(f"{run_dir} has no best checkpoint (no evaluated epoch yet; runs evaluate every "
                             "--eval-every epochs): use --checkpoint last, or train on")
    if choice != "auto":
        return choice == "best", f"--checkpoint {choice}"
    if not has_best:
        return False, "no evaluated epoch yet, so no best checkpoint: the last one"
    path = run_dir / "checkpoint_metrics.json"
    measured = json.loads(path.read_text()).get("fid-inception", {}) if path.exists() else {}
    if not {"best", "last"} <= set(measured):
        return True, f"no FID-Inception of both checkpoints in {path}: the best one"
    pick = min(("best", "last"), key=lambda k: selection_key(measured[k]))

    def described(which):
        entry = measured[which]
        share = entry.get("near_duplicate_share")
        return (f"FID-Inception {entry['fid']:.1f}" + (f", near-duplicates {share:.0%}" if share is not None else "")
                + f" ({'best' if which == 'best' else 'last'}{' checkpoint' if which == 'best' else ''}, "
                f"epoch {entry['epoch']})")

    return pick == "best", f"{described('best')} vs {described('last')} in {path.name}"


def measure(model_dir: Path, data: str, extractors, log=print) -> dict:
    """Every number of the card, per extractor; the first extractor's near-duplicate groups too."""
    from keras_emojigan.data.sources import load_images
    from keras_emojigan.metrics.diversity import group_members
    from keras_emojigan.metrics.evaluate import evaluate_classes, evaluate_halves, evaluate_images
    from keras_emojigan.metrics.extractors import get_extractor
    from keras_emojigan.serving.generator import load_generator

    generator = load_generator(model_dir)
    real = load_images(data, generator.resolution)
    half = len(real.images) // 2
    results = {"data": data, "num_real": int(len(real.images)), "extractors": {}}
    fake = generator.generate(COMPARE_SAMPLES, 0)
    for name in extractors:
        extractor = get_extractor(name)
        log(f"{name}: against the real halves ...")
        entry = {"halves": evaluate_halves(real.images, generator.generate(half, 0), extractor, seed=0)}
        log(f"{name}: against the whole set, with the memorisation check ...")
        whole = evaluate_images(real.images, fake, extractor, seed=0, metrics=("fid", "kid", "pr", "dup"),
                                memorisation=True)
        entry["whole"] = {k: whole[k] for k in ("num_real", "num_fake", "fid", "kid", "precision", "recall",
                                                "near_duplicate_share", "near_duplicate_groups",
                                                "near_duplicate_share_real", "memorised_share",
                                                "memorised_share_pixels")}
        if generator.class_names:
            log(f"{name}: class by class ...")
            entry["per_class"] = evaluate_classes(generator.generate, real.images, real.labels,
                                                  generator.class_names, extractor, per_class=half, seed=0)
        results["extractors"][name] = entry
    first = get_extractor(extractors[0])
    groups = group_members(first.features(real.images).pool, first.features(fake).pool)
    return results, fake, groups


def card(name: str, version: int, config: TrainConfig, metadata: dict, results: dict, notes: str, why: str,
         bfloat16: bool | None = None) -> str:
    conditional = bool(metadata.get("class_names"))
    best = metadata["checkpoint"] == "best-fid"
    half = next(iter(results["extractors"].values()))["halves"]["num_fake"]
    networks = (config.generator_name if config.generator_name == config.discriminator_name
                else f"{config.generator_name} G, {config.discriminator_name} D")
    lines = [f"# {name}/{version}: {config.model}{', class-conditional' if conditional else ''}"
             f"{', ' + networks + ' networks' if networks != 'dcgan' else ''}, "
             f"`{config.preset}` preset, {'best' if best else 'last'} checkpoint of {config.epochs} "
             f"epoch{'' if config.epochs == 1 else 's'}", "",
             f"A {config.resolution}x{config.resolution} generator trained on `{config.data}` "
             f"({results['num_real']} images); the checkpoint is the one after epoch {metadata['epochs'] - 1}, "
             f"chosen by {why}.", "",
             *usage(name, version, conditional), "",
             "## Training", "", f"    {fit_command(config)}",
             f"    emojigan export runs/NAME{' --best' if best else ''} --name {name}", "",
             "`training_config.json` beside this card is the run's whole config."
             + {True: f" It was trained in mixed_bfloat16 (`--precision {config.precision}`"
                      f"{' on a CPU with bf16 instructions' if config.precision == 'auto' else ''}); "
                      "`--precision float32` trains the same recipe in float32.",
                False: " It was trained in float32.", None: ""}[bfloat16], "",
             "## Data and licence", "", data_section(config.data, config.resolution), "",
             "## Metrics", "",
             f"{half} generated images (seed 0) against each random half of the real set, averaged, beside the "
             "floor at the same sizes (one real half against the other): "
             f"`emojigan evaluate saved_models/{name}/{version} --halves --extractor E`. Then {COMPARE_SAMPLES} "
             "generated images against the whole set, as `compare` measures every run's checkpoints, with "
             "precision/recall (k = 3; the floor: one real half against the other), the near-duplicate share "
             "(generated images with another generated image closer than the real set's 5th-percentile "
             "spacing; the real set's own share beside it) and the memorisation check (generated images nearer "
             "to a training image than 95% of training images are to their nearest neighbour).", ""]
    lines += markdown_table(
        ["extractor", "FID (vs halves)", "floor", "ratio", "KID (vs halves)", "floor", "FID (whole set)",
         "precision (floor)", "recall (floor)", "near-duplicates (real)", "groups", "memorised (features / pixels)"],
        [[f"`{extractor}`", f"{h['fid']:.1f}", f"{h['floor_fid']:.1f}", times(h["fid_over_floor"]),
          f"{h['kid']:.4f}", f"{h['floor_kid']:.4f}" + ("" if h["floor_kid"] > 0 else " (no floor: too few images)"),
          f"{w['fid']:.1f}",
          f"{w['precision']:.2f} ({h['floor_precision']:.2f})", f"{w['recall']:.2f} ({h['floor_recall']:.2f})",
          f"{percent(w['near_duplicate_share'])} ({percent(w['near_duplicate_share_real'])})",
          f"{w['near_duplicate_groups']} of {w['num_fake']}",
          f"{percent(w['memorised_share'])} / {percent(w['memorised_share_pixels'])}"]
         for extractor, h, w in ((e, v["halves"], v["whole"]) for e, v in results["extractors"].items())])
    for extractor, entry in results["extractors"].items():
        if "per_class" in entry:
            per = entry["per_class"]
            lines += ["", f"Class by class (`{extractor}`; the probe's accuracy on held-out real images: "
                      f"{percent(per['probe_heldout_accuracy'])}):", ""]
            lines += markdown_table(
                ["class", "FID", "KID", "class accuracy", "probe on held-out real images of the class"],
                [[cls, f"{values['fid']:.1f}", f"{values['kid']:.4g}", percent(values["class_accuracy"]),
                  percent(per["probe_heldout_class_accuracy"][cls])] for cls, values in per["classes"].items()])
    lines += ["", f"`metrics.json` holds every number; `samples.png` is `emojigan sample saved_models/{name}/{version} "
              "-o samples.png`; `groups.png` shows the largest near-duplicate groups, one row each "
              f"(`emojigan evaluate saved_models/{name}/{version} --groups groups.png`).", ""]
    if notes:
        lines += ["## Known failure modes", "", notes.strip(), ""]
    return "\n".join(lines)


def data_section(source: str, resolution: int) -> str:
    """What the card says of the training data, read from the source itself: its images and
    classes, and for a built emoji set (emoji-faces, emoji-all) its designs and their licences;
    for any other source the licence is unknown (emojigan does not know your images' terms)."""
    from keras_emojigan.data.sources import load_images

    image_set = load_images(source, resolution)
    classes = image_set.class_counts()
    text = f"`{source}`: {len(image_set)} images" + (
        " in " + ", ".join(f"{n} {name}" for name, n in classes.items()) if len(classes) > 1 else "") + ". "
    licences = {row["design"]: row["licence"] for row in image_set.manifest if "licence" in row}
    if not licences:
        return text + ("Licence: **unknown** (emojigan records none for a folder or .npz of your own): publish "
                       "images from this model only as the training images' own terms allow.")
    share_alike = any("SA" in licence for licence in licences.values())
    return (text + f"Drawn from {len(licences)} openly licensed designs ("
            + ", ".join(f"{design}: {licence}" for design, licence in licences.items()) + ")"
            + ("; as a whole **CC-BY-SA-4.0** (share-alike designs are in it)" if share_alike else "")
            + f". Credit the designs when you publish images from this model: see [{LICENCE}](../../{LICENCE}).")


def usage(name: str, version: int, conditional: bool) -> list[str]:
    """How to sample and serve it: with no model argument when it is the default shipped model."""
    from keras_emojigan.shipped import DEFAULT_MODEL

    shipped = name == DEFAULT_MODEL
    model, base = ("", "") if shipped else (f" saved_models/{name}/{version}", f" saved_models/{name}")
    by_class = " --class positive" if conditional else ""
    picker = " (with a class picker)" if conditional else ""
    return [f"    emojigan sample{model}{by_class} -o grid.png",
            f"    emojigan serve{base}   # TF Serving's REST API and the gallery{picker}"]


def keep_previous_card(base: Path, previous: int) -> None:
    """Rename the previous version's card files to name their version (README-v1.md, ...), so the
    new version's card takes the plain names and both stay readable."""
    renamed = {}
    for name in CARD_FILES:
        path = base / name
        if path.exists():
            new = base / f"{path.stem}-v{previous}{path.suffix}"
            path.rename(new)
            renamed[name] = new.name
    card_path = base / f"README-v{previous}.md"
    if card_path.exists():
        text = card_path.read_text()
        for old, new in renamed.items():
            text = text.replace(f"({old})", f"({new})").replace(f"`{old}`", f"`{new}`")
        card_path.write_text(text)


def ship(run_dir: Path, name: str, *, saved_models: Path = Path("saved_models"),
         extractors=("fid-inception", "emoji-all"), notes: str = "", checkpoint: str = "auto",
         fine_tunable: bool = False, log=print) -> Path:
    """Export, measure and card ``run_dir`` as the next version of ``saved_models/name``; its path
    (``fine_tunable``: with the GAN's weights beside it for `fit --init-from`, ``export_run``)."""
    from keras_emojigan.metrics.extractors import EXTRACTORS
    from keras_emojigan.serving.export import check_model_name, version_lock

    base = Path(saved_models) / check_model_name(name)  # every check before any work
    unknown = [e for e in extractors if e not in EXTRACTORS]
    if unknown or not extractors:
        raise UserInputError(f"--extractors {','.join(extractors)}: {', '.join(unknown) or 'none given'}: use a comma "
                             f"list of {', '.join(EXTRACTORS)}")
    choose_checkpoint(run_dir, checkpoint)  # refuses a run without the checkpoint asked for
    with version_lock(base):
        return _ship(run_dir, base, name, extractors=extractors, notes=notes, checkpoint=checkpoint,
                     fine_tunable=fine_tunable, log=log)


def _ship(run_dir: Path, base: Path, name: str, *, extractors, notes: str, checkpoint: str, fine_tunable: bool,
          log) -> Path:
    from keras_emojigan.grid import image_grid
    from keras_emojigan.metrics.diversity import groups_figure
    from keras_emojigan.serving.export import export_run, next_version
    from keras_emojigan.serving.generator import load_generator
    from keras_emojigan.training.history import read_history, trained_in_bfloat16

    version_number = next_version(base)
    version = base / str(version_number)
    best, why = choose_checkpoint(run_dir, checkpoint)
    metadata, _ = export_run(run_dir, version, best=best, fine_tunable=fine_tunable)
    log(f"wrote {version} from the {metadata['checkpoint']} checkpoint ({why})")
    try:
        config = TrainConfig.from_dict(metadata["config"])
        results, fake, groups = measure(version, config.data, list(extractors), log)
    except BaseException:  # nothing half-shipped: the version goes with the failure
        shutil.rmtree(version, ignore_errors=True)
        raise
    if version_number > 1:
        keep_previous_card(base, version_number - 1)
    (base / "metrics.json").write_text(json.dumps(results, indent=2) + "\n")
    config.save(base / "training_config.json")
    image_grid(load_generator(version).generate(64, 0)).save(base / "samples.png", optimize=True)
    groups_figure(fake, groups, base / "groups.png")
    bfloat16 = trained_in_bfloat16(read_history(run_dir)) if (run_dir / "history.csv").exists() else None
    (base / "README.md").write_text(card(name, version_number, config, metadata, results, notes, why, bfloat16))
    return version
