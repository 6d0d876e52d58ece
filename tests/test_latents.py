"""keras_emojigan.models.latents: the three latent layers."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_emojigan.models.latents import AdjustedLatent, GaussianLatent, MixtureLatent, make_latent


def _noise(layer, batch=512, seed=0):
    return tf.random.stateless_normal([batch, layer.noise_dim], [seed, 1])


@pytest.mark.parametrize("model,noise_dim,output_dim", [("dcgan", 10, 10), ("deligan", 11, 10),
                                                        ("proposed", 40, 30)])
def test_shapes_and_config_round_trip(model, noise_dim, output_dim):
    layer = make_latent(model, 10, latent_n=3, components=4)
    noise = _noise(layer, 8)
    out = layer(noise)
    assert layer.noise_dim == noise_dim and layer.output_dim == output_dim
    assert tuple(out.shape) == (8, output_dim)
    clone = type(layer).from_config(layer.get_config())
    clone(noise)
    clone.set_weights(layer.get_weights())
    assert clone.get_config() == layer.get_config()
    np.testing.assert_allclose(clone(noise).numpy(), out.numpy(), rtol=1e-6)
    restored = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(layer))
    assert type(restored) is type(layer)


def test_gaussian_is_the_noise():
    layer = GaussianLatent(5)
    noise = _noise(layer, 4)
    np.testing.assert_array_equal(layer(noise).numpy(), noise.numpy())


def test_mixture_means_sigmas_are_trainable_and_regularised():
    layer = MixtureLatent(6, components=5, sigma_weight=0.05)
    noise = _noise(layer, 2000)
    with tf.GradientTape() as tape:
        z = layer(noise)
        loss = tf.reduce_mean(z) + layer.regularization()
    assert {v.name for v in layer.trainable_variables} == {"means", "sigmas"}
    grads = tape.gradient(loss, layer.trainable_variables)
    assert all(g is not None and float(tf.reduce_max(tf.abs(g))) > 0 for g in grads)
    means = layer.means.numpy()
    assert means.min() >= -1 and means.max() <= 1 and means.std() > 0.3  # U(-1, 1)
    np.testing.assert_allclose(layer.sigmas.numpy(), 0.2)
    np.testing.assert_allclose(float(layer.regularization()), 0.05 * 0.8 ** 2, rtol=1e-6)
    counts = np.bincount(layer.component(noise).numpy(), minlength=5)
    assert counts.min() > 300  # components drawn uniformly
    k = layer.component(noise).numpy()
    expected = means[k] + 0.2 * noise.numpy()[:, :6]
    np.testing.assert_allclose(z.numpy(), expected, rtol=1e-5, atol=1e-6)


def test_adjusted_latent_expands_to_n_times_n_and_shifts_by_uniform_means():
    layer = AdjustedLatent(8, latent_n=3)
    noise = _noise(layer, 4000)
    layer(noise)
    assert layer.expand.units == 24
    assert tuple(layer.expand.kernel.shape) == (8, 24)
    assert {v.path.split("/")[-1] for v in layer.trainable_variables} == {"kernel", "bias"}
    shift = layer.mean_shift(noise).numpy()
    assert shift.shape == (4000, 24)
    assert shift.min() >= -1 and shift.max() <= 1
    assert shift.min() < -0.99 and shift.max() > 0.99
    assert abs(shift.mean()) < 0.02 and abs(shift.var() - 1 / 3) < 0.01  # variance of U(-1, 1)
    np.testing.assert_allclose(layer(noise).numpy(), layer.expand(noise[:, :8]).numpy() + shift, atol=1e-5)


def test_bad_arguments():
    with pytest.raises(ValueError, match="latent_n"):
        AdjustedLatent(8, latent_n=0)
    with pytest.raises(ValueError, match="unknown model"):
        make_latent("stylegan")


def test_files_saved_with_the_old_name_expansion_still_load():
    layer = AdjustedLatent.from_config({"latent_dim": 8, "expansion": 3, "seed": 0, "name": "latent_proposed"})
    assert layer.latent_n == 3 and layer.get_config()["latent_n"] == 3 and "expansion" not in layer.get_config()
