"""keras_emojigan.models: networks, DiffAugment and the EmojiGAN train step."""

import keras
import numpy as np
import pytest
import tensorflow as tf
from gan_helpers import weights_differ

from keras_emojigan.config import parse_policy
from keras_emojigan.models import augment, networks
from keras_emojigan.models.gan import build_gan


def _gan(model="dcgan", **kwargs):
    gan = build_gan(model, resolution=32, latent_dim=8, latent_n=2, components=4, ngf=4, ndf=4, **kwargs)
    gan.compile(keras.optimizers.Adam(1e-3, 0.5), keras.optimizers.Adam(1e-3, 0.5))
    return gan


def _real(batch=8, resolution=32):
    return tf.random.stateless_uniform([batch, resolution, resolution, 3], [1, 2], -1, 1)


@pytest.mark.parametrize("resolution", [32, 64, 128])
def test_network_shapes(resolution):
    gan = build_gan("dcgan", resolution=resolution, latent_dim=8, ngf=2, ndf=2)
    images = gan.generator(tf.zeros([2, gan.noise_dim]))
    assert tuple(images.shape) == (2, resolution, resolution, 3)
    assert tuple(gan.discriminator(images).shape) == (2, 1)
    with pytest.raises(ValueError, match="resolution 48"):
        networks.build_discriminator(48)


def test_reference_widths_and_init():
    gan = build_gan("dcgan", resolution=64)
    widths = [layer.filters for layer in gan.generator.layers if isinstance(layer, keras.layers.Conv2DTranspose)]
    assert widths == [512, 256, 128, 64, 3]
    kernel = gan.generator.get_layer("g_conv1").kernel.numpy()
    assert tuple(kernel.shape[:2]) == (4, 4) and abs(kernel.std() - 0.02) < 0.002
    gamma = gan.generator.get_layer("g_bn1").gamma.numpy()
    assert abs(gamma.mean() - 1) < 0.01 and 0.01 < gamma.std() < 0.03


@pytest.mark.parametrize("model", ["dcgan", "deligan", "proposed"])
def test_train_step_changes_both_networks(model):
    gan = _gan(model)
    before_g = [w.numpy().copy() for w in gan.generator.trainable_weights]
    before_d = [w.numpy().copy() for w in gan.discriminator.trainable_weights]
    logs = gan.train_step(_real())
    assert set(logs) == {"d_loss", "g_loss", "d_real", "d_fake", "sigma_term"}  # augment_p only with DiffAugment
    assert all(np.isfinite(float(v)) for v in logs.values())
    changed_g = [not np.array_equal(b, w.numpy())
                 for b, w in zip(before_g, gan.generator.trainable_weights, strict=True)]
    changed_d = [not np.array_equal(b, w.numpy())
                 for b, w in zip(before_d, gan.discriminator.trainable_weights, strict=True)]
    assert all(changed_g) and all(changed_d)
    assert 0 < float(logs["d_real"]) < 1 and 0 < float(logs["d_fake"]) < 1
    if model == "deligan":  # the sigma regulariser is part of G's loss
        assert float(logs["sigma_term"]) == pytest.approx(0.05 * 0.8 ** 2, rel=0.05)
    else:
        assert float(logs["sigma_term"]) == 0.0


def test_sigma_term_reaches_the_generator_loss():
    plain, regularised = _gan("deligan", seed=3), _gan("deligan", seed=3)
    regularised.latent_layer.sigma_weight = 10.0
    a, b = plain.train_step(_real()), regularised.train_step(_real())
    assert float(b["g_loss"]) - float(a["g_loss"]) == pytest.approx(float(b["sigma_term"]) - float(a["sigma_term"]),
                                                                     rel=1e-3)
    assert float(b["sigma_term"]) == pytest.approx(10 * 0.64, rel=1e-4)


def test_generate_is_seeded():
    gan = _gan("proposed")
    a, b, c = gan.generate(4, seed=7), gan.generate(4, seed=7), gan.generate(4, seed=8)
    assert a.dtype == np.uint8 and a.shape == (4, 32, 32, 3)
    assert np.array_equal(a, b) and not np.array_equal(a, c)


