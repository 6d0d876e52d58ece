"""A part of the GAN's training step: a loss term (``terms.py``), the augmentation before D
(``augmentation.py``) or the EMA generator (``ema.py``).

The contract every part keeps:
- ``wanted(options, d_outputs)``: whether a GAN with these options (``config.GANOptions``) and a
  discriminator with these named outputs has the part;
- ``check(options, conditional, d_outputs)``: refuses, with a ``ConfigError`` naming the field,
  the options the part cannot work with (the one place each of its rules lives; ``gan.check_options``
  runs every part's before anything is built or written);
- ``build(gan)``: makes its variables once the networks exist;
- ``state()``: those variables and networks by the name they have in checkpoints (an attribute
  of the GAN, so checkpoints written before the parts existed restore);
- ``metric_names``: what it logs, in the history and TensorBoard.
"""

from __future__ import annotations

from keras_emojigan.config import ConfigError


def need(condition, options, field: str, message: str) -> None:
    """Refuse ``options`` unless ``condition``: '<field>=<value>: <message>'."""
    if not condition:
        raise ConfigError(f"{field}={getattr(options, field)!r}: {message}")


class Part:
    """See the module's docstring. ``options`` is the GAN's ``config.GANOptions``."""

    metric_names: tuple[str, ...] = ()

    def __init__(self, options, gan):
        self.options = options
        self.build(gan)

    @staticmethod
    def wanted(options, d_outputs) -> bool:
        return True

    @staticmethod
    def check(options, conditional: bool, d_outputs) -> None:
        """Refuse options this part cannot work with (ConfigError); checked even when not wanted."""

    def build(self, gan) -> None:
        """Make the part's variables; ``gan``'s networks exist."""

    def state(self) -> dict:
        """{checkpoint name: variable or network} of what the part keeps between steps."""
        return {}
