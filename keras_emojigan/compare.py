"""`emojigan compare` and `emojigan search-n`: the paper's experiment, run by run, resumable.

compare trains every (variant, seed) run under OUT/runs/ (finished runs are skipped, killed ones
resume), then writes OUT/table.md, OUT/table.csv (the paper's Table 1 with 95% intervals over
seeds and the relative changes of its conclusion) and the figures fig2_losses.png (Fig. 2),
fig3_metrics.png (Fig. 3) and fig4_samples.png (Fig. 4). All runs log under OUT/runs, so
`tensorboard --logdir OUT/runs` overlays them. A variant is a model with config fields of its
own, ``proposed:N=4`` (``Variant``), so an ablation is one comparison. With ``publish`` every
finished run's small records (config, history, summary, first/best/last sample grids) and the
tables and figures are copied to a folder meant to be committed, as each run finishes. On a new
machine (OUT gone, the published folder committed) those records stand in for the finished runs
(``restore_published``): compare trains only what was never finished and rebuilds the tables.

search-n is the paper's procedure for the proposed GAN's N: try N = 1, 2, ... and keep the
smallest N whose run trains ``stable_epochs`` epochs without becoming unstable (the
definition in training/instability.py).
"""

from __future__ import annotations

import csv
import dataclasses
import json
import math
import re
import shutil
import time
from pathlib import Path

import numpy as np
from PIL import Image

from keras_emojigan.config import ALIASES, MODELS, ConfigError, TrainConfig, make_config, parse_override
from keras_emojigan.metrics.keys import SCORES
from keras_emojigan.reports.figures import figure, palette_png, save_figure, series, wrapped
from keras_emojigan.reports.stats import interval
from keras_emojigan.reports.tables import markdown_table, mean_pm, percent, times
from keras_emojigan.training.checkpoint_metrics import KEYS as CHECKPOINT_KEYS
from keras_emojigan.training.checkpoint_metrics import NEAREST_FIGURE
from keras_emojigan.training.history import best_row, collapsed_epochs, epoch_seconds, read_history
from keras_emojigan.training.rundir import check_config

METRIC_KEYS = SCORES  # the table's columns, best and last
def run_is_finished(run_dir: Path, epochs: int) -> bool:
    """A run that needs no more training: all epochs done, or ended for good (stopped on
    collapse, or diverged: resuming would repeat the same diverging epoch)."""
    summary = run_dir / "summary.json"
    if not summary.exists():
        return False
    values = json.loads(summary.read_text())
    if values.get("status") in ("stopped_on_collapse", "diverged"):
        return True
    return values.get("status") == "finished" and values.get("epochs_done", 0) >= epochs


# Fields a variant or --set may not set: compare sets them per run from its own options.
RUN_FIELDS = {"model": "--models", "seed": "--seeds", "epochs": "--epochs"}


PATH_CHARACTERS = re.compile(r"[/\\\s]+")  # in a field's value, replaced in run folder names


@dataclasses.dataclass(frozen=True)
class Variant:
    """One row of a comparison: a model and the config fields it sets, e.g. ``proposed:N=4``."""

    model: str
    fields: tuple[tuple[str, object], ...] = ()

    @property
    def label(self) -> str:
        """As in the tables and --models: ``proposed:N=4``."""
        short = {v: k for k, v in ALIASES.items()}
        return ":".join([self.model, *(f"{short.get(k, k)}={v}" for k, v in self.fields)])

    @property
    def slug(self) -> str:
        """As in run folder names: ``proposed-N4`` (the plain model name when no field is set); a
        path's separators and spaces become ``_`` (``init_from=saved_models/emoji-prior/1`` ->
        ``init_fromsaved_models_emoji-prior_1``), so a run is one folder."""
        short = {v: k for k, v in ALIASES.items()}
        return "-".join([self.model, *(f"{short.get(k, k)}{PATH_CHARACTERS.sub('_', str(v))}" for k, v in self.fields)])

    def run_name(self, seed: int) -> str:
        return f"{self.slug}-s{seed}"


