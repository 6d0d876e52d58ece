"""Metrics against independent formulas; extractors end to end and offline."""

import numpy as np
import pytest

from keras_emojigan.metrics import tfgan_compat
from keras_emojigan.metrics.evaluate import compare_features, evaluate_images
from keras_emojigan.metrics.extractors import ExtractorUnavailable, Features, InceptionExtractor, TFHubExtractor
from keras_emojigan.metrics.fid import fid
from keras_emojigan.metrics.inception_score import inception_score
from keras_emojigan.metrics.kid import kid
from keras_emojigan.metrics.precision_recall import precision_recall


def _sqrt_psd(matrix):
    values, vectors = np.linalg.eigh(matrix)
    return (vectors * np.sqrt(np.clip(values, 0, None))) @ vectors.T


def numpy_fid(a, b):
    """||m1 - m2||^2 + Tr(C1 + C2 - 2 (C1^1/2 C2 C1^1/2)^1/2), with symmetric eigendecompositions."""
    m1, m2 = a.mean(0), b.mean(0)
    c1, c2 = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    root = _sqrt_psd(c1)
    return float(((m1 - m2) ** 2).sum() + np.trace(c1 + c2 - 2 * _sqrt_psd(root @ c2 @ root)))


def numpy_kid(a, b):
    """Unbiased MMD^2 with k(x, y) = (x.y / d + 1)^3, one block."""
    d = a.shape[1]
    kxx, kyy, kxy = ((a @ a.T) / d + 1) ** 3, ((b @ b.T) / d + 1) ** 3, ((a @ b.T) / d + 1) ** 3
    m, n = len(a), len(b)
    return float((kxx.sum() - np.trace(kxx)) / (m * (m - 1)) + (kyy.sum() - np.trace(kyy)) / (n * (n - 1))
                 - 2 * kxy.mean())


def test_tfgan_eval_imports_without_the_package_init():
    assert tfgan_compat.frechet_classifier_distance_from_activations.__module__.startswith("tensorflow_gan")


def test_identical_sets_give_zero_fid_and_kid():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(400, 16))
    assert fid(a, a)["fid"] == pytest.approx(0.0, abs=1e-6)
    # KID is unbiased: two samples of one distribution give ~0 (within its spread), a shift does not.
    # (The very same set gives -2 E[k(x, x)] / block, the unbiased estimator's known O(1/n) offset.)
    same = kid(a, rng.normal(size=(400, 16)))
    assert abs(same["kid"]) < 3 * same["kid_std"] + 1e-3
    assert kid(a, rng.normal(size=(400, 16)) + 0.5)["kid"] > 10 * abs(same["kid"])
    pr = precision_recall(a, a)
    assert pr["precision"] == 1.0 and pr["recall"] == 1.0


def test_fid_of_two_gaussians_matches_the_formula_and_the_analytic_value():
    rng = np.random.default_rng(1)
    d = 8
    a = rng.normal(size=(20000, d))
    b = rng.normal(size=(20000, d)) * 2.0 + 0.5
    value = fid(a, b)["fid"]
    assert value == pytest.approx(numpy_fid(a, b), rel=1e-6)
    assert value == pytest.approx(d * 0.25 + d * (1 + 4 - 2 * 2), rel=0.03)  # |m|^2 + Tr(I + 4I - 2*2I)


@pytest.mark.parametrize("n_real, n_fake", [(300, 300), (260, 120), (40, 333)])
def test_sample_space_fid_equals_tfgan_when_samples_are_fewer_than_dimensions(n_real, n_fake):
    rng = np.random.default_rng(n_real + n_fake)
    d = 384
    mixing = rng.normal(size=(d, d)) / np.sqrt(d)
    real = np.maximum(rng.normal(size=(n_real, d)) @ mixing, 0)  # ReLU'd, correlated, like pool features
    fake = np.maximum(rng.normal(size=(n_fake, d)) @ mixing * 1.3 + 0.1, 0)
    fast, reference = fid(real, fake, method="sample")["fid"], fid(real, fake, method="tfgan")["fid"]
    assert fast == pytest.approx(reference, rel=1e-4)
    assert fast == pytest.approx(numpy_fid(real, fake), rel=1e-6)
    assert fid(real, fake)["fid"] == fast  # auto picks the sample-space path here


def test_fid_refuses_mismatched_or_tiny_inputs():
    rng = np.random.default_rng(3)
    with pytest.raises(ValueError, match="features of one size"):
        fid(rng.normal(size=(10, 4)), rng.normal(size=(10, 5)))
    with pytest.raises(ValueError, match="fake activations"):
        fid(rng.normal(size=(10, 4)), rng.normal(size=(1, 4)))
    with pytest.raises(ValueError, match="unknown FID method"):
        fid(rng.normal(size=(10, 4)), rng.normal(size=(10, 4)), method="fast")


