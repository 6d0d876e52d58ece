"""`emojigan compare` and `emojigan search-n`: the paper's experiment, run by run, resumable.

compare trains every (model, seed) run under OUT/runs/ (finished runs are skipped, killed ones
resume), then writes OUT/table.md, OUT/table.csv (the paper's Table 1 with 95% intervals over
seeds and the relative changes of its conclusion) and the figures fig2_losses.png (Fig. 2),
fig3_metrics.png (Fig. 3) and fig4_samples.png (Fig. 4). All runs log under OUT/runs, so
`tensorboard --logdir OUT/runs` overlays them.

search-n is the paper's procedure for the proposed GAN's N: try N = 1, 2, ... and keep the
smallest N whose run trains ``stable_epochs`` epochs without becoming unstable (the
definition in training/instability.py).
"""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import numpy as np

from keras_emojigan.config import TrainConfig, make_config
from keras_emojigan.training.history import best_row, epoch_seconds, read_history

METRIC_KEYS = ("fid", "kid", "is_mean")
PANEL_WIDTH, DPI = 4.2, 110  # inches per figure panel, dots per inch
# Student t quantiles t(0.975, df) for df = 1..30; beyond that the normal 1.96.
T975 = (12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160, 2.145,
        2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048,
        2.045, 2.042)


def interval(values) -> tuple[float, float]:
    """Mean and half-width of the 95% t interval (half-width NaN for a single value)."""
    values = [v for v in values if v is not None and math.isfinite(v)]
    if not values:
        return math.nan, math.nan
    mean = float(np.mean(values))
    if len(values) < 2:
        return mean, math.nan
    t = T975[len(values) - 2] if len(values) - 1 <= len(T975) else 1.96
    return mean, float(t * np.std(values, ddof=1) / math.sqrt(len(values)))


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


def train_runs(configs: dict[str, TrainConfig], root: Path, log=print) -> dict[str, dict]:
    """Fit each named config in root/NAME unless it is finished; return the summaries."""
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
    return summaries


def compare(models, seeds, *, preset: str, epochs: int, out: Path, data: str | None = None,
            extractor: str | None = None, overrides: dict | None = None, log=print) -> dict:
    out = Path(out)
    configs = {f"{model}-s{seed}": make_config(preset, model=model, seed=seed, epochs=epochs, data=data,
                                                extractor=extractor, **(overrides or {}))
               for model in models for seed in seeds}
    for config in configs.values():
        if config.eval_every < 1:
            raise ValueError("compare needs per-epoch metrics: eval_every must be >= 1")
    summaries = train_runs(configs, out / "runs", log)
    histories = {name: read_history(out / "runs" / name) for name in configs}
    rows = table_rows(models, seeds, summaries, histories)
    write_tables(rows, out, preset=preset, epochs=epochs, seeds=seeds,
                 extractor=next(iter(summaries.values())).get("extractor"),
                 eval_samples=next(iter(configs.values())).eval_samples)
    plot_losses(models, seeds, histories, out / "fig2_losses.png")
    plot_metrics(models, seeds, histories, out / "fig3_metrics.png")
    plot_samples(models, seeds, summaries, out, out / "fig4_samples.png")
    log(f"wrote {out / 'table.md'}, table.csv, fig2_losses.png, fig3_metrics.png, fig4_samples.png; "
        f"TensorBoard: tensorboard --logdir {out / 'runs'}")
    return {"rows": rows, "summaries": summaries}


def table_rows(models, seeds, summaries, histories) -> list[dict]:
    rows = []
    for model in models:
        names = [f"{model}-s{seed}" for seed in seeds]
        row = {"model": model, "seeds": len(names)}
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
        row["first_unstable_epoch"] = [summaries[name]["first_unstable_epoch"] for name in names]
        row["epoch_seconds"] = epoch_seconds([h for name in names for h in histories[name]])
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


def _fmt(mean, half, digits=4):
    if not math.isfinite(mean):
        return "n/a"
    return f"{mean:.{digits}g}" + (f" ± {half:.2g}" if math.isfinite(half) else "")


