"""The training configuration: one dataclass, its presets, and load/save as JSON.

``RUN_DIR/config.json`` is the record of a run; resuming compares a request against it.
Presets:
- ``paper``: the paper as printed: Adam lr 1e-2, batch 35 (beta1 0.5 as in the DCGAN
  reference the paper builds on), 100 epochs, no DiffAugment, no EMA.
- ``default``: the DCGAN recipe: Adam 2e-4, beta1 0.5, batch 35, 100 epochs.
- ``modern``: ``default`` plus what small-data GANs use in 2026: DiffAugment
  (color,translation,cutout) and an EMA generator (decay 0.999, with StyleGAN2-ADA's warm-up:
  without it, 880 steps left 41% of the random initial weights in the EMA).
- ``lite``: the small-data backbone (``arch=lite``, hinge, LeCam, x-flip, 300 epochs).
- ``projected``: the lite generator against the projected discriminator (frozen ImageNet
  EfficientNet-Lite0 features), hinge, DiffAugment, as Projected GAN publishes it.
- ``smoke``: tiny widths, 2 epochs, seconds on a CPU (tests and the README's first command).
"""

from __future__ import annotations

import dataclasses
import json
import math
import re
from pathlib import Path

from keras_emojigan.errors import UserInputError

# The names every command offers, defined once (the CLI's choices, validation and error
# messages read them; tests/test_registries.py holds them together with the registries that
# implement them: models.latents.LATENTS, metrics.extractors.EXTRACTORS).
MODELS = ("dcgan", "deligan", "proposed")
ARCHS = ("dcgan", "lite")  # the networks behind any latent: DCGAN's, or the FastGAN-style `lite` (models/lite.py)
LOSSES = ("bce", "hinge")
RESOLUTIONS = (32, 64, 128)
PRECISIONS = ("float32", "mixed_bfloat16", "auto")  # auto: bf16 where the CPU has it (training/precision.py)
EXTRACTORS = ("auto", "inception", "tfhub", "emoji", "emoji-all", "fid-inception", "fid-inception-clean")
STRATEGIES = ("default", "mirrored", "multiworker")

POLICIES = ("color", "translation", "cutout")  # DiffAugment's augmentations (models/augment.py)


def parse_policy(policy: str) -> tuple[str, ...]:
    """'color,translation' -> ('color', 'translation'); '' or 'none' -> (). '+' separates too
    ('color+translation'), for places where a comma already separates, like compare's --models."""
    names = tuple(p.strip() for p in re.split(r"[,+]", policy or "") if p.strip() and p.strip() != "none")
    unknown = [p for p in names if p not in POLICIES]
    if unknown:
        raise ValueError(f"unknown DiffAugment policy {', '.join(unknown)}: use a comma (or +) list of "
                         f"{', '.join(POLICIES)} (or 'none')")
    return names


class ConfigError(UserInputError):
    """A configuration that cannot be used; the message names the field."""


