"""The fixed class guide: frozen, its head fitted on real images, its cross-entropy in G's loss."""

import json

import keras
import numpy as np
import pytest
import tensorflow as tf
from click.testing import CliRunner
from gan_helpers import smoke_fit_args, tiny_gan, weights_differ

from keras_emojigan.cli import main
from keras_emojigan.models.class_guide import build_class_guide, fit_class_guide, guide_features
from keras_emojigan.models.gan import build_gan
from keras_emojigan.models.terms import ClassGuide, class_cross_entropy


def _two_colour_images(count=40, resolution=32):
    """Class 0 dark, class 1 bright: a head on any features must tell them apart."""
    rng = np.random.default_rng(0)
    labels = np.arange(count) % 2
    images = rng.integers(0, 60, (count, resolution, resolution, 3)) + labels[:, None, None, None] * 190
    return images.astype(np.uint8), labels


def _flat_two_colour_images(count=40, resolution=32):
    """Class 0 a dark flat colour, class 1 a bright one, a little noise."""
    rng = np.random.default_rng(1)
    labels = np.arange(count) % 2
    base = rng.integers(10, 60, (count, 1, 1, 3)) + labels[:, None, None, None] * 180
    images = base + rng.integers(-3, 4, (count, resolution, resolution, 3))
    return images.astype(np.uint8), labels


def test_the_guide_is_frozen_and_its_fitted_head_is_the_probe_with_standardisation_folded_in():
    from keras_emojigan.models.class_probe import ClassProbe

    images, labels = _two_colour_images()
    guide = build_class_guide(2, resolution=32)
    assert guide.trainable_weights == [] and len(guide.non_trainable_weights) > 0
    fitted = fit_class_guide(guide, images, labels, ["dark", "bright"], seed=3)
    assert fitted["probe_heldout_accuracy"] == 1.0 and "robust_radius" not in fitted  # the head alone
    features = guide_features(guide, images)
    probe = ClassProbe(2, seed=3)
    probe.fit(features, labels, ["dark", "bright"])
    expected = probe.model.predict(probe._standardise(features), verbose=0)
    logits = guide(tf.constant(images, tf.float32) / 127.5 - 1.0, training=False).numpy()
    np.testing.assert_allclose(logits, expected, rtol=1e-3, atol=1e-3)


def test_the_guide_loss_joins_gs_loss_only_and_reaches_gs_update():
    plain, guided = (tiny_gan(num_classes=2, class_guide_weight=weight) for weight in (0.0, 2.0))
    images, labels = _two_colour_images(8)
    fit_class_guide(guided.part(ClassGuide).guide, *_two_colour_images(), ["dark", "bright"], seed=0)
    guide_before = [w.numpy().copy() for w in guided.part(ClassGuide).guide.weights]
    real, labels = tf.constant(images, tf.float32) / 127.5 - 1.0, tf.constant(labels, tf.int32)
    fake = guided.generator([tf.random.stateless_normal([8, 8], [5, 0]), labels], training=True)
    a, b = plain.train_step((real, labels)), guided.train_step((real, labels))
    assert "g_guide_loss" not in a and np.isfinite(float(b["g_guide_loss"])) and float(b["g_guide_loss"]) > 0
    assert float(a["d_loss"]) == pytest.approx(float(b["d_loss"]), rel=1e-5)  # D never sees the guide
    assert float(a["g_loss"]) == pytest.approx(float(b["g_loss"]), rel=1e-5)  # logged g_loss: adversarial only
    assert weights_differ(plain.generator, guided.generator)  # the guide's gradient reached G's update
    for before, after in zip(guide_before, guided.part(ClassGuide).guide.weights, strict=True):
        np.testing.assert_array_equal(before, after.numpy())  # nothing G makes changes the guide
    assert fake.shape == (8, 32, 32, 3) and guided.get_config()["options"]["class_guide_weight"] == 2.0
    with pytest.raises(ValueError, match="class_guide_weight=1.0: is the weight of a conditional GAN's class guide"):
        build_gan("dcgan", resolution=32, latent_dim=8, ngf=4, ndf=4, class_guide_weight=1.0)


