"""The paper's claims, one by one, against the 100-epoch experiment (scripts/experiments/paper/paper_experiment.sh).

Reads the published records under RESULTS (paper100-default, paper100-paper, paper100-ablation-n:
each run's config, history, summary and checkpoint metrics) and writes RESULTS/paper100-claims.md,
one row per claim and preset: holds / does not hold / not significant, with the numbers behind
it, and RESULTS/paper100-ablation-n/fig_ablation_n.png (FID and IS per epoch, one line per N with
its seed band; N = 1 is the default table's proposed GAN).

A comparison of two models is significant when the 95% Welch t interval of the difference of
their seed means excludes zero (the t quantile at the Welch-Satterthwaite degrees of freedom,
rounded down: conservative). The paper's percentages do not follow from its own Table 1
(shared/paper/PAPER.md), so the direction is the claim tested and the measured change is shown
beside the printed one. Runs still training are left out and their claims marked pending.

    python scripts/experiments/paper/paper_claims.py [--results docs/results] [--seeds 3]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import sys
from pathlib import Path

import numpy as np

from keras_emojigan.compare import run_is_finished
from keras_emojigan.config import TrainConfig
from keras_emojigan.reports.figures import figure, save_figure, series
from keras_emojigan.reports.stats import t975
from keras_emojigan.reports.tables import markdown_table
from keras_emojigan.training.history import best_row, collapsed_epochs, read_history

TABLES = {"default": "paper100-default", "paper": "paper100-paper"}
ABLATION = "paper100-ablation-n"
EPOCHS = 100
LARGEST_N = 8  # the ablation's largest N, compared with N = 1
DELIGAN_WINDOW = (80, 99)  # "about epoch 90": a first unstable epoch in this window
HOLDS, FAILS, NOT_SIGNIFICANT, PENDING = "holds", "does not hold", "not significant", "pending"


@dataclasses.dataclass
class Run:
    """One finished run's records."""

    name: str
    config: TrainConfig
    history: list[dict]
    summary: dict
    checkpoint: dict  # checkpoint_metrics.json's fid-inception entry ({} when not measured)

    @property
    def best(self) -> dict:
        return best_row(self.history) or {}

    @property
    def diverged(self) -> bool:
        return self.summary.get("status") == "diverged"

    @property
    def unstable_at(self):
        """The first unstable epoch; a run that diverged (non-finite losses) is unstable from the
        epoch it diverged in, if not before."""
        first = self.summary.get("first_unstable_epoch")
        return self.summary.get("epochs_done", 0) if first is None and self.diverged else first

    @property
    def collapsed_epochs(self) -> int:
        return collapsed_epochs(self.history)


def load_runs(folder: Path) -> list[Run]:
    """The runs under folder/runs that have ended: finished, diverged or stopped on collapse
    (runs still training are skipped)."""
    runs = []
    for run_dir in sorted((Path(folder) / "runs").glob("*")):
        if not run_is_finished(run_dir, EPOCHS):  # still training
            continue
        summary = json.loads((run_dir / "summary.json").read_text())
        ckpt_path = run_dir / "checkpoint_metrics.json"
        checkpoint = json.loads(ckpt_path.read_text()).get("fid-inception", {}) if ckpt_path.exists() else {}
        runs.append(Run(run_dir.name, TrainConfig.load(run_dir / "config.json"), read_history(run_dir), summary,
                        checkpoint))
    return runs


def pick(runs: list[Run], model: str, latent_n: int | None = None) -> list[Run]:
    return sorted((r for r in runs if r.config.model == model and (latent_n is None or r.config.latent_n == latent_n)),
                  key=lambda r: r.config.seed)


def welch(a, b) -> tuple[float, float]:
    """Difference of means a - b and the half-width of its 95% Welch t interval."""
    a, b = np.asarray(a, float), np.asarray(b, float)
    va, vb = a.var(ddof=1) / len(a), b.var(ddof=1) / len(b)
    se = math.sqrt(va + vb)
    diff = float(a.mean() - b.mean())
    if se == 0:
        return diff, 0.0
    df = (va + vb) ** 2 / (va ** 2 / (len(a) - 1) + vb ** 2 / (len(b) - 1))
    return diff, t975(df) * se


def fmt(value, digits=3) -> str:
    return f"{value:.{digits}g}"