@dataclasses.dataclass
class GANOptions:
    """What the GAN itself needs to know: its networks and its training step, written once here.
    ``TrainConfig`` adds the run's fields to these; ``TrainConfig.gan_options()`` picks them out,
    ``models.gan.build_gan`` builds from them and ``EmojiGAN`` keeps and serialises them."""

    model: str = "proposed"
    arch: str = "dcgan"  # see ARCHS: a shorthand for the generator and discriminator networks
    generator: str = ""  # a generator of models/registry.py by name ("": as arch)
    discriminator: str = ""  # a discriminator of models/registry.py by name ("": as arch)
    resolution: int = 64
    latent_dim: int = 100  # n, the base latent size
    latent_n: int = 1  # N: the proposed GAN expands z to n * N (1: chosen by `emojigan search-n`, README)
    components: int = 50  # K, DeLiGAN's mixture components
    sigma_weight: float = 0.05  # lambda, DeLiGAN's sigma regulariser
    ngf: int = 64
    ndf: int = 64
    projected_size: int = 224  # (discriminator=projected) images are resized to this before its feature network
    projected_features: str = "imagenet"  # (discriminator=projected) imagenet, or random-tiny (tests only)
    loss: str = "bce"  # see LOSSES: non-saturating BCE on logits (the DCGAN reference) or hinge (FastGAN, BigGAN)
    lecam_weight: float = 0.0  # > 0: LeCam regularisation of D's outputs (Tseng et al. 2021), this weight
    lecam_decay: float = 0.99  # the decay of LeCam's moving averages of D's outputs
    recon_weight: float = 1.0  # (arch=lite) weight of D's self-supervised L1 reconstruction of real images
    diffaugment: str = ""  # e.g. "color,translation,cutout"
    ema_decay: float = 0.0  # 0 = no EMA generator
    ema_rampup: float = 0.0  # > 0: EMA half-life = this x images seen, capped by ema_decay (StyleGAN2-ADA: 0.05)
    ada_target: float = 0.0  # > 0: adaptive augmentation (ADA) keeping E[sign(D(real))] here (StyleGAN2-ADA: 0.6)
    ada_kimg: float = 20.0  # ADA's speed: p can move from 0 to 1 in this many thousand images
    r1_gamma: float = 0.0  # > 0: R1 penalty gamma/2 E||grad D(real)||^2 on D (Mescheder et al. 2018; StyleGAN2-ADA)
    class_batch_norm: bool = False  # (conditional) each class has its own gains and biases in G's batch norms (SNGAN)
    class_loss_weight: float = 0.0  # > 0 (conditional): AC-GAN class losses (D classifies real images, G follows)
    class_guide_weight: float = 0.0  # > 0 (conditional): G's class loss from a fixed classifier of the real images
    class_guide_augment: str = ""  # DiffAugment policy for G's images on their way to the class guide
    class_mismatch_weight: float = 0.0  # > 0 (conditional): D also calls real images with another class's label fake
    freeze_d: int = 0  # FreezeD (Mo et al. 2020): D's first k blocks are not trained (with init_from: fine-tuning)
    seed: int = 0

    @property
    def generator_name(self) -> str:
        """The generator network's registry name: ``generator``, else ``arch``."""
        return self.generator or self.arch

    @property
    def discriminator_name(self) -> str:
        """The discriminator network's registry name: ``discriminator``, else ``arch``."""
        return self.discriminator or self.arch

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