def test_a_guided_conditional_fit_records_the_guide_and_resumes_with_it(tiny_data, tmp_path):
    from keras_emojigan.training.history import read_history
    from keras_emojigan.training.rundir import restore_gan

    run_dir = tmp_path / "guided"
    args = smoke_fit_args(run_dir, "class_guide_weight=0.5", data=tiny_data)
    result = CliRunner().invoke(main, [*args, "--epochs", "1"])
    assert result.exit_code == 0, result.output
    record = json.loads((run_dir / "class_guide.json").read_text())
    assert set(record["probe_heldout_class_accuracy"]) == {"Negative", "Positive"}
    assert record["probe_heldout_accuracy"] > 0.6  # the emoji classifier's features know the expressions
    assert read_history(run_dir)[0]["g_guide_loss"] > 0
    head = restore_gan(run_dir)[0].class_guide.get_layer("guide_logits").get_weights()
    (run_dir / "class_guide.json").unlink()
    resumed = CliRunner().invoke(main, [*args, "--epochs", "2"])
    assert resumed.exit_code == 0, resumed.output
    assert not (run_dir / "class_guide.json").exists()  # not refitted: the checkpoint holds the head
    after = restore_gan(run_dir)[0].class_guide.get_layer("guide_logits").get_weights()
    for x, y in zip(head, after, strict=True):
        np.testing.assert_array_equal(x, y)
    assert len(read_history(run_dir)) == 2
    loaded = keras.saving.load_model(run_dir / "gan.keras", compile=False)  # the .keras file keeps the guide
    for x, y in zip(head, loaded.class_guide.get_layer("guide_logits").get_weights(), strict=True):
        np.testing.assert_array_equal(x, y)


def test_the_guide_sees_gs_images_through_class_guide_augment():
    from keras_emojigan.models import augment

    gan = build_gan("dcgan", resolution=32, latent_dim=8, ngf=4, ndf=4, num_classes=2, class_guide_weight=1.0,
                    class_guide_augment="translation+color")
    assert gan.options.class_guide_augment == "translation,color"
    assert gan.get_config()["options"]["class_guide_augment"] == "translation,color"
    fit_class_guide(gan.part(ClassGuide).guide, *_two_colour_images(), ["dark", "bright"], seed=0)
    images, labels = _two_colour_images(8)
    fake, labels = tf.constant(images, tf.float32) / 127.5 - 1.0, tf.constant(labels, tf.int32)
    seed = tf.constant([4, 2], tf.int64)
    seen = augment.diff_augment(fake, ("translation", "color"), seed)
    guide = gan.part(ClassGuide)
    expected = class_cross_entropy(guide.guide(seen, training=False), labels)
    assert float(guide.loss(fake, labels, seed)) == pytest.approx(float(expected), rel=1e-6)
    plain = class_cross_entropy(guide.guide(fake, training=False), labels)
    assert float(guide.loss(fake, labels, seed)) != pytest.approx(float(plain), rel=1e-3)
    with pytest.raises(ValueError, match="class_guide_weight > 0"):
        build_gan("dcgan", resolution=32, latent_dim=8, ngf=4, ndf=4, num_classes=2, class_guide_augment="color")
    refused = CliRunner().invoke(main, ["fit", "--preset", "smoke", "--set", "conditional=true",
                                        "--set", "class_guide_augment=color", "--run-dir", "never"])
    assert refused.exit_code == 2 and "class_guide_augment" in refused.output and "class_guide_weight" in refused.output
    refused = CliRunner().invoke(main, ["fit", "--preset", "smoke", "--set", "conditional=true",
                                        "--set", "class_guide_weight=1", "--set", "class_guide_augment=blur",
                                        "--run-dir", "never"])
    assert refused.exit_code == 2 and "class_guide_augment='blur'" in refused.output


