"""What this project calls instability, defined once.

The paper's failure mode on small data: D learns much faster than G, D's loss falls to about
zero, D(G(z)) is pinned near zero and G stops learning ("D wins"). An epoch is *collapsed*
when its mean D loss is below ``D_LOSS_MAX`` and its mean D(G(z)) is below ``D_FAKE_MAX``;
a run is *unstable* from the first epoch of ``PATIENCE`` collapsed epochs in a row. Epochs
are counted from 0, as in history.csv.
"""

from __future__ import annotations

import dataclasses
import math

D_LOSS_MAX = 0.1
D_FAKE_MAX = 0.05
PATIENCE = 3


def epoch_collapsed(d_loss: float, d_fake: float) -> bool:
    return d_loss < D_LOSS_MAX and d_fake < D_FAKE_MAX


@dataclasses.dataclass
class InstabilityTracker:
    """Feeds on each epoch's mean logs; knows the current streak and the first unstable epoch."""

    streak: int = 0
    first_unstable_epoch: int | None = None

    def update(self, epoch: int, d_loss: float, d_fake: float) -> bool:
        """Record one epoch; True when the run is (now or already) unstable."""
        self.streak = self.streak + 1 if epoch_collapsed(d_loss, d_fake) else 0
        if self.streak >= PATIENCE and self.first_unstable_epoch is None:
            self.first_unstable_epoch = epoch - PATIENCE + 1
        return self.first_unstable_epoch is not None

    @classmethod
    def replay(cls, rows) -> InstabilityTracker:
        """Rebuild the tracker from history rows (dicts with epoch, d_loss, d_fake)."""
        tracker = cls()
        for row in rows:
            tracker.update(int(row["epoch"]), float(row["d_loss"]), float(row["d_fake"]))
        return tracker


def non_finite(logs: dict) -> list[str]:
    """Names of the logged values that are NaN or infinite."""
    return [name for name, value in logs.items() if not math.isfinite(float(value))]