@dataclasses.dataclass
class TrainConfig(GANOptions):
    """A run: the GAN's options (``GANOptions``) and how it is trained, evaluated and recorded."""

    data: str = "emoji-faces"
    init_from: str = ""  # a run dir or a model folder with gan.keras: G, D and EMA weights start from it
    epochs: int = 100
    batch_size: int = 35
    lr: float = 2e-4
    beta1: float = 0.5
    beta2: float = 0.999
    xflip: bool = False  # random left-right flips of the real images in the input pipeline
    conditional: bool = False  # class-conditional G and D (projection); the classes come from the data source
    class_guide_robust: float = 0.0  # > 0: the guide is fine-tuned adversarially, L-inf radius in pixel levels (0-255)
    class_guide_robust_epochs: int = 20  # epochs of that adversarial fine-tuning
    precision: str = "float32"
    stop_on_collapse: bool = False
    sample_count: int = 64  # images in the per-epoch sample grid
    eval_every: int = 5  # epochs between IS/FID/KID evaluations; 0 = never
    eval_samples: int = 800  # generated images per evaluation (the real side is the whole data set)
    extractor: str = "auto"  # see EXTRACTORS; auto: inception if its weights are here, else emoji
    inception_weights: str = ""  # path to InceptionV3 ImageNet .h5 ("" = the Keras cache)
    preset: str = "default"

    def validate(self) -> TrainConfig:
        """The checks of each field's type and of the run's own fields. What the GAN's parts need
        of their options (ranges, and which options go together) each part checks itself:
        ``models.gan.check_options``, run with these by ``training.rundir.check_config``."""

        def need(condition, field, message):
            if not condition:
                raise ConfigError(f"{field}={getattr(self, field)!r}: {message}")

        for field in ("epochs", "batch_size", "latent_dim", "latent_n", "components", "ngf", "ndf",
                      "sample_count", "eval_samples", "class_guide_robust_epochs"):
            need(isinstance(getattr(self, field), int) and getattr(self, field) >= 1, field,
                 "must be an integer >= 1")
        for field in ("lr", "beta1", "beta2", "sigma_weight", "ema_decay", "ema_rampup", "ada_target", "ada_kimg",
                      "r1_gamma", "class_loss_weight", "class_guide_weight", "class_guide_robust",
                      "class_mismatch_weight", "lecam_weight", "lecam_decay", "recon_weight"):
            need(isinstance(getattr(self, field), float) and math.isfinite(getattr(self, field)), field,
                 "must be a finite number")
        need(self.lr > 0, "lr", "must be > 0")
        need(0 <= self.beta1 < 1, "beta1", "must be in [0, 1)")
        need(0 <= self.beta2 < 1, "beta2", "must be in [0, 1)")
        need(0 <= self.class_guide_robust <= 64, "class_guide_robust",
             "must be in [0, 64] pixel levels (0 = the guide's head only; 8 is a usual radius)")
        need(self.class_guide_robust == 0 or self.class_guide_weight > 0, "class_guide_robust",
             "makes the class guide robust: set class_guide_weight > 0 too")
        need(self.precision in PRECISIONS, "precision", f"use one of {', '.join(PRECISIONS)}")
        need(isinstance(self.eval_every, int) and self.eval_every >= 0, "eval_every", "must be an integer >= 0")
        need(isinstance(self.freeze_d, int) and self.freeze_d >= 0, "freeze_d", "must be an integer >= 0 (0 = off)")
        need(self.extractor in EXTRACTORS, "extractor", f"use one of {', '.join(EXTRACTORS)}")
        for field in ("diffaugment", "class_guide_augment"):
            try:
                parse_policy(getattr(self, field))
            except ValueError as err:
                raise ConfigError(f"{field}={getattr(self, field)!r}: {err}") from None
        return self

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    def gan_options(self) -> GANOptions:
        """The options of the GAN this config trains (its networks and its training step)."""
        return GANOptions(**{f.name: getattr(self, f.name) for f in dataclasses.fields(GANOptions)})

    def save(self, path: Path) -> None:
        tmp = Path(path).with_suffix(".json.tmp")
        tmp.write_text(json.dumps(self.to_dict(), indent=2) + "\n")
        tmp.replace(path)

    @classmethod
    def from_dict(cls, values: dict, *, origin: str = "config") -> TrainConfig:
        fields = {f.name: f for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - set(fields))
        if unknown:
            raise ConfigError(f"{origin}: unknown field(s) {', '.join(unknown)}; "
                              f"known fields: {', '.join(fields)}")
        return cls(**{k: coerce(fields[k], v, origin) for k, v in values.items()})

    @classmethod
    def load(cls, path: Path) -> TrainConfig:
        return cls.from_dict(read_json_object(path), origin=str(path))

    def changed_from(self, other: TrainConfig, ignore=()) -> dict:
        """{field: my value} for the fields where I differ from ``other``, in field order."""
        return {k: v for k, v in self.to_dict().items() if k not in ignore and getattr(other, k) != v}

    def differences(self, other: TrainConfig,
                    ignore=("epochs", "stop_on_collapse", "inception_weights")) -> list[str]:
        """Fields where ``other`` differs, as 'field: mine -> other' lines."""
        return [f"{k}: {v!r} (in the run) != {getattr(other, k)!r} (requested)"
                for k, v in self.changed_from(other, ignore).items()]