def test_pgd_stays_in_its_ball_and_in_range_and_raises_the_guides_loss():
    from keras_emojigan.models.class_guide import pgd_attack

    images, labels = _two_colour_images(16)
    guide = build_class_guide(2, resolution=32)
    fit_class_guide(guide, *_two_colour_images(), ["dark", "bright"], seed=0)
    unit, truth = tf.constant(images, tf.float32) / 127.5 - 1.0, tf.constant(labels, tf.int32)
    radius = 8 / 127.5
    attacked = pgd_attack(guide, unit, truth, radius, steps=5, seed=tf.constant([1, 2], tf.int64))
    assert float(tf.reduce_max(tf.abs(attacked - unit))) <= radius + 1e-6
    assert float(tf.reduce_min(attacked)) >= -1.0 and float(tf.reduce_max(attacked)) <= 1.0
    loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    assert float(loss(truth, guide(attacked))) > float(loss(truth, guide(unit)))


def test_a_robust_guide_is_fine_tuned_all_through_measured_under_attack_and_frozen_again():
    images, labels = _flat_two_colour_images(48)
    shipped, robust = build_class_guide(2, resolution=32), build_class_guide(2, resolution=32)
    fitted = fit_class_guide(robust, images, labels, ["dark", "bright"], seed=0, robust=8, robust_epochs=2)
    assert fitted["robust_radius"] == 8.0 and fitted["robust_epochs"] == 2
    assert "probe_heldout_accuracy" in fitted  # the head's own report comes first, as without robust
    for key in ("robust_heldout_accuracy", "robust_heldout_attacked_accuracy"):
        assert 0.0 <= fitted[key] <= 1.0
    assert set(fitted["robust_heldout_class_accuracy"]) == {"dark", "bright"}
    assert robust.trainable_weights == []  # frozen again for G's training
    body, shipped = robust.get_layer("guide_features"), shipped.get_layer("guide_features")
    changed = {layer.name for layer in body.layers if layer.weights and any(
        not np.array_equal(a, b) for a, b in zip(layer.get_weights(), shipped.get_layer(layer.name).get_weights(),
                                                 strict=True))}
    assert {"conv0a", "bn0a", "conv3b", "features"} <= changed  # every layer trained, batch norm too


@pytest.mark.heavy
def test_a_robust_guided_fit_records_it_and_resumes_with_the_fine_tuned_guide(tmp_path):
    from keras_emojigan.training.rundir import restore_gan

    images, labels = _flat_two_colour_images(70)
    data = tmp_path / "two.npz"
    np.savez(data, images=images, labels=labels, class_names=np.array(["dark", "bright"]))
    run_dir = tmp_path / "robust"
    args = smoke_fit_args(run_dir, "class_guide_weight=0.5", "class_guide_robust=4", "class_guide_robust_epochs=2",
                          data=data)
    result = CliRunner().invoke(main, [*args, "--epochs", "1"])
    assert result.exit_code == 0, result.output
    record = json.loads((run_dir / "class_guide.json").read_text())
    assert record["robust_radius"] == 4.0 and 0.0 <= record["robust_heldout_attacked_accuracy"] <= 1.0
    assert json.loads((run_dir / "config.json").read_text())["class_guide_robust"] == 4.0
    assert record["robust_epochs"] == 2  # the config's class_guide_robust_epochs reached the fine-tune
    conv = restore_gan(run_dir)[0].class_guide.get_layer("guide_features").get_layer("conv0a").get_weights()[0]
    shipped = build_class_guide(2, resolution=32).get_layer("guide_features").get_layer("conv0a").get_weights()[0]
    assert not np.array_equal(conv, shipped)  # the checkpoint holds the fine-tuned body, not the shipped one
    resumed = CliRunner().invoke(main, [*args, "--epochs", "2"])
    assert resumed.exit_code == 0, resumed.output
    after = restore_gan(run_dir)[0].class_guide.get_layer("guide_features").get_layer("conv0a").get_weights()[0]
    np.testing.assert_array_equal(conv, after)
    refused = CliRunner().invoke(main, ["fit", "--preset", "smoke", "--set", "conditional=true",
                                        "--set", "class_guide_robust=8", "--run-dir", "never"])
    assert refused.exit_code == 2 and "class_guide_robust" in refused.output and "class_guide_weight" in refused.output
