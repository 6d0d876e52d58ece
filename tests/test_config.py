"""keras_emojigan.config: presets, overrides, files, validation, differences."""

import json
import re

import pytest

from keras_emojigan.config import PRESETS, ConfigError, TrainConfig, make_config
from keras_emojigan.training.rundir import check_config


def test_presets_and_precedence(tmp_path):
    paper = make_config("paper")
    assert (paper.lr, paper.batch_size, paper.diffaugment, paper.ema_decay) == (1e-2, 35, "", 0.0)
    modern = make_config("modern")
    assert modern.diffaugment == "color,translation,cutout" and modern.ema_decay == 0.999
    assert set(PRESETS) == {"paper", "default", "modern", "quality", "lite", "projected", "smoke"}
    quality = make_config("quality")  # the quality push's recipe: modern DeLiGAN for 300 epochs
    assert (quality.model, quality.epochs) == ("deligan", 300)
    assert quality.to_dict() == {**modern.to_dict(), "model": "deligan", "epochs": 300, "preset": "quality"}
    assert make_config("quality", model="dcgan").model == "dcgan"
    path = tmp_path / "c.json"
    path.write_text(json.dumps({"lr": 0.001, "epochs": 7}))
    config = make_config("default", path, epochs=9, lr=None)  # file over preset, flags over file
    assert (config.lr, config.epochs, config.preset) == (0.001, 9, "default")


def test_round_trip_and_string_values(tmp_path):
    config = make_config("smoke", model="deligan", epochs="3", lr="0.5", stop_on_collapse="true")
    assert config.epochs == 3 and config.lr == 0.5 and config.stop_on_collapse is True
    config.save(tmp_path / "config.json")
    assert TrainConfig.load(tmp_path / "config.json") == config


@pytest.mark.parametrize("overrides,message", [
    ({"model": "gan"}, "model='gan'"),
    ({"epochs": "1.5"}, "epochs='1.5' is not a valid int"),
    ({"latent_n": 0}, "latent_n=0"),
    ({"eval_every": -1}, "eval_every=-1"),
    ({"extractor": "clip"}, "extractor='clip'"),
    ({"diffaugment": "zoom"}, "diffaugment='zoom'"),
    ({"stop_on_collapse": "maybe"}, "stop_on_collapse='maybe'"),
    ({"colour": 1}, "unknown field(s) colour"),
])
def test_bad_values_name_the_field(overrides, message):
    with pytest.raises(ConfigError) as err:
        check_config(make_config("default", **overrides))
    assert message in str(err.value)


def test_bad_files(tmp_path):
    (tmp_path / "list.json").write_text("[1, 2]")
    (tmp_path / "broken.json").write_text("{")
    with pytest.raises(ConfigError, match="JSON object"):
        make_config("default", tmp_path / "list.json")
    with pytest.raises(ConfigError, match="cannot read config file"):
        make_config("default", tmp_path / "broken.json")


def test_differences_ignore_what_may_change_on_resume():
    run = make_config("default")
    assert run.differences(make_config("default", epochs=500, stop_on_collapse=True)) == []
    assert run.differences(make_config("default", lr=0.1)) == ["lr: 0.0002 (in the run) != 0.1 (requested)"]


@pytest.mark.parametrize("overrides,message", [
    ({"beta2": 1.5}, "beta2=1.5"),
    ({"beta1": -0.1}, "beta1=-0.1"),
    ({"lr": "inf"}, "lr=inf: must be a finite number"),
    ({"lr": "nan"}, "lr=nan: must be a finite number"),
    ({"batch_size": 0}, "batch_size=0"),
    ({"class_loss_weight": 1.0}, "class_loss_weight=1.0: is the weight of a conditional GAN's class losses"),
    ({"class_guide_weight": 1.0}, "class_guide_weight=1.0: is the weight of a conditional GAN's class guide"),
    ({"class_guide_weight": -1.0, "conditional": True}, "class_guide_weight=-1.0: must be >= 0"),
    ({"ema_decay": 1.0}, "ema_decay=1.0: must be in [0, 1)"),
    ({"lecam_decay": 1.0}, "lecam_decay=1.0: must be in [0, 1)"),
    ({"r1_gamma": -1.0}, "r1_gamma=-1.0: must be >= 0"),
    ({"loss": "wgan"}, "loss='wgan': use one of bce, hinge"),
    ({"arch": "big"}, "arch='big': use one of dcgan, lite"),
    ({"discriminator": "big"}, "discriminator='big': use one of dcgan, lite, projected"),
    ({"discriminator": "projected", "projected_size": 100}, "projected_size=100: use one of 128, 160, 192, 224, 256"),
    ({"discriminator": "projected", "projected_features": "x"}, "projected_features='x': use one of imagenet"),
    ({"discriminator": "projected", "resolution": 32, "conditional": True},
     "conditional=True: discriminator='projected' is unconditional"),
])
def test_each_bad_value_is_reported_under_its_own_field(overrides, message):
    with pytest.raises(ConfigError, match=re.escape(message)):
        check_config(make_config("default", **overrides))


def test_coerce_understands_optional_annotations():
    import dataclasses

    from keras_emojigan.config import coerce

    @dataclasses.dataclass
    class Example:
        size: int | None = None
        name: "str | None" = None

    size, name = dataclasses.fields(Example)
    assert coerce(size, "7") == 7 and coerce(size, "none") is None and coerce(size, None) is None
    assert coerce(name, "x") == "x" and coerce(name, "") is None
    with pytest.raises(ConfigError, match="size='seven' is not a valid int"):
        coerce(size, "seven")


@pytest.mark.parametrize("overrides,message", [
    ({"ada_target": 0.6}, "ada_target=0.6: adapts the strength of augmentations"),
    ({"ema_rampup": 0.05}, "ema_rampup=0.05: needs an EMA generator"),
    ({"ada_target": 1.5, "diffaugment": "color"}, "ada_target=1.5"),
])
def test_ada_and_ema_warm_up_need_what_they_act_on(overrides, message):
    with pytest.raises(ConfigError, match=message):
        check_config(make_config("default", **overrides))
    assert check_config(make_config("modern")).ema_rampup == 0.05


@pytest.mark.parametrize("preset", sorted(PRESETS))
def test_override_text_is_read_back_by_parse_override(preset):
    """The card's `--set` lines (ship.fit_command) give back every field of every preset."""
    from keras_emojigan.config import override_text, parse_override

    config = make_config(preset)
    for field, value in config.to_dict().items():
        assert parse_override(override_text(field, value), "test") == (field, value)
    assert parse_override("latent-n=3", "test") == ("latent_n", 3) and parse_override("N=2", "test") == ("latent_n", 2)


def test_the_fit_flags_are_the_fields_fit_has_a_flag_for():
    from keras_emojigan import cli, config, ship

    options = {p.name for p in cli.main.commands["fit"].params}
    fields = {f for f in config.TrainConfig.__dataclass_fields__}
    assert set(config.FIT_FLAGS) == options & fields and set(ship.FLAGS_WRITTEN) <= set(config.FIT_FLAGS)
