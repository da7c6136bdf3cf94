"""How much computing the report spends: ``quick`` (the default), ``full``, and ``test``.

``quick`` trains the sheet's kind of network (the ``mlp`` preset) and the fastest
recipe to 99% (``fast``) and finishes in a few minutes on a 2-core laptop;
``full`` trains the most accurate recipe (``best``) instead of ``fast``. ``test``
is for the test suite only (hidden from ``--help``): every part runs, on a few
thousand images and short sweeps, in seconds; its numbers are real but small.

>>> BUDGETS["quick"].best_preset, BUDGETS["full"].best_preset
('fast', 'best')
>>> BUDGETS["test"].train_overrides["limit_train"] > 0
True
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any


def _frozen(**values: Any) -> Mapping[str, Any]:
    return MappingProxyType(values)


@dataclass(frozen=True)
class Budget:
    """One level of effort; every field goes into the cache keys of the parts it affects."""

    name: str
    baseline_preset: str  # the network of the sheet's kind (section 1.4, "baseline")
    best_preset: str  # the most accurate model trained under this budget
    train_overrides: Mapping[str, Any] = field(default_factory=_frozen)  # TrainConfig fields
    deepnet_overrides: Mapping[str, Any] = field(default_factory=_frozen)  # deep-net experiment
    plot_overrides: Mapping[str, Any] = field(default_factory=_frozen)  # gradient sweeps
    estimates: Mapping[str, float] = field(default_factory=_frozen)  # part kind -> seconds

    def describe(self) -> str:
        """One line for the report's title block."""
        limit = self.train_overrides.get("limit_train")
        subset = f", on the first {limit} training images only" if limit else ""
        return (
            f"budget {self.name}: baseline preset {self.baseline_preset}, "
            f"best preset {self.best_preset}{subset}"
        )


BUDGETS: dict[str, Budget] = {
    "quick": Budget(
        "quick", "mlp", "fast",
        deepnet_overrides=_frozen(epochs=1.0, train_size=5000, probe_size=500),
        estimates=_frozen(expression=2.0, chain=8.0, plots=25.0, deepnet=60.0,
                          baseline=25.0, best=40.0, answers=0.5),
    ),
    "full": Budget(
        "full", "mlp", "best",
        estimates=_frozen(expression=2.0, chain=8.0, plots=25.0, deepnet=60.0,
                          baseline=25.0, best=900.0, answers=0.5),
    ),
    "test": Budget(
        "test", "mlp", "fast",
        train_overrides=_frozen(limit_train=2000, limit_eval=1000, epochs=1, batch_size=128),
        deepnet_overrides=_frozen(width=32, epochs=1.0, train_size=640, probe_size=128,
                                  log_every=5),
        plot_overrides=_frozen(seeds=16),
        estimates=_frozen(expression=2.0, chain=5.0, plots=5.0, deepnet=5.0,
                          baseline=5.0, best=8.0, answers=0.5),
    ),
}
"""The budgets by name; ``test`` is not offered on the command line's help."""