def coerce(field: dataclasses.Field, value, origin="config"):
    """A JSON or command-line value -> the field's type, or a ConfigError naming the field."""
    annotation = field.type if isinstance(field.type, str) else getattr(field.type, "__name__", str(field.type))
    names = {part.strip() for part in annotation.replace("Optional[", "").rstrip("]").split("|")}
    if "None" in names and (value is None or (isinstance(value, str) and value.lower() in ("", "none", "null"))):
        return None
    kinds = [k for name, k in (("int", int), ("float", float), ("str", str), ("bool", bool)) if name in names]
    if len(kinds) != 1:
        raise TypeError(f"TrainConfig.{field.name}: annotation {annotation!r} is not int, float, str or bool "
                        "(optionally | None)")
    kind = kinds[0]
    try:
        if kind is bool:
            if isinstance(value, str):
                if value.lower() not in ("true", "false", "1", "0", "yes", "no"):
                    raise ValueError(value)
                return value.lower() in ("true", "1", "yes")
            return bool(value)
        if kind is int and isinstance(value, float) and not value.is_integer():
            raise ValueError(value)
        if kind is int:
            return int(float(value)) if isinstance(value, str) and float(value).is_integer() else int(value)
        return kind(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{origin}: {field.name}={value!r} is not a valid {kind.__name__}") from None


_MODERN = {"lr": 2e-4, "beta1": 0.5, "batch_size": 35, "epochs": 100,
           "diffaugment": "color,translation,cutout", "ema_decay": 0.999, "ema_rampup": 0.05}
PRESETS: dict[str, dict] = {
    "paper": {"lr": 1e-2, "beta1": 0.5, "batch_size": 35, "epochs": 100},
    "default": {"lr": 2e-4, "beta1": 0.5, "batch_size": 35, "epochs": 100},
    "modern": _MODERN,
    # The quality push's recipe (docs/results/quality-push): stage 1's best row (DeLiGAN,
    # `modern`) at stage 2's length. The shipped saved_models/emoji-faces was trained this way.
    "quality": {**_MODERN, "model": "deligan", "epochs": 300},
    # The small-data backbone: the FastGAN-style `lite` networks (models/lite.py) with hinge loss,
    # LeCam (weight 0.3, not tuned), x-flip, DiffAugment colour+translation and the EMA generator,
    # in bfloat16 where the CPU has it (docs/results/lite-backbone).
    "lite": {**_MODERN, "model": "dcgan", "arch": "lite", "diffaugment": "color,translation", "loss": "hinge",
             "lecam_weight": 0.3, "xflip": True, "epochs": 300, "precision": "auto"},
    # Projected GAN (Sauer et al. 2021) on the lite generator: D judges images in a frozen ImageNet
    # EfficientNet-Lite0's features (models/projected.py; `emojigan extractors fetch efficientnet-lite0`
    # first), hinge loss, DiffAugment colour+translation+cutout, Adam(2e-4, 0, 0.99) as published;
    # no EMA, LeCam or x-flip: rows add them (docs/results/projected).
    "projected": {"model": "dcgan", "generator": "lite", "discriminator": "projected", "projected_size": 224,
                  "loss": "hinge", "diffaugment": "color,translation,cutout", "lr": 2e-4, "beta1": 0.0, "beta2": 0.99,
                  "batch_size": 35, "epochs": 300, "precision": "auto"},
    "smoke": {"lr": 2e-4, "beta1": 0.5, "batch_size": 35, "epochs": 2, "ngf": 8, "ndf": 8,
              "latent_dim": 16, "components": 8, "sample_count": 16, "eval_every": 1, "eval_samples": 64,
              "extractor": "emoji"},
}


def make_config(preset: str = "default", config_file: Path | None = None, **overrides) -> TrainConfig:
    """Preset, then the config file, then explicit overrides (None values are ignored)."""
    if preset not in PRESETS:
        raise ConfigError(f"preset={preset!r}: use one of {', '.join(PRESETS)}")
    values = {**PRESETS[preset], "preset": preset}
    if config_file is not None:
        file_values = read_json_object(config_file)
        TrainConfig.from_dict(file_values, origin=str(config_file))  # names unknown fields, bad values
        values.update(file_values)
    values.update({k: v for k, v in overrides.items() if v is not None})
    return TrainConfig.from_dict(values).validate()


ALIASES = {"N": "latent_n"}  # the paper's name for the proposed GAN's expansion


def parse_override(pair: str, origin: str) -> tuple[str, object]:
    """'FIELD=VALUE' (as ``--set`` and compare's ``MODEL:FIELD=VALUE`` take it; '-' in FIELD may be
    '_'; N is latent_n) -> (field, the value as the field's type); a ConfigError names ``origin``,
    the pair and what is wrong. ``override_text`` is its inverse."""
    key, sep, value = pair.partition("=")
    key = key.strip().replace("-", "_")
    key = ALIASES.get(key, key)
    fields = {f.name: f for f in dataclasses.fields(TrainConfig)}
    if not sep:
        raise ConfigError(f"{origin}: {pair!r} is not KEY=VALUE (FIELD=VALUE with a config field)")
    if key not in fields:
        raise ConfigError(f"{origin}: {pair!r} is not FIELD=VALUE with a config field: unknown field(s) {key}; "
                          f"known fields: {', '.join(fields)}")
    return key, coerce(fields[key], value.strip(), origin=origin)


def override_text(field: str, value) -> str:
    """'field=value' that ``parse_override`` reads back as ``value`` (booleans as true/false)."""
    return f"{field}={str(value).lower() if isinstance(value, bool) else value}"


# The fields `emojigan fit` has a flag of its own for (the rest are set with --set FIELD=VALUE).
FIT_FLAGS = ("model", "data", "preset", "epochs", "batch_size", "lr", "latent_n", "resolution", "precision", "seed",
             "eval_every", "eval_samples", "extractor", "inception_weights", "init_from", "stop_on_collapse")


def read_json_object(path: Path) -> dict:
    try:
        values = json.loads(Path(path).read_text())
    except (OSError, json.JSONDecodeError) as err:
        raise ConfigError(f"cannot read config file {path}: {err}") from None
    if not isinstance(values, dict):
        raise ConfigError(f"config file {path} must hold a JSON object")
    return values