def test_kid_matches_the_unbiased_formula():
    rng = np.random.default_rng(2)
    a, b = rng.normal(size=(300, 10)), rng.normal(size=(300, 10)) + 0.3
    result = kid(a, b)
    assert result["kid_block"] == 75 and np.isfinite(result["kid_std"]) and result["kid_std"] > 0
    blocks = [numpy_kid(a[i:i + 75], b[i:i + 75]) for i in range(0, 300, 75)]
    assert result["kid"] == pytest.approx(np.mean(blocks), rel=1e-6)
    assert kid(a, a + 0.0)["kid"] < result["kid"]


def test_kid_with_unequal_sample_counts_is_finite():
    rng = np.random.default_rng(6)
    result = kid(rng.normal(size=(793, 8)), rng.normal(size=(64, 8)))
    assert np.isfinite(result["kid"]) and np.isfinite(result["kid_std"])
    with pytest.raises(ValueError, match="at least 2 images"):
        kid(rng.normal(size=(10, 8)), rng.normal(size=(1, 8)))


@pytest.mark.parametrize("k", [1, 2, 5, 10])
def test_one_hot_logits_over_k_equal_classes_give_is_k(k):
    logits = np.eye(k)[np.arange(1000) % k] * 100.0
    result = inception_score(logits)
    assert result["is_mean"] == pytest.approx(k, rel=1e-4)
    assert result["is_std"] < 1e-3 and result["is_splits"] == 10


def test_precision_recall_of_disjoint_and_partial_sets():
    rng = np.random.default_rng(3)
    a = rng.normal(size=(300, 4))
    far = rng.normal(size=(300, 4)) + 100
    assert precision_recall(a, far) == {"precision": 0.0, "recall": 0.0, "pr_k": 3}
    half = np.concatenate([a[:150] + 1e-6, far[:150]])
    pr = precision_recall(a, half)
    assert pr["precision"] == pytest.approx(0.5, abs=0.02)  # the far half is outside the real manifold


def test_compare_features_runs_the_registry():
    rng = np.random.default_rng(4)
    real = Features(rng.normal(size=(100, 6)), rng.normal(size=(100, 5)))
    fake = Features(rng.normal(size=(100, 6)), rng.normal(size=(100, 5)))
    result = compare_features(real, fake)
    assert {"is_mean", "is_std", "fid", "kid", "kid_std", "precision", "recall"} <= set(result)
    with pytest.raises(ValueError, match="unknown metric"):
        compare_features(real, fake, ("fid", "lpips"))


def test_random_initialised_inception_runs_end_to_end():
    extractor = InceptionExtractor("random")
    rng = np.random.default_rng(5)
    real = rng.integers(0, 256, (12, 64, 64, 3), dtype=np.uint8)
    fake = rng.integers(0, 256, (12, 32, 32, 3), dtype=np.uint8)
    features = extractor.features(real)
    assert features.pool.shape == (12, 2048) and features.logits.shape == (12, 1000)
    result = evaluate_images(real, fake, extractor, seed=7)
    assert result["extractor"] == "inception" and result["num_real"] == 12 and result["num_fake"] == 12
    assert result["seed"] == 7
    for key in ("is_mean", "fid", "kid", "precision", "recall"):
        assert np.isfinite(result[key]), key


def test_missing_inception_weights_give_the_offline_message(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    with pytest.raises(ExtractorUnavailable, match="inception_v3_weights_tf_dim_ordering_tf_kernels.h5") as err:
        InceptionExtractor()
    assert str(tmp_path / "models") in str(err.value) and "--extractor emoji" in str(err.value)
    with pytest.raises(ExtractorUnavailable, match="does not exist"):
        InceptionExtractor(tmp_path / "nope.h5")


def test_missing_tfhub_module_gives_the_offline_message(tmp_path):
    with pytest.raises(ExtractorUnavailable, match="--tfhub-module"):
        TFHubExtractor(str(tmp_path / "no-module"))


def test_extractors_measure_in_float32_after_a_bfloat16_run_in_the_same_process():
    """Whoever set Keras' global policy to mixed_bfloat16 (a user, a script), an extractor built
    under it (ship, compare's checkpoint metrics, fit's per-epoch metrics) must not inherit it."""
    import keras

    from keras_emojigan.metrics.extractors import get_extractor
    from keras_emojigan.models.policy_scope import policy_scope

    images = np.random.default_rng(0).integers(0, 256, (8, 64, 64, 3), dtype=np.uint8)
    plain = get_extractor("emoji").features(images).pool
    with policy_scope("mixed_bfloat16"):
        extractor = get_extractor("emoji")
        assert keras.mixed_precision.global_policy().name == "mixed_bfloat16"  # left as it was set
        assert {layer.dtype_policy.name for layer in extractor.model.layers} == {"float32"}
        np.testing.assert_array_equal(extractor.features(images).pool, plain)