def compare_means(a, b, names, metric, a_lower: bool, printed: str | None, seeds: int) -> tuple[str, str]:
    """Verdict and evidence for the claim "a's mean is lower than b's" (``a_lower``) or "higher"
    on one metric (lists of per-seed values)."""
    a = [v for v in a if v is not None and math.isfinite(v)]
    b = [v for v in b if v is not None and math.isfinite(v)]
    if len(a) < seeds or len(b) < seeds:
        return PENDING, f"{len(a)} and {len(b)} of {seeds} seeds finished"
    diff, half = welch(a, b)
    base = float(np.mean(b))
    change = (f"{100 * diff / base:+.0f}% ± {100 * half / abs(base):.0f}%" if base
              else f"{diff:+.3g} ± {half:.2g}")
    agrees = diff < 0 if a_lower else diff > 0
    verdict = NOT_SIGNIFICANT if abs(diff) <= half else HOLDS if agrees else FAILS
    evidence = (f"{metric} {fmt(np.mean(a))} ({', '.join(fmt(v) for v in a)}) vs {fmt(base)} "
                f"({', '.join(fmt(v) for v in b)}): {change} "
                f"({names[0]} vs {names[1]})" + (f"; printed: {printed}" if printed else ""))
    return verdict, evidence


def stability(runs: list[Run], seeds: int, expect_unstable: bool, window=None) -> tuple[str, str]:
    """Verdict and evidence for "every seed becomes unstable" (in ``window`` when given) or
    "no seed becomes unstable"."""
    if len(runs) < seeds:
        return PENDING, f"{len(runs)} of {seeds} seeds finished"
    epochs = [r.unstable_at for r in runs]

    def agrees(epoch):
        if not expect_unstable:
            return epoch is None
        return epoch is not None and (window is None or window[0] <= epoch <= window[1])

    count = sum(map(agrees, epochs))
    verdict = HOLDS if count == len(runs) else FAILS if count == 0 else NOT_SIGNIFICANT
    shown = ", ".join("never" if e is None else f"{e} (diverged)" if r.diverged else str(e)
                      for e, r in zip(epochs, runs, strict=True))
    collapsed = ", ".join(str(r.collapsed_epochs) for r in runs)
    return verdict, (f"{count} of {len(runs)} seeds agree; first unstable epoch per seed: {shown}; "
                     f"collapsed epochs per seed: {collapsed}")


def emoji(group: list[Run], key: str) -> list:
    """Per seed: ``key`` at the run's best epoch (emoji extractor, history.csv)."""
    return [r.best.get(key) for r in group]


def inception(group: list[Run], key: str) -> list:
    """Per seed: ``key`` of the run's best checkpoint measured with the FID Inception."""
    return [r.checkpoint.get("best", {}).get(key) for r in group]


def preset_claims(preset: str, runs: list[Run], seeds: int) -> list[tuple[str, str, str, str]]:
    dcgan, deligan, proposed = (pick(runs, m, 1 if m == "proposed" else None) for m in ("dcgan", "deligan", "proposed"))
    rows = [("DCGAN becomes unstable (Fig. 2a)", preset, *stability(dcgan, seeds, True)),
            ("DeLiGAN keeps the contest until about epoch 90, then becomes unstable (Fig. 2b; "
             f"first unstable epoch in {DELIGAN_WINDOW[0]}-{DELIGAN_WINDOW[1]})", preset,
             *stability(deligan, seeds, True, DELIGAN_WINDOW)),
            ("The proposed GAN stays stable (Fig. 2c)", preset, *stability(proposed, seeds, False))]

    printed = ((dcgan, "DCGAN", "-81%", "+129%"), (deligan, "DeLiGAN", "-71%", "+106%"))  # the conclusion's
    for other, name, fid_printed, is_printed in printed:
        names = ("proposed", name)
        rows.append((f"The proposed GAN's FID is lower than {name}'s (conclusion: {fid_printed})", preset,
                     *compare_means(emoji(proposed, "fid"), emoji(other, "fid"), names, "emoji FID (best epoch)",
                                    True, fid_printed, seeds)))
        rows.append(("... with the FID Inception (standard FID, best checkpoint)", preset,
                     *compare_means(inception(proposed, "fid"), inception(other, "fid"), names,
                                    "FID-Inception", True, fid_printed, seeds)))
        rows.append((f"The proposed GAN's IS is higher than {name}'s (conclusion: {is_printed})", preset,
                     *compare_means(emoji(proposed, "is_mean"), emoji(other, "is_mean"), names,
                                    "emoji IS (best epoch)", False, is_printed, seeds)))
    rows.append(("DCGAN's FID is lower than DeLiGAN's (Table 1: 0.30 vs 0.34)", preset,
                 *compare_means(emoji(dcgan, "fid"), emoji(deligan, "fid"), ("DCGAN", "DeLiGAN"),
                                "emoji FID (best epoch)", True, None, seeds)))
    rows.append(("... with the FID Inception (standard FID, best checkpoint)", preset,
                 *compare_means(inception(dcgan, "fid"), inception(deligan, "fid"), ("DCGAN", "DeLiGAN"),
                                "FID-Inception", True, None, seeds)))
    return rows