def parse_variant(spec: str) -> Variant:
    """``MODEL[:FIELD=VALUE]...`` -> Variant; FIELD is a TrainConfig field or N (= latent_n)."""
    model, *pairs = [part.strip() for part in spec.split(":")]
    if model not in MODELS:
        raise ConfigError(f"--models: {spec!r}: {model!r} is not a model; use one of {', '.join(MODELS)}, "
                          "optionally with :FIELD=VALUE, e.g. proposed:N=4")
    fields = {}
    for pair in pairs:
        key, value = parse_override(pair, f"--models {spec!r} (MODEL:FIELD=VALUE, FIELD a config field or N)")
        if key in RUN_FIELDS or key == "preset":
            raise ConfigError(f"--models: {spec!r}: {key} is set by {RUN_FIELDS.get(key, '--preset')}")
        fields[key] = value
    return Variant(model, tuple(sorted(fields.items())))


def run_config(preset: str, variant: Variant, seed: int, epochs: int, data=None, extractor=None,
               overrides: dict | None = None, **fixed) -> TrainConfig:
    """The config of one run: preset, then --set overrides, then the variant's fields and the run's
    own model/seed/epochs. --set may not name what compare sets per run."""
    overrides = dict(overrides or {})
    for key in overrides:
        if key in RUN_FIELDS or key in fixed:
            raise ConfigError(f"--set {key}=...: {key} is set per run by "
                              f"{RUN_FIELDS.get(key, 'this command')}; use that instead")
    for key, value in (("data", data), ("extractor", extractor)):
        if value is not None:
            if key in overrides and overrides[key] != value:
                raise ConfigError(f"--{key} {value} and --set {key}={overrides[key]} disagree: give one")
            overrides[key] = value
    return check_config(make_config(preset, **{**overrides, **dict(variant.fields), **fixed, "model": variant.model,
                                               "seed": seed, "epochs": epochs}))


def train_runs(configs: dict[str, TrainConfig], root: Path, log=print, on_finished=None) -> dict[str, dict]:
    """Fit each named config in root/NAME unless it is finished; return the summaries.
    ``on_finished(name)`` is called after each run that is finished (now or earlier)."""
    import keras

    from keras_emojigan.training.fit import TrainingDiverged, fit

    summaries = {}
    for name, config in configs.items():
        run_dir = root / name
        if run_is_finished(run_dir, config.epochs):
            log(f"{name}: finished earlier, skipped")
        else:
            log(f"{name}: training {config.model} (seed {config.seed}, {config.epochs} epochs)")
            try:
                fit(config, run_dir, verbose=0, log=log)
            except TrainingDiverged as err:  # recorded in its summary.json; the comparison goes on
                log(f"{name}: {err}")
            keras.backend.clear_session()
        summaries[name] = json.loads((run_dir / "summary.json").read_text())
        if on_finished is not None:
            on_finished(name)
    return summaries


RECORDS = ("config.json", "history.csv", "summary.json", "checkpoint_metrics.json", "classes.json", "class_guide.json")
OUTPUTS = ("table.md", "table.csv", "fig2_losses.png", "fig3_metrics.png", "fig4_samples.png")


PUBLISHED_GRID = 4  # published sample grids keep the first 4 x 4 images: 64 noisy 64x64 samples are 250 kB


def restore_published(configs: dict[str, TrainConfig], root: Path, publish: Path, log=print) -> list[str]:
    """Copy the published records of each finished run that is missing under root (a replaced machine)
    back to root/NAME, when its published config is the one requested; return their names. A
    restored run has no checkpoints: the table uses its history and the cached checkpoint_metrics.json."""
    restored = []
    for name, config in configs.items():
        source, target = Path(publish) / "runs" / name, Path(root) / name
        if (target / "summary.json").exists() or not run_is_finished(source, config.epochs):
            continue
        if (target / "checkpoints").exists():  # a run here with checkpoints of its own resumes; never deleted
            log(f"{name}: {source} is finished, but {target} has checkpoints of its own: resuming those")
            continue
        differences = TrainConfig.load(source / "config.json").differences(config)
        if differences:
            raise ConfigError(f"{source}: its published run is not the one requested ({'; '.join(differences)}); "
                              f"move it away, or publish elsewhere, to train it again")
        if target.exists():  # a partial folder without checkpoints (nothing to resume): replaced
            shutil.rmtree(target)
        shutil.copytree(source, target)
        restored.append(name)
        log(f"{name}: restored from {source} (its records only: no checkpoints)")
    return restored


