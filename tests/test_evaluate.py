"""emojigan evaluate, metrics during fit, and the shipped emoji classifier."""

import json

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from keras_emojigan.cli import main
from keras_emojigan.data.sources import load_images
from keras_emojigan.metrics.extractors import EmojiExtractor, get_extractor
from keras_emojigan.models.emoji_classifier import shipped_files


@pytest.fixture(scope="module")
def smoke_run(tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("runs") / "proposed"
    result = CliRunner().invoke(main, ["fit", "--preset", "smoke", "--model", "proposed", "--epochs", "3",
                                       "--run-dir", str(run_dir), "--quiet"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return run_dir, result.output


def test_shipped_emoji_classifier_reproduces_its_reported_accuracy():
    extractor = EmojiExtractor()
    image_set = load_images()
    features = extractor.features(image_set.images)
    assert features.pool.shape == (len(image_set), 256) and features.logits.shape[1] == len(extractor.classes) == 89
    predicted = [extractor.classes[i] for i in features.logits.argmax(1)]
    truth = [row["codepoints"] for row in image_set.manifest]
    accuracy = np.mean([p == t for p, t in zip(predicted, truth, strict=True)])
    report = json.loads((shipped_files() / "emoji_classifier.report.json").read_text())
    assert accuracy == pytest.approx(report["train_accuracy_all_designs"], abs=0.005)
    assert accuracy > 50 / 89  # far above chance (1/89)
    assert report["lodo_mean_accuracy"] > 0.3
    assert get_extractor("auto").name in ("inception", "emoji")


def test_fit_evaluates_every_epoch_and_keeps_the_best_checkpoint(smoke_run):
    run_dir, output = smoke_run
    rows = (run_dir / "history.csv").read_text().splitlines()
    header = rows[0].split(",")
    assert {"is_mean", "fid", "kid"} <= set(header)
    values = [dict(zip(header, row.split(","), strict=True)) for row in rows[1:]]
    assert all(float(v["fid"]) >= 0 and float(v["is_mean"]) >= 1 for v in values)
    summary = json.loads((run_dir / "summary.json").read_text())
    best = min(values, key=lambda v: float(v["fid"]))
    assert summary["best_fid_epoch"] == int(best["epoch"]) and summary["extractor"] == "emoji"
    assert summary["best_fid"] == pytest.approx(float(best["fid"]))
    assert (run_dir / "checkpoints" / "best" / "checkpoint").exists()
    assert "best FID" in output
    export = run_dir.parent / "best_export"
    result = CliRunner().invoke(main, ["export", str(run_dir), "--best", "-o", str(export)])
    assert result.exit_code == 0 and f"best-FID checkpoint: after epoch {summary['best_fid_epoch']}," in result.output
    metadata = json.loads((export / "emojigan.json").read_text())
    assert metadata["epochs"] == summary["best_fid_epoch"] + 1 and metadata["checkpoint"] == "best-fid"


def test_evaluate_a_run_prints_every_metric_offline(smoke_run):
    run_dir, _ = smoke_run
    result = CliRunner().invoke(main, ["evaluate", str(run_dir), "--extractor", "emoji", "-n", "100", "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["extractor"] == "emoji" and report["num_fake"] == 100 and report["num_real"] >= 780
    assert report["seed"] == 0 and report["real"] == "emoji-faces"
    for key in ("is_mean", "is_std", "fid", "kid", "kid_std", "precision", "recall", "near_duplicate_share",
                "near_duplicate_share_real"):
        assert np.isfinite(report[key]), key
    assert 1 <= report["near_duplicate_groups"] <= 100
    table = CliRunner().invoke(main, ["evaluate", str(run_dir / "saved_model"), "--extractor", "emoji", "-n", "50"])
    assert table.exit_code == 0 and "fid" in table.output and "extractor" in table.output


def test_evaluate_two_folders(tmp_path):
    images = load_images().images
    for name, part in (("a", images[:60]), ("b", images[60:120])):
        (tmp_path / name).mkdir()
        for i, image in enumerate(part):
            Image.fromarray(image).save(tmp_path / name / f"{i}.png")
    result = CliRunner().invoke(main, ["evaluate", "--real", str(tmp_path / "a"), "--fake", str(tmp_path / "b"),
                                       "--extractor", "emoji", "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["num_real"] == report["num_fake"] == 60 and report["seed"] is None


def test_evaluate_usage_errors(tmp_path, monkeypatch):
    assert CliRunner().invoke(main, ["evaluate"]).exit_code == 2
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    result = CliRunner().invoke(main, ["evaluate", "--fake", "emoji-faces", "--extractor", "inception"])
    assert result.exit_code == 2 and "inception_v3_weights" in result.output


def test_evaluate_halves_against_the_floor(smoke_run, tmp_path):
    from keras_emojigan.metrics.evaluate import split_halves

    run_dir, _ = smoke_run
    result = CliRunner().invoke(main, ["evaluate", str(run_dir), "--halves", "--extractor", "emoji", "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    real = load_images().images
    assert report["num_fake"] == len(real) // 2 and report["num_half_a"] + report["num_half_b"] == len(real)
    assert report["fid"] == pytest.approx((report["fid_vs_half_a"] + report["fid_vs_half_b"]) / 2)
    assert report["fid_over_floor"] == pytest.approx(report["fid"] / report["floor_fid"])
    # Half A itself as the "generated" set: FID 0 against half A, the floor against half B.
    half_a, _ = split_halves(len(real), seed=0)
    (tmp_path / "a").mkdir()
    for i in half_a:
        Image.fromarray(real[i]).save(tmp_path / "a" / f"{i}.png")
    copied = json.loads(CliRunner().invoke(main, ["evaluate", "--fake", str(tmp_path / "a"), "--halves",
                                                  "--extractor", "emoji", "--json"]).output)
    assert copied["fid_vs_half_a"] == pytest.approx(0, abs=1e-3)
    assert copied["fid_vs_half_b"] == pytest.approx(copied["floor_fid"], rel=1e-4)
    assert copied["floor_fid"] == pytest.approx(report["floor_fid"], rel=1e-6)  # the same split
    # diversity beside it: half A is inside the real set (precision 1) and as varied as the real set
    assert copied["precision"] == 1.0 and 0 <= copied["floor_recall"] <= 1
    assert copied["near_duplicate_share"] <= 2 * copied["near_duplicate_share_real"] + 0.02
    assert CliRunner().invoke(main, ["evaluate", str(run_dir), "--halves", "--per-class"]).exit_code == 2


def test_halves_with_one_real_image_and_weights_that_are_not_inception_get_clear_errors(smoke_run, tmp_path):
    run_dir, _ = smoke_run
    (tmp_path / "one").mkdir()
    Image.fromarray(load_images().images[0]).save(tmp_path / "one" / "a.png")
    result = CliRunner().invoke(main, ["evaluate", str(run_dir), "--real", str(tmp_path / "one"), "--halves",
                                       "--extractor", "emoji"])
    assert result.exit_code == 2 and "1 real image(s)" in result.output and "at least 4" in result.output
    (tmp_path / "passwd.h5").write_text("root:x:0:0:root:/root:/bin/bash\n")
    result = CliRunner().invoke(main, ["evaluate", "--fake", str(tmp_path / "one"), "--real", str(tmp_path / "one"),
                                       "--extractor", "inception", "--inception-weights", str(tmp_path / "passwd.h5")])
    assert result.exit_code == 2 and "not Keras' Inception-v3 ImageNet weights" in result.output


def test_a_kid_ratio_only_where_the_floor_is_positive(monkeypatch):
    """KID is unbiased: on a few images its real-vs-real floor can be 0 or below, and a ratio to it
    (once -290x) is reported as None, not a number."""
    from keras_emojigan.metrics import evaluate

    class Flat:  # every image the same feature but for a little noise: KID's floor near or below 0
        name = "flat"

        def features(self, images):
            rng = np.random.default_rng(len(images))
            return evaluate.Features(rng.normal(0, 1e-3, (len(images), 8)).astype(np.float32), None)

    images = np.zeros((12, 8, 8, 3), np.uint8)
    monkeypatch.setattr(evaluate, "compare_features", lambda a, b, metrics: (
        {"fid": 1.0, "kid": -0.01} if "fid" in metrics else {"precision": 1.0, "recall": 1.0,
                                                               "near_duplicate_share": 0.0}))
    monkeypatch.setattr(evaluate, "precision_recall", lambda a, b: {"precision": 1.0, "recall": 1.0})
    result = evaluate.evaluate_halves(images, images[:6], Flat())
    assert result["floor_kid"] == -0.01 and result["kid_over_floor"] is None and result["fid_over_floor"] == 1.0