def test_ema_generator_follows_the_generator():
    gan = _gan("dcgan", ema_decay=0.5)
    start = [w.numpy().copy() for w in gan.ema.generator.trainable_weights]
    for _ in range(3):
        gan.train_step(_real())
    live = gan.generator.trainable_weights
    ema = gan.ema.generator.trainable_weights
    assert gan.sampling_generator is gan.ema.generator
    for s, e, w in zip(start, ema, live, strict=True):
        assert not np.array_equal(s, e.numpy())  # it moved...
        assert not np.array_equal(e.numpy(), w.numpy())  # ...but lags the live weights


def test_diffaugment_is_seeded_and_keeps_shapes():
    images = _real(4)
    policy = parse_policy("color,translation,cutout")
    a = augment.diff_augment(images, policy, tf.constant([1, 2], tf.int64))
    b = augment.diff_augment(images, policy, tf.constant([1, 2], tf.int64))
    c = augment.diff_augment(images, policy, tf.constant([1, 3], tf.int64))
    assert a.shape == images.shape
    assert np.array_equal(a.numpy(), b.numpy()) and not np.array_equal(a.numpy(), c.numpy())
    cut = augment.diff_augment(tf.ones([8, 32, 32, 3]), ("cutout",), tf.constant([0, 0], tf.int64)).numpy()
    zero_fraction = (cut == 0).mean(axis=(1, 2, 3))
    assert (zero_fraction > 0).all() and (zero_fraction <= 0.25 + 1e-6).all()  # a 16x16 hole at most
    shifted = augment.diff_augment(tf.ones([8, 32, 32, 3]), ("translation",), tf.constant([0, 5], tf.int64)).numpy()
    assert set(np.unique(shifted)) <= {0.0, 1.0} and (shifted == 1).mean() > 0.7
    assert augment.diff_augment(images, (), None) is images
    with pytest.raises(ValueError, match="zoom"):
        parse_policy("color,zoom")
    assert parse_policy("color+translation") == parse_policy("color, translation")


def test_compare_variant_takes_a_diffaugment_policy():
    from keras_emojigan.compare import parse_variant, run_config

    variant = parse_variant("deligan:diffaugment=color+cutout:ada_target=0.6")
    assert variant.slug == "deligan-ada_target0.6-diffaugmentcolor+cutout"
    config = run_config("modern", variant, seed=0, epochs=3)
    assert parse_policy(config.diffaugment) == ("color", "cutout") and config.ada_target == 0.6


def test_r1_penalty_is_the_squared_gradient_norm_at_the_real_images():
    plain, penalised = _gan("dcgan", seed=5), _gan("dcgan", seed=5, r1_gamma=2.0)
    real = _real()
    with tf.GradientTape() as tape:  # what R1 should be, from D before the step (the same weights in both)
        tape.watch(real)
        total = tf.reduce_sum(penalised.discriminator(real, training=True))
    expected = 0.5 * 2.0 * float(tf.reduce_mean(tf.reduce_sum(tf.square(tape.gradient(total, real)), [1, 2, 3])))
    for a, b in zip(plain.discriminator.weights, penalised.discriminator.weights, strict=True):
        b.assign(a)  # undo the moving statistics the check above updated
    d_before = [w.numpy().copy() for w in penalised.discriminator.trainable_weights]
    a, b = plain.train_step(real), penalised.train_step(real)
    assert "r1_penalty" not in a and float(b["r1_penalty"]) == pytest.approx(expected, rel=1e-4) and expected > 0
    assert float(a["d_loss"]) == pytest.approx(float(b["d_loss"]), rel=1e-5)  # logged d_loss is the BCE alone
    moved = [np.abs(w.numpy() - d).max() for w, d in zip(penalised.discriminator.trainable_weights, d_before,
                                                            strict=True)]
    assert all(m > 0 for m in moved)
    assert weights_differ(plain.discriminator, penalised.discriminator)  # the penalty's gradient reached D's update
    assert penalised.get_config()["options"]["r1_gamma"] == 2.0