def publish_run(run_dir: Path, dest: Path) -> None:
    """Copy a run's small records, and 4 x 4 images (``published_grid``) of its best-FID and last sample
    grids (palette PNGs, about 65 kB each), to dest/runs/NAME."""
    from keras_emojigan.training.rundir import run_classes

    target = Path(dest) / "runs" / run_dir.name
    (target / "samples").mkdir(parents=True, exist_ok=True)
    for name in RECORDS:
        if (run_dir / name).exists():
            shutil.copy2(run_dir / name, target / name)
    summary = json.loads((run_dir / "summary.json").read_text())
    resolution = TrainConfig.load(run_dir / "config.json").resolution  # a grid tile is resolution + GAP wide
    classes = len(run_classes(run_dir))
    epochs = {summary["epochs_done"] - 1, summary.get("best_fid_epoch")} - {None, -1}
    for epoch in sorted(epochs):
        grid = run_dir / "samples" / f"epoch_{epoch:04d}.png"
        if grid.exists():
            with Image.open(grid) as image:
                palette_png(published_grid(image, resolution, classes), target / "samples" / grid.name)


def published_grid(image: Image.Image, resolution: int, classes: int = 0) -> Image.Image:
    """The top-left PUBLISHED_GRID columns of a sample grid, and as many rows. A conditional run's
    grid has one block of rows per class: the first rows of each block are kept, so every class
    is shown (2 classes: 2 rows each; 3: 1 row each; beyond 4 classes, the first 4)."""
    from keras_emojigan.grid import BACKGROUND, GAP

    tile = resolution + GAP
    side = min(image.width, image.height, PUBLISHED_GRID * tile + GAP)
    if classes < 2:
        return image.crop((0, 0, side, side))
    block = ((image.height - GAP) // tile) // classes
    per_class = min(block, max(1, PUBLISHED_GRID // classes))
    rows = [c * block + r for c in range(classes) for r in range(per_class)][:PUBLISHED_GRID]
    kept = Image.new("RGB", (side, len(rows) * tile + GAP), BACKGROUND)
    for i, row in enumerate(rows):
        kept.paste(image.crop((0, row * tile, side, (row + 1) * tile + GAP)), (0, i * tile))
    return kept


SECOND_SPACE = "emoji-all"  # no discriminator uses it: the second feature space of every table


def checkpoint_meters(names: str | None, samples: int, log=print) -> list:
    """The CheckpointMeters of ``names`` (a comma list; default: fid-inception when its weights are
    here, then the second feature space, SECOND_SPACE; "none": no meter). The first draws the
    nearest-neighbour figures."""
    from keras_emojigan.metrics import fid_inception
    from keras_emojigan.metrics.extractors import EXTRACTORS, get_extractor
    from keras_emojigan.training.checkpoint_metrics import CheckpointMeter

    if names == "none":
        return []
    if names is None:
        chosen = [SECOND_SPACE]
        if fid_inception.weights_path().exists():
            chosen.insert(0, "fid-inception")
        else:
            log("the FID Inception is not on this machine: the checkpoints are measured in the second feature space "
                f"only, {SECOND_SPACE} (`emojigan extractors fetch fid-inception`, then rerun compare, adds them)")
    else:
        chosen = [name.strip() for name in names.split(",") if name.strip()]
        unknown = [name for name in chosen if name not in EXTRACTORS]
        if unknown or not chosen or len(set(chosen)) != len(chosen):
            raise ConfigError(f"--checkpoint-extractor {names!r}: give distinct extractors from "
                              f"{', '.join(EXTRACTORS)}, comma-separated, or none")
    return [CheckpointMeter(get_extractor(name), samples=samples, figure=i == 0) for i, name in enumerate(chosen)]


def checkpoint_prefix(index: int, extractor: str) -> str:
    """The table columns of the ``index``-th checkpoint extractor: ckpt_* for the first (as tables
    have always had them), ckpt_<extractor>_* for the others."""
    return "ckpt_" if index == 0 else f"ckpt_{extractor.replace('-', '_')}_"


def compare(models, seeds, *, preset: str, epochs: int, out: Path, data: str | None = None,
            extractor: str | None = None, overrides: dict | None = None, publish: Path | None = None,
            checkpoint_extractor: str | None = None, log=print) -> dict:
    """``models``: Variants or specs (``dcgan``, ``proposed:N=4``). Returns the table rows.

    ``checkpoint_extractor`` measures each run's best and last checkpoints again, with the
    memorisation check (a comma list; default: the FID Inception when its weights are here, and
    the second feature space, ``SECOND_SPACE``; "none" skips)."""
    started = time.time()
    out = Path(out)
    variants = [m if isinstance(m, Variant) else parse_variant(m) for m in models]
    if len({v.slug for v in variants}) != len(variants):
        raise ConfigError(f"--models: a variant is named twice: {', '.join(v.label for v in variants)}")
    configs = {v.run_name(seed): run_config(preset, v, seed, epochs, data, extractor, overrides)
               for v in variants for seed in seeds}
    for config in configs.values():
        if config.eval_every < 1:
            raise ConfigError("compare needs per-epoch metrics: eval_every must be >= 1")

    eval_samples = next(iter(configs.values())).eval_samples
    meters = checkpoint_meters(checkpoint_extractor, eval_samples, log)
    measured = {meter.extractor.name: {} for meter in meters}

    def finished(name):
        for meter in meters:
            measured[meter.extractor.name][name] = meter(out / "runs" / name, log)
        if publish is not None and name not in restored:  # a restored run's records are already there
            publish_run(out / "runs" / name, publish)

    restored = restore_published(configs, out / "runs", publish, log) if publish is not None else []
    summaries = train_runs(configs, out / "runs", log, on_finished=finished)
    histories = {name: read_history(out / "runs" / name) for name in configs}
    rows = table_rows(variants, seeds, summaries, histories, measured)
    write_tables(rows, out, preset=preset, epochs=epochs, seeds=seeds,
                 extractor=next(iter(summaries.values())).get("extractor"), eval_samples=eval_samples,
                 checkpoint_extractors=[meter.extractor.name for meter in meters])
    if meters:  # one memorisation figure per variant: its first seed's best checkpoint
        for variant in variants:
            nearest = out / "runs" / variant.run_name(seeds[0]) / NEAREST_FIGURE
            if nearest.exists():
                shutil.copy2(nearest, out / f"nearest_{variant.slug}.png")
                if publish is not None:
                    with Image.open(nearest) as image:
                        palette_png(image, Path(publish) / f"nearest_{variant.slug}.png")
    plot_losses(variants, seeds, histories, out / "fig2_losses.png")
    plot_metrics(variants, seeds, histories, out / "fig3_metrics.png")
    plot_samples(variants, seeds, summaries, out, out / "fig4_samples.png")
    if publish is not None and set(restored) == set(configs):  # the published figures hold the full sample grids
        log(f"every run was restored from {publish}: its tables and figures are left as they are")
    elif publish is not None:
        for name in OUTPUTS:
            shutil.copy2(out / name, Path(publish) / name)
    total = sum(row["epoch_seconds"] for row in rows)
    log(f"wrote {out / 'table.md'}, table.csv, fig2_losses.png, fig3_metrics.png, fig4_samples.png"
        + (f" (and copied them with every run's records to {publish})" if publish is not None else "")
        + f"; TensorBoard: tensorboard --logdir {out / 'runs'}")
    log(f"wall time of this call: {time.time() - started:.0f} s; the whole experiment's epochs, over all calls: "
        f"{total:.0f} s ({total / 3600:.2f} h)")
    return {"rows": rows, "summaries": summaries}


def table_rows(variants, seeds, summaries, histories, measured: dict | None = None) -> list[dict]:
    """One row per variant: means and 95% intervals over seeds at the best and last evaluated
    epochs; ``measured`` (extractor -> run name -> CheckpointMeter result) adds the checkpoint
    columns (``checkpoint_prefix``)."""
    measured = measured or {}
    rows = []
    for variant in variants:
        names = [variant.run_name(seed) for seed in seeds]
        row = {"model": variant.label, "seeds": len(names)}
        for when in ("best", "last"):
            picked = []
            for name in names:
                scored = [h for h in histories[name] if h.get("fid") is not None]
                if scored:
                    picked.append(best_row(scored) if when == "best" else scored[-1])
            for key in METRIC_KEYS:
                mean, half = interval([p[key] for p in picked])
                row[f"{key}_{when}"], row[f"{key}_{when}_ci95"] = mean, half
            row[f"epoch_{when}"] = [p["epoch"] for p in picked]
        for index, (extractor, by_run) in enumerate(measured.items()):
            prefix = checkpoint_prefix(index, extractor)
            for when in ("best", "last"):
                picked = [by_run[name][when] for name in names if when in by_run.get(name, {})]
                if picked:
                    for key in CHECKPOINT_KEYS:
                        mean, half = interval([p.get(key) for p in picked])
                        row[f"{prefix}{key}_{when}"], row[f"{prefix}{key}_{when}_ci95"] = mean, half
        row["first_unstable_epoch"] = [summaries[name]["first_unstable_epoch"] for name in names]
        row["collapsed_epochs"] = [collapsed_epochs(histories[name]) for name in names]
        row["epoch_seconds"] = epoch_seconds([h for name in names for h in histories[name]])
        per_run = [[m for by_run in measured.values() for m in by_run.get(name, {}).values()] for name in names]
        timed = [sum(m.get("seconds", 0) for m in ms) for ms in per_run if any("seconds" in m for m in ms)]
        if timed:
            row["ckpt_seconds"], row["ckpt_timed_runs"] = round(sum(timed), 1), len(timed)
        rows.append(row)
    by_model = {row["model"]: row for row in rows}
    for row in rows:
        for baseline in ("dcgan", "deligan"):
            if baseline in by_model and baseline != row["model"]:
                for key in METRIC_KEYS:
                    base = by_model[baseline][f"{key}_best"]
                    row[f"{key}_best_vs_{baseline}_pct"] = 100.0 * (row[f"{key}_best"] - base) / base \
                        if base and math.isfinite(base) else math.nan
    return rows


def write_tables(rows, out: Path, *, preset, epochs, seeds, extractor, eval_samples,
                 checkpoint_extractors=()) -> None:
    keys = sorted({k for row in rows for k in row}, key=lambda k: (k != "model", k))
    with open(out / "table.csv", "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=keys)
        writer.writeheader()
        writer.writerows(rows)
    def run_cells(row):
        cells = [row["model"]]
        for when in ("best", "last"):
            cells += [mean_pm(row[f"{k}_{when}"], row[f"{k}_{when}_ci95"]) for k in METRIC_KEYS]
            if when == "best":
                cells.append(", ".join(map(str, row["epoch_best"])))
        cells.append(", ".join("none" if e is None else str(e) for e in row["first_unstable_epoch"]))
        return cells + [", ".join(map(str, row["collapsed_epochs"]))]

    lines = [
        f"Preset `{preset}`, {epochs} epochs, seeds {', '.join(map(str, seeds))}; extractor `{extractor}`, "
        f"{eval_samples} generated images against the whole data set per evaluation. Mean ± 95% t interval "
        "over seeds.",
        "",
        *markdown_table(["model", "FID (best)", "KID (best)", "IS (best)", "best epochs", "FID (last)", "KID (last)",
                         "IS (last)", "first unstable epoch", "collapsed epochs"], map(run_cells, rows)),
    ]
    for index, extractor in enumerate(checkpoint_extractors):
        prefix = checkpoint_prefix(index, extractor)
        if any(f"{prefix}fid_best" in row for row in rows):
            lines += ["", *checkpoint_table(rows, prefix, extractor, index, eval_samples)]
    total = sum(row["epoch_seconds"] for row in rows)
    lines += ["", f"Time in epochs (training and evaluation, the sum of history.csv's seconds over all runs): "
              f"{total:.0f} s ({total / 3600:.2f} h); per model, all seeds: "
              + ", ".join(f"{row['model']} {row['epoch_seconds']:.0f} s" for row in rows) + "."]
    timed = [row for row in rows if row.get("ckpt_timed_runs")]
    if timed:
        lines[-1] += (f" Measuring checkpoints again ({', '.join(f'`{e}`' for e in checkpoint_extractors)}, "
                      "best and last): "
                      f"{sum(r['ckpt_seconds'] for r in timed):.0f} s over the "
                      f"{sum(r['ckpt_timed_runs'] for r in timed)} runs that timed it.")
    changes = {row["model"]: [f"{k} {row[f'{k}_best_vs_{b}_pct']:+.1f}% vs {b}" for b in ("dcgan", "deligan")
                              for k in METRIC_KEYS
                              if f"{k}_best_vs_{b}_pct" in row and math.isfinite(row[f"{k}_best_vs_{b}_pct"])]
               for row in rows}
    if any(changes.values()):  # a table without DCGAN or DeLiGAN (the N ablation) has nothing to compare with
        lines += ["", "Relative change of the best-epoch means (the form of the paper's conclusion; for FID and KID "
                  "lower is better, for IS higher):", ""]
        lines += [f"- {model}: " + "; ".join(listed) for model, listed in changes.items() if listed]
    (out / "table.md").write_text("\n".join(lines) + "\n")


def checkpoint_table(rows, prefix: str, extractor: str, index: int, eval_samples: int) -> list[str]:
    """The checkpoints measured in one feature space: FID and its ratio to the real-vs-real floor,
    KID, memorisation, recall and near-duplicates, best and last (columns ``prefix``*)."""
    diverse = any(math.isfinite(row.get(f"{prefix}recall_best", math.nan)) for row in rows)

    def cells(row):
        out = [row["model"]]
        for when in ("best", "last"):
            fid, kid = (mean_pm(row.get(f"{prefix}{k}_{when}", math.nan), row.get(f"{prefix}{k}_{when}_ci95", math.nan))
                        for k in ("fid", "kid"))
            shares = (percent(row.get(f"{prefix}{k}_{when}")) for k in ("memorised_share", "memorised_share_pixels"))
            out += [fid, times(row.get(f"{prefix}fid_over_floor_{when}", math.nan),
                               row.get(f"{prefix}fid_over_floor_{when}_ci95", math.nan)), kid, " / ".join(shares)]
        if diverse:
            out.append(" / ".join(mean_pm(row.get(f"{prefix}recall_{w}", math.nan), math.nan, 2)
                                  for w in ("best", "last")))
            out.append(" / ".join(percent(row.get(f"{prefix}near_duplicate_share_{w}")) for w in ("best", "last")))
        return out

    where = ("a second feature space that no discriminator uses (the classifier trained on emoji-all, never on "
             "emoji-faces; docs/evaluation.md)" if extractor == SECOND_SPACE else f"`{extractor}`")
    intro = (f"The same runs' best-FID and last checkpoints measured in {where}"
             if index else f"The same runs' best-FID and last checkpoints measured with `{extractor}`")
    intro += (f" ({eval_samples} generated images against the whole data set; over the floor: as many generated "
              "images as half the real set against each real half, over one real half against the other), and the "
              "memorisation check: the share of generated "
              "images nearer to a training image than 95% of training images are to their nearest neighbour, in "
              f"`{extractor}` features and in pixels (`keras_emojigan/metrics/memorisation.py`).")
    if diverse:
        intro += (" Diversity beside them: recall (k = 3; real half against real half: about 0.85) and "
                  "the near-duplicate share, generated images whose nearest other generated image is "
                  "closer than the real set's 5th-percentile spacing (the real set: 5%; "
                  "`keras_emojigan/metrics/diversity.py`).")
    header = ["model", "FID (best ckpt)", "over floor (best)", "KID (best ckpt)", "memorised (best, features / pixels)",
              "FID (last ckpt)", "over floor (last)", "KID (last ckpt)", "memorised (last, features / pixels)",
              *(("recall (best / last)", "near-duplicates (best / last)") if diverse else ())]
    return [intro, "", *markdown_table(header, map(cells, rows))]


def plot_losses(variants, seeds, histories, path: Path) -> None:
    plt, fig, axes = figure(len(variants))
    for ax, variant in zip(axes, variants, strict=True):
        names = [variant.run_name(s) for s in seeds]
        for key, label, colour in (("g_loss", "G loss", "tab:blue"), ("d_loss", "D loss", "tab:orange")):
            for name in names:
                ax.plot([r["epoch"] for r in histories[name]], [r[key] for r in histories[name]],
                        color=colour, alpha=0.25, linewidth=0.8)
            ax.plot(*series(histories, names, key), color=colour, label=label)
        ax.set_title(wrapped(variant.label))
        ax.set_xlabel("epoch")
        ax.legend()
    axes[0].set_ylabel("loss (mean over seeds; thin: each seed)")
    save_figure(plt, fig, path)


LEGEND_CHARACTERS = 100  # characters of legend text that fit across the two panels of fig. 3


def plot_metrics(variants, seeds, histories, path: Path) -> None:
    """IS and FID per epoch, one line per variant, and one legend for both panels below them (a
    legend inside a panel squeezed it to nothing once labels grew long: class_loss_weight=...)."""
    longest = max(len(variant.label) for variant in variants)
    columns = max(1, min(len(variants), LEGEND_CHARACTERS // (longest + 6)))
    legend_rows = math.ceil(len(variants) / columns)
    plt, fig, axes = figure(2, height=3.2 + 0.25 * legend_rows)
    for key, ax, title in (("is_mean", axes[0], "IS (higher is better)"), ("fid", axes[1], "FID (lower is better)")):
        for variant in variants:
            epochs, mean, low, high = series(histories, [variant.run_name(s) for s in seeds], key, spread=True)
            line, = ax.plot(epochs, mean, marker="o", markersize=3, label=variant.label)
            if len(seeds) > 1:  # the band from the lowest to the highest seed
                ax.fill_between(epochs, low, high, color=line.get_color(), alpha=0.15, linewidth=0)
        ax.set_title(title)
        ax.set_xlabel("epoch")
    fig.legend(*axes[0].get_legend_handles_labels(), loc="outside lower center", ncols=columns, fontsize="small")
    axes[1].set_yscale("log")  # early FIDs are 10-50x the late ones
    if len(seeds) > 1:
        fig.suptitle(f"Per-epoch IS and FID: mean over {len(seeds)} seeds, band from the lowest to the highest")
    save_figure(plt, fig, path)


def plot_samples(variants, seeds, summaries, out: Path, path: Path) -> None:
    from PIL import Image

    plt, fig, axes = figure(len(variants), height=4.4)
    for ax, variant in zip(axes, variants, strict=True):
        name = variant.run_name(seeds[0])
        epoch = summaries[name].get("best_fid_epoch")
        sample = out / "runs" / name / "samples" / f"epoch_{epoch if epoch is not None else 0:04d}.png"
        if sample.exists():
            with Image.open(sample) as image:
                ax.imshow(np.asarray(image.convert("RGB")))
        ax.set_title(f"{wrapped(variant.label)}\nseed {seeds[0]}, best-FID epoch {epoch}")
        ax.axis("off")
    save_figure(plt, fig, path)


def search_n(*, max_n: int, stable_epochs: int, preset: str, out: Path, seed: int = 0, data: str | None = None,
             extractor: str | None = None, overrides: dict | None = None, log=print) -> dict:
    """Try N = 1..max_n; the first N whose run lasts ``stable_epochs`` epochs without becoming
    unstable is chosen. Returns and saves the trace."""
    out = Path(out)
    trace, chosen = [], None
    for n in range(1, max_n + 1):
        config = run_config(preset, Variant("proposed"), seed, stable_epochs, data, extractor, overrides,
                            latent_n=n, stop_on_collapse=True)
        summary = train_runs({f"proposed-N{n}": config}, out / "runs", log)[f"proposed-N{n}"]
        stable = summary["first_unstable_epoch"] is None and summary["status"] == "finished"
        trace.append({"n": n, "first_unstable_epoch": summary["first_unstable_epoch"],
                      "best_fid": summary.get("best_fid"), "best_fid_epoch": summary.get("best_fid_epoch"),
                      "epochs_done": summary["epochs_done"], "stable": stable})
        log(f"N={n}: " + ("stable" if stable else f"unstable from epoch {summary['first_unstable_epoch']}"
                          if summary["first_unstable_epoch"] is not None else summary["status"])
            + (f", best FID {summary['best_fid']:.4g}" if summary.get("best_fid") is not None else ""))
        if stable:
            chosen = n
            break
    result = {"chosen_n": chosen, "stable_epochs": stable_epochs, "preset": preset, "seed": seed, "trace": trace}
    (out / "search_n.json").write_text(json.dumps(result, indent=2) + "\n")
    with open(out / "search_n.csv", "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(trace[0]))
        writer.writeheader()
        writer.writerows(trace)
    return result
