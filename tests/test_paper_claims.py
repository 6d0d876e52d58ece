"""scripts/experiments/paper/paper_claims.py: verdicts from fabricated 100-epoch records (no training)."""

import csv
import json
from pathlib import Path

import pytest
from PIL import Image
from script_loader import load_script

from keras_emojigan.config import make_config
from keras_emojigan.training.history import COLUMNS

claims = load_script("paper_claims")


def _run(folder: Path, name: str, model: str, seed: int, fid: float, is_mean: float, unstable_at=None,
         collapsed=0, memorised=0.0, latent_n=1, epochs=100, finished=True, status="finished"):
    """A run's records: FID falls to ``fid`` at epoch 89; ``collapsed`` collapsed epochs at the end."""
    run_dir = folder / "runs" / name
    run_dir.mkdir(parents=True)
    make_config("default", model=model, seed=seed, latent_n=latent_n, epochs=epochs).save(run_dir / "config.json")
    with open(run_dir / "history.csv", "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=COLUMNS)
        writer.writeheader()
        for epoch in range(epochs):
            scored = epoch % 5 == 4
            writer.writerow({k: "" for k in COLUMNS} | {
                "epoch": epoch, "d_loss": 1.0, "g_loss": 1.0, "d_real": 0.5, "d_fake": 0.5, "sigma_term": 0.0,
                "collapsed": float(epoch >= epochs - collapsed), "unstable": 0.0, "seconds": 10.0,
                **({"fid": fid if epoch == 89 else fid * 2, "kid": 1.0, "is_mean": is_mean} if scored else {})})
    status = status if finished else "running"
    (run_dir / "summary.json").write_text(json.dumps(
        {"status": status, "epochs_done": epochs if finished else 40, "epochs": epochs, "model": model,
         "first_unstable_epoch": unstable_at, "epoch_seconds": 10.0 * epochs}))
    (run_dir / "checkpoint_metrics.json").write_text(json.dumps(
        {"fid-inception": {"best": {"epoch": 89, "fid": fid * 5, "kid": 0.1, "memorised_share": memorised}}}))


@pytest.fixture()
def results(tmp_path):
    default = tmp_path / "paper100-default"
    for seed, (unstable, spread) in enumerate(((12, 0.0), (30, 3.0), (55, -3.0))):
        _run(default, f"dcgan-s{seed}", "dcgan", seed, 100 + spread, 5.0 + spread / 10, unstable_at=unstable,
             collapsed=20)
        _run(default, f"deligan-s{seed}", "deligan", seed, 60 + spread, 7.0, unstable_at=(85, 88, None)[seed])
        _run(default, f"proposed-s{seed}", "proposed", seed, 40 + spread, 7.0 + spread / 30, collapsed=10)
    _run(tmp_path / "paper100-paper", "dcgan-s0", "dcgan", 0, 100, 5.0, finished=False)
    for seed in range(3):  # one diverged at lr 1e-2: it has ended, unstable where it diverged
        _run(tmp_path / "paper100-paper", f"deligan-s{seed}", "deligan", seed, 80, 6.0,
             unstable_at=(88, 91, None)[seed], status="diverged" if seed == 2 else "finished")
    ablation = tmp_path / "paper100-ablation-n"
    for seed in range(3):
        _run(ablation, f"proposed-N8-s{seed}", "proposed", seed, 45 + seed, 5.0 + seed / 10, latent_n=8,
             collapsed=2 + seed, memorised=0.01 * seed)
    return tmp_path


def test_verdicts_follow_the_records(results):
    assert claims.main(["--results", str(results)]) == 0
    table = (results / "paper100-claims.md").read_text()
    rows = {}
    for line in table.splitlines()[2:]:
        if line.startswith("| "):
            cells = [c.strip() for c in line.strip("|").split("|")]
            rows.setdefault((cells[0], cells[1]), cells[2:])
    verdict = {key: value[0].strip("*") for key, value in rows.items()}
    assert verdict["DCGAN becomes unstable (Fig. 2a)", "`default`"] == "holds"
    deligan = next(v for k, v in verdict.items() if k[0].startswith("DeLiGAN keeps") and k[1] == "`default`")
    assert deligan == "not significant"  # 2 of 3 seeds in 80-99
    assert verdict["The proposed GAN stays stable (Fig. 2c)", "`default`"] == "holds"
    assert verdict["The proposed GAN's FID is lower than DCGAN's (conclusion: -81%)", "`default`"] == "holds"
    assert "-60% ±" in rows["The proposed GAN's FID is lower than DCGAN's (conclusion: -81%)", "`default`"][1]
    assert verdict["DCGAN's FID is lower than DeLiGAN's (Table 1: 0.30 vs 0.34)", "`default`"] == "does not hold"
    assert verdict["The proposed GAN's IS is higher than DeLiGAN's (conclusion: +106%)", "`default`"] \
        == "not significant"
    assert verdict["DCGAN becomes unstable (Fig. 2a)", "`paper`"] == "pending"  # still training: left out
    paper_deligan = next(v for k, v in rows.items() if k[0].startswith("DeLiGAN keeps") and k[1] == "`paper`")
    assert paper_deligan[0] == "**not significant**" and "100 (diverged)" in paper_deligan[1]
    assert verdict["A larger N is more stable (section 3.1)", "`default`"] == "holds"  # 2-4 vs 10 collapsed
    assert verdict["A larger N lowers diversity (section 3.1)", "`default`"] == "holds"  # IS 5.1 vs 7.0
    assert verdict["A larger N copies fine details (section 3.1)", "`default`"] == "not significant"
    for seen in ("... seen in FID: a less diverse G scores a higher FID",  # 45-47 vs 37-43: within the interval
                 "... seen in the FID Inception (standard FID, best checkpoint)"):
        assert verdict[seen, "`default`"] == "not significant"
        assert "(N=8 vs N=1)" in rows[seen, "`default`"][1]
    assert "15 runs of 100 epochs" in table
    with Image.open(results / "paper100-ablation-n" / "fig_ablation_n.png") as image:
        assert image.format == "PNG"


def test_a_larger_n_with_a_clearly_higher_fid_holds_and_a_lower_one_does_not(tmp_path):
    """The FID rows test "N = 8's FID is higher than N = 1's" (a less diverse G), not lower."""
    for n8_fid, expected in ((80.0, "holds"), (20.0, "does not hold")):
        root = tmp_path / str(n8_fid)
        for seed in range(3):
            _run(root / "paper100-default", f"proposed-s{seed}", "proposed", seed, 40 + seed, 7.0)
            _run(root / "paper100-ablation-n", f"proposed-N8-s{seed}", "proposed", seed, n8_fid + seed, 5.0,
                 latent_n=8)
        assert claims.main(["--results", str(root)]) == 0
        table = (root / "paper100-claims.md").read_text()
        for seen in ("... seen in FID: a less diverse G scores a higher FID",
                     "... seen in the FID Inception (standard FID, best checkpoint)"):
            assert f"| {seen} | `default` | **{expected}** |" in table


def test_welch_interval():
    diff, half = claims.welch([1.0, 2.0, 3.0], [4.0, 5.0, 6.0])
    assert diff == -3.0 and half == pytest.approx(2.776 * (2 / 3) ** 0.5, rel=1e-3)  # df = 4
