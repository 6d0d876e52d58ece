"""The matching-aware D (class_mismatch_weight): real images under another class's label are fakes."""

import json

import keras
import numpy as np
import pytest
import tensorflow as tf
from click.testing import CliRunner
from gan_helpers import smoke_fit_args, tiny_gan, weights_differ

from keras_emojigan.cli import main
from keras_emojigan.models.gan import build_gan
from keras_emojigan.models.terms import ClassMismatch


def _tiny(weight, classes=2):
    return tiny_gan(num_classes=classes, class_mismatch_weight=weight)


def test_other_labels_are_never_the_label_and_cover_every_other_class():
    gan = _tiny(1.0, classes=3)
    labels = tf.constant(np.arange(3000) % 3, tf.int32)
    other = gan.part(ClassMismatch).other_labels(labels, tf.constant([1, 2], tf.int64)).numpy()
    assert not np.any(other == labels.numpy())
    for label in range(3):
        drawn = other[labels.numpy() == label]
        assert set(drawn) == set(range(3)) - {label}
        assert abs(np.mean(drawn == (label + 1) % 3) - 0.5) < 0.05  # uniform over the other classes
    again = gan.part(ClassMismatch).other_labels(labels, tf.constant([1, 2], tf.int64)).numpy()
    np.testing.assert_array_equal(other, again)
    assert np.any(gan.part(ClassMismatch).other_labels(labels, tf.constant([3, 4], tf.int64)).numpy() != other)


def test_the_mismatch_term_joins_ds_loss_on_real_images_under_other_labels():
    plain, matching = _tiny(0.0), _tiny(2.0)
    rng = np.random.default_rng(0)
    real = tf.constant(rng.uniform(-1, 1, (8, 32, 32, 3)), tf.float32)
    labels = tf.constant(np.arange(8) % 2, tf.int32)
    # the first step's seeds (_step_seeds at step 0), and the mismatch pairs' seed folded from them
    seeds = tf.random.experimental.stateless_split(tf.constant([5, 0], tf.int64), num=4)
    other = matching.part(ClassMismatch).other_labels(labels, tf.random.experimental.stateless_fold_in(seeds[1], 11))
    expected = float(tf.reduce_mean(tf.sigmoid(matching.discriminator([real, other], training=True))))
    a, b = plain.train_step((real, labels)), matching.train_step((real, labels))
    assert "d_mismatch" not in a
    assert float(b["d_mismatch"]) == pytest.approx(expected, rel=1e-5)
    assert float(a["d_loss"]) == pytest.approx(float(b["d_loss"]), rel=1e-5)  # logged d_loss: adversarial only
    assert weights_differ(plain.discriminator, matching.discriminator)  # the mismatch term reached D's update
    with pytest.raises(ValueError, match="class_mismatch_weight=1.0: pairs real images with other classes. labels"):
        build_gan("dcgan", resolution=32, latent_dim=8, ngf=4, ndf=4, class_mismatch_weight=1.0)


def test_a_fit_with_a_matching_aware_d_records_it_resumes_and_is_refused_unconditional(tiny_data, tmp_path):
    from keras_emojigan.training.history import read_history

    run_dir = tmp_path / "matching"
    args = smoke_fit_args(run_dir, "class_mismatch_weight=1", data=tiny_data)
    result = CliRunner().invoke(main, [*args, "--epochs", "1"])
    assert result.exit_code == 0, result.output
    assert json.loads((run_dir / "config.json").read_text())["class_mismatch_weight"] == 1.0
    assert 0 < read_history(run_dir)[0]["d_mismatch"] < 1
    resumed = CliRunner().invoke(main, [*args, "--epochs", "2"])
    assert resumed.exit_code == 0, resumed.output
    assert [row["epoch"] for row in read_history(run_dir)] == [0, 1]
    loaded = keras.saving.load_model(run_dir / "gan.keras", compile=False)
    assert loaded.options.class_mismatch_weight == 1.0
    refused = CliRunner().invoke(main, ["fit", "--preset", "smoke", "--set", "class_mismatch_weight=1",
                                        "--run-dir", str(tmp_path / "no")])
    assert refused.exit_code == 2 and "class_mismatch_weight" in refused.output and "conditional=true" in refused.output
    assert not (tmp_path / "no").exists()