def ablation_claims(by_n: dict[int, list[Run]], seeds: int) -> list[tuple[str, str, str, str]]:
    """Section 3.1: a larger N is more stable but copies fine details and lowers diversity (LARGEST_N vs 1)."""
    low, high = by_n.get(1, []), by_n.get(LARGEST_N, [])
    names = (f"N={LARGEST_N}", "N=1")
    unstable = "; ".join(f"N={n}: " + ", ".join("never" if r.unstable_at is None else str(r.unstable_at) for r in runs)
                         for n, runs in sorted(by_n.items()))
    verdict, evidence = compare_means([r.collapsed_epochs for r in high], [r.collapsed_epochs for r in low], names,
                                      "collapsed epochs", True, None, seeds)
    return [
        ("A larger N is more stable (section 3.1)", "default", verdict,
         evidence + (f"; first unstable epoch per seed, {unstable}" if unstable else "")),
        ("A larger N lowers diversity (section 3.1)", "default",
         *compare_means(emoji(high, "is_mean"), emoji(low, "is_mean"), names,
                        "emoji IS (best epoch; lower = less diverse)", True, None, seeds)),
        ("... seen in FID: a less diverse G scores a higher FID", "default",
         *compare_means(emoji(high, "fid"), emoji(low, "fid"), names,
                        "emoji FID (best epoch)", False, None, seeds)),
        ("... seen in the FID Inception (standard FID, best checkpoint)", "default",
         *compare_means(inception(high, "fid"), inception(low, "fid"), names, "FID-Inception", False, None,
                        seeds)),
        ("A larger N copies fine details (section 3.1)", "default",
         *compare_means(inception(high, "memorised_share"), inception(low, "memorised_share"), names,
                        "memorised share (FID-Inception features, best checkpoint)", False, None, seeds)),
    ]


def plot_ablation(by_n: dict[int, list[Run]], path: Path) -> None:
    plt, fig, axes = figure(2)
    for ax, (key, title) in zip(axes, (("fid", "FID (emoji extractor)"), ("is_mean", "IS (emoji extractor)")),
                                strict=True):
        for n, runs in sorted(by_n.items()):
            epochs, mean, low, high = series({r.name: r.history for r in runs}, [r.name for r in runs], key,
                                              spread=True)
            line, = ax.plot(epochs, mean, marker="o", markersize=3, label=f"N={n} ({len(runs)} seeds)")
            ax.fill_between(epochs, low, high, color=line.get_color(), alpha=0.15)
        ax.set_xlabel("epoch")
        ax.set_title(title)
        ax.legend()
    axes[0].set_yscale("log")
    fig.suptitle("The proposed GAN's N (default preset): mean over seeds, band from lowest to highest seed")
    save_figure(plt, fig, path)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--results", type=Path, default=Path("docs/results"))
    parser.add_argument("--seeds", type=int, default=3, help="seeds per model a verdict needs")
    args = parser.parse_args(argv)
    tables = {preset: load_runs(args.results / folder) for preset, folder in TABLES.items()}
    rows = [row for preset, runs in tables.items() for row in preset_claims(preset, runs, args.seeds)]
    by_n = {1: pick(tables["default"], "proposed", 1)}
    for run in load_runs(args.results / ABLATION):
        by_n.setdefault(run.config.latent_n, []).append(run)
    by_n = {n: sorted(runs, key=lambda r: r.config.seed) for n, runs in by_n.items() if runs}
    rows += ablation_claims(by_n, args.seeds)
    if by_n and (args.results / ABLATION).exists():
        plot_ablation(by_n, args.results / ABLATION / "fig_ablation_n.png")
    all_runs = [r for runs in tables.values() for r in runs] + [r for n, runs in by_n.items() if n != 1 for r in runs]
    hours = sum(r.summary.get("epoch_seconds", 0) for r in all_runs) / 3600
    lines = markdown_table(["claim", "preset", "verdict", "the numbers behind it (mean over seeds, per-seed values; "
                            "change ± 95% Welch interval)"],
                           [[claim, f"`{preset}`", f"**{verdict}**", evidence]
                            for claim, preset, verdict, evidence in rows])
    lines += ["", f"{len(all_runs)} runs of 100 epochs (or fewer, where a run diverged); their epochs took "
              f"{hours:.1f} h in all (the sum "
              "of history.csv's seconds: training and per-epoch evaluation). Written by "
              "`python scripts/experiments/paper/paper_claims.py`."]
    (args.results / "paper100-claims.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