def write_tables(rows, out: Path, *, preset, epochs, seeds, extractor, eval_samples) -> None:
    keys = sorted({k for row in rows for k in row}, key=lambda k: (k != "model", k))
    with open(out / "table.csv", "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=keys)
        writer.writeheader()
        writer.writerows(rows)
    lines = [
        f"Preset `{preset}`, {epochs} epochs, seeds {', '.join(map(str, seeds))}; extractor `{extractor}`, "
        f"{eval_samples} generated images against the whole data set per evaluation. Mean ± 95% t interval "
        "over seeds.",
        "",
        "| model | FID (best) | KID (best) | IS (best) | best epochs | FID (last) | KID (last) | IS (last) "
        "| first unstable epoch |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        cells = [row["model"]]
        for when in ("best", "last"):
            cells += [_fmt(row[f"{k}_{when}"], row[f"{k}_{when}_ci95"]) for k in METRIC_KEYS]
            if when == "best":
                cells.append(", ".join(map(str, row["epoch_best"])))
        cells.append(", ".join("none" if e is None else str(e) for e in row["first_unstable_epoch"]))
        lines.append("| " + " | ".join(cells) + " |")
    total = sum(row["epoch_seconds"] for row in rows)
    lines += ["", f"Time in epochs (training and evaluation, the sum of history.csv's seconds over all runs): "
              f"{total:.0f} s ({total / 3600:.2f} h); per model, all seeds: "
              + ", ".join(f"{row['model']} {row['epoch_seconds']:.0f} s" for row in rows) + "."]
    lines += ["", "Relative change of the best-epoch means (the form of the paper's conclusion; for FID and KID "
              "lower is better, for IS higher):", ""]
    for row in rows:
        changes = [f"{k} {row[f'{k}_best_vs_{b}_pct']:+.1f}% vs {b}" for b in ("dcgan", "deligan")
                   for k in METRIC_KEYS if f"{k}_best_vs_{b}_pct" in row and math.isfinite(row[f"{k}_best_vs_{b}_pct"])]
        if changes:
            lines.append(f"- {row['model']}: " + "; ".join(changes))
    (out / "table.md").write_text("\n".join(lines) + "\n")


def _figure(panels: int, height=3.2):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, panels, figsize=(PANEL_WIDTH * panels, height), squeeze=False,
                             layout="constrained")
    return plt, fig, axes[0]


def _save(plt, fig, path: Path) -> None:
    """A 256-colour palette PNG: a third of the RGBA file's size, no visible change (the figures
    are committed under docs/results/)."""
    import io

    from PIL import Image

    buffer = io.BytesIO()
    fig.savefig(buffer, dpi=DPI, format="png")
    plt.close(fig)
    with Image.open(buffer) as image:
        image.convert("RGB").quantize(256, dither=Image.Dither.NONE).save(path, optimize=True)


def _series(histories, names, key):
    """Per-epoch mean over runs (runs may stop early: the mean uses those still going)."""
    epochs = sorted({r["epoch"] for n in names for r in histories[n] if r.get(key) is not None})
    values = [np.mean([r[key] for n in names for r in histories[n]
                       if r["epoch"] == e and r.get(key) is not None]) for e in epochs]
    return epochs, values


def plot_losses(models, seeds, histories, path: Path) -> None:
    plt, fig, axes = _figure(len(models))
    for ax, model in zip(axes, models, strict=True):
        names = [f"{model}-s{s}" for s in seeds]
        for key, label, colour in (("g_loss", "G loss", "tab:blue"), ("d_loss", "D loss", "tab:orange")):
            for name in names:
                ax.plot([r["epoch"] for r in histories[name]], [r[key] for r in histories[name]],
                        color=colour, alpha=0.25, linewidth=0.8)
            ax.plot(*_series(histories, names, key), color=colour, label=label)
        ax.set_title(model)
        ax.set_xlabel("epoch")
        ax.legend()
    axes[0].set_ylabel("loss (mean over seeds; thin: each seed)")
    _save(plt, fig, path)


def plot_metrics(models, seeds, histories, path: Path) -> None:
    plt, fig, axes = _figure(2)
    for key, ax, title in (("is_mean", axes[0], "Inception-style score (higher is better)"),
                           ("fid", axes[1], "FID (lower is better)")):
        for model in models:
            ax.plot(*_series(histories, [f"{model}-s{s}" for s in seeds], key), marker="o", markersize=3,
                    label=model)
        ax.set_title(title)
        ax.set_xlabel("epoch")
        ax.legend()
    _save(plt, fig, path)


def plot_samples(models, seeds, summaries, out: Path, path: Path) -> None:
    from PIL import Image

    plt, fig, axes = _figure(len(models), height=4.4)
    for ax, model in zip(axes, models, strict=True):
        name = f"{model}-s{seeds[0]}"
        epoch = summaries[name].get("best_fid_epoch")
        sample = out / "runs" / name / "samples" / f"epoch_{epoch if epoch is not None else 0:04d}.png"
        if sample.exists():
            with Image.open(sample) as image:
                ax.imshow(np.asarray(image.convert("RGB")))
        ax.set_title(f"{model}, seed {seeds[0]}, best-FID epoch {epoch}")
        ax.axis("off")
    _save(plt, fig, path)


def search_n(*, max_n: int, stable_epochs: int, preset: str, out: Path, seed: int = 0, data: str | None = None,
             extractor: str | None = None, overrides: dict | None = None, log=print) -> dict:
    """Try N = 1..max_n; the first N whose run lasts ``stable_epochs`` epochs without becoming
    unstable is chosen. Returns and saves the trace."""
    out = Path(out)
    trace, chosen = [], None
    for n in range(1, max_n + 1):
        config = make_config(preset, model="proposed", latent_n=n, seed=seed, epochs=stable_epochs, data=data,
                             extractor=extractor, stop_on_collapse=True, **(overrides or {}))
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
