"""`fit --init-from MODEL`: a new run starts from another model's weights (transfer learning, as
StyleGAN2-ADA's ``--resume``): a pretrained prior fine-tuned on a few hundred images of one's own.

MODEL is a run dir (its latest checkpoint) or a folder holding ``gan.keras`` (what ``fit`` writes
at the end of a run; a shipped prior carries one). G, D and the EMA copy are copied layer by
layer, matched by layer name, and within a layer variable by variable where the shapes agree;
the rest keeps its fresh initialisation. The report says what was loaded and what was not, is
printed, and kept in RUN_DIR/init_from.json; a source that fills nothing is refused. Only a
fresh run loads: a resumed one has it in its checkpoints. With ``freeze_d`` (FreezeD, Mo et al.
2020) D's first blocks keep the loaded weights.
"""

from __future__ import annotations

from pathlib import Path

import keras

from keras_emojigan.config import ConfigError
from keras_emojigan.training.rundir import CONFIG, restore_gan

REPORT = "init_from.json"


def load_source(source: Path):
    """The EmojiGAN of a run dir (latest checkpoint) or of a folder / file with gan.keras."""
    source = Path(source)
    if (source / CONFIG).exists():
        return restore_gan(source)[0]
    path = source / "gan.keras" if source.is_dir() else source
    if path.suffix != ".keras" or not path.exists():
        raise ConfigError(f"init_from={str(source)!r}: give a run dir (with {CONFIG} and checkpoints) or a model "
                          "folder holding gan.keras (as `emojigan fit` writes at the end of a run)")
    from keras_emojigan.models.gan import EmojiGAN  # noqa: F401  (registers the class for loading)

    return keras.saving.load_model(path, compile=False)


def copy_matching(source: keras.Model, target: keras.Model) -> dict:
    """Copy ``source``'s weights into ``target`` layer by layer (same name), variable by variable
    (same shape); {"loaded": n, "loaded_trainable": n, "total": n, "not_loaded": [why, ...]}."""
    by_name = {layer.name: layer for layer in source.layers}
    loaded, trainable, total, missed = 0, 0, 0, []
    for layer in target.layers:
        if not layer.weights:
            continue
        other = by_name.get(layer.name)
        for index, variable in enumerate(layer.weights):
            total += 1
            mine = other.weights[index] if other is not None and index < len(other.weights) else None
            if mine is None:
                missed.append(f"{variable.path}: not in the source")
            elif tuple(mine.shape) != tuple(variable.shape):
                missed.append(f"{variable.path}: shape {tuple(variable.shape)}, the source's {tuple(mine.shape)}")
            else:
                variable.assign(keras.ops.cast(mine.value, variable.dtype))
                loaded += 1
                trainable += bool(variable.trainable)
    return {"loaded": loaded, "loaded_trainable": trainable, "total": total, "not_loaded": missed}


def init_from(gan, source, log=print, name: str | None = None) -> dict:
    """Load G, D and the EMA copy of ``source`` (a path, or the GAN ``load_source`` gave; ``name``
    says where it came from) into ``gan`` (see the module docstring); the report."""
    other = load_source(source) if isinstance(source, (str, Path)) else source
    source = name or str(source)
    pairs = {"generator": (other.generator, gan.generator), "discriminator": (other.discriminator, gan.discriminator)}
    if gan.ema is not None:  # the source's EMA copy if it has one, else its generator
        pairs["ema_generator"] = (other.sampling_generator, gan.ema.generator)
    report = {"source": str(source), **{name: copy_matching(a, b) for name, (a, b) in pairs.items()}}
    if not any(part["loaded_trainable"] for name, part in report.items() if name != "source"):
        raise ConfigError(f"init_from={str(source)!r}: no weight of it fits this model (other networks or sizes); "
                          "check its config against this run's")
    for name, part in report.items():
        if name != "source":
            log(f"init-from {source}: {name} {part['loaded']} of {part['total']} weights loaded"
                + (f"; not loaded: {', '.join(part['not_loaded'][:5])}"
                   + (f" and {len(part['not_loaded']) - 5} more" if len(part["not_loaded"]) > 5 else "")
                   if part["not_loaded"] else ""))
    return report