def test_class_loss_is_the_cross_entropy_of_ds_class_head_on_the_real_images():
    gans = []
    for weight in (0.0, 1.0):
        keras.utils.set_random_seed(5)  # G's class embedding draws from the global seed
        gans.append(_gan("dcgan", seed=5, num_classes=3, class_loss_weight=weight))
    plain, weighted = gans
    real, labels = _real(), tf.constant([0, 1, 2, 0, 1, 2, 0, 1])
    logit, class_logits = weighted.discriminator([real, labels], training=True)
    assert tuple(class_logits.shape) == (8, 3)
    expected = float(keras.losses.SparseCategoricalCrossentropy(from_logits=True)(labels, class_logits))
    a, b = plain.train_step((real, labels)), weighted.train_step((real, labels))
    assert "d_class_loss" not in a and float(b["d_class_loss"]) == pytest.approx(expected, rel=1e-4)
    assert np.isfinite(float(b["g_class_loss"])) and float(b["g_class_loss"]) > 0
    assert float(a["d_loss"]) == pytest.approx(float(b["d_loss"]), rel=1e-5)  # logged d_loss is the BCE alone
    assert weighted.get_config()["options"]["class_loss_weight"] == 1.0
    with pytest.raises(ValueError, match="class_loss_weight=1.0: is the weight of a conditional GAN's class losses"):
        _gan("dcgan", class_loss_weight=1.0)  # unconditional: no class head to train


def test_keras_file_round_trip(tmp_path):
    gan = _gan("deligan", ema_decay=0.9)
    gan.train_step(_real())
    gan.save(tmp_path / "gan.keras")
    restored = keras.saving.load_model(tmp_path / "gan.keras", compile=False)
    assert np.array_equal(restored.generate(3, seed=1), gan.generate(3, seed=1))
    assert restored.latent_layer.components == 4


def test_augmentation_probability_gates_each_image():
    images = _real(16)
    policy = parse_policy("color,translation,cutout")
    seed = tf.constant([3, 4], tf.int64)
    always = augment.diff_augment(images, policy, seed)
    np.testing.assert_array_equal(augment.diff_augment(images, policy, seed, tf.constant(1.0)).numpy(),
                                  always.numpy())  # p = 1 is plain DiffAugment, draw for draw
    np.testing.assert_array_equal(augment.diff_augment(images, policy, seed, tf.constant(0.0)).numpy(),
                                  images.numpy())
    many = _real(64)
    half = augment.diff_augment(many, parse_policy("color"), seed, tf.constant(0.5)).numpy()
    untouched = sum(np.array_equal(half[i], many.numpy()[i]) for i in range(64))
    assert 16 < untouched < 48  # about half the images kept, half augmented


def test_ada_moves_p_with_ds_overfitting_signal():
    gan = _gan(diffaugment="color,translation", ada_target=0.6, ada_kimg=1.0)
    step = 35 / 1000.0
    gan.augmentation.adjust(tf.ones([35, 1]), 35)  # D is sure every real image is real: overfitting
    assert float(gan.augmentation.probability.numpy()) == pytest.approx(step)
    gan.augmentation.adjust(-tf.ones([35, 1]), 35)
    gan.augmentation.adjust(-tf.ones([35, 1]), 35)
    assert float(gan.augmentation.probability.numpy()) == 0.0  # clipped at 0
    history = gan.fit(tf.data.Dataset.from_tensors(_real(8)).repeat(3), epochs=1, verbose=0, shuffle=False)
    assert 0.0 <= history.history["augment_p"][-1] <= 1.0


def test_ema_warm_up_follows_images_seen():
    gan = _gan(ema_decay=0.999, ema_rampup=0.05)
    assert float(gan.ema.decay_at(0, 35)) == pytest.approx(0.5 ** 20)  # half-life of 1.75 images at first
    assert float(gan.ema.decay_at(10_000, 35)) == pytest.approx(0.5 ** (1 / (0.05 * 10_001)), rel=1e-6)
    assert float(gan.ema.decay_at(10**7, 35)) == pytest.approx(0.999)  # the cap
    fixed = _gan(ema_decay=0.999)
    assert float(fixed.ema.decay_at(0, 35)) == pytest.approx(0.999)
    gan.train_step(_real(8))  # the first step's EMA is (nearly) the live generator
    for ema, live in zip(gan.ema.generator.trainable_weights, gan.generator.trainable_weights, strict=True):
        np.testing.assert_allclose(ema.numpy(), live.numpy(), atol=1e-5)
