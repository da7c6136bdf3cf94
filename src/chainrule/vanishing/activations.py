"""Everything chainrule knows of each activation it studies, in one table.

An activation is an op of :data:`chainrule.core.ops.OPS` (its maths live there);
this table adds what the vanishing-gradient studies need on top: the symbol the
text and figures write, the colour of its curves, the torch module of the deep
network, and the weight of its exploding example. What follows from the maths
(``f'``, its maximum, when a layer amplifies) is derived by sympy in
:mod:`chainrule.vanishing.facts`, not written here.

This module imports nothing heavy (no numpy, sympy or torch), so the CLI can
build its ``--activation`` choices from it at start-up.

>>> NAMES
('sigmoid', 'tanh', 'relu')
>>> activation("sigmoid").symbol, activation("tanh").torch_module
('σ', 'Tanh')
>>> activation("softplus")
Traceback (most recent call last):
chainrule.errors.ChainruleError: unknown activation 'softplus': choose one of sigmoid, tanh, relu
"""

from __future__ import annotations

from dataclasses import dataclass

from chainrule.errors import ChainruleError


@dataclass(frozen=True)
class Activation:
    """One activation: an op of ``OPS`` and how the vanishing studies show and use it."""

    name: str  # the op in chainrule.core.ops.OPS, and torch's name for its init gain
    symbol: str  # how text and figures write f: σ(x), tanh(x)
    colour: str  # matplotlib colour of its curves
    torch_module: str  # the torch.nn class of the deep network's layers
    exploding_weight: float  # default weight of every layer of the exploding example
    exploding_hint: str  # where an exploding chain's weight has to be (for the error message)
    exploding_x: float | None  # the exploding example's input; None: its amplifying fixed point
    plot_range: tuple[float, float]  # y range of its panel in the figure of the derivatives
    dies: bool = False  # f' = 0 for z <= 0: a one-node chain is dead unless every unit is active


TABLE: dict[str, Activation] = {
    a.name: a
    for a in (
        # |w| > 4 is not enough: the fixed point must sit where σ' is large (w below -5.87).
        Activation("sigmoid", "σ", "tab:blue", "Sigmoid", -10.0, "w < -5.87", None, (-0.15, 1.6)),
        Activation("tanh", "tanh", "tab:orange", "Tanh", 2.0, "|w| > 1", None, (-1.15, 1.6)),
        # relu(w a) = w a for w, a > 0: any positive input passes every layer, scaled by w.
        Activation("relu", "relu", "tab:green", "ReLU", 2.0, "w > 1", 1.0, (-0.15, 2.0), dies=True),
    )
}
"""The activations, by name, in the order the CLI, tables and figures list them."""

NAMES: tuple[str, ...] = tuple(TABLE)
"""The activation names, e.g. for ``--activation`` choices."""


def activation(name: str) -> Activation:
    """The table's entry for ``name``; any other name is a one-line error."""
    try:
        return TABLE[name]
    except KeyError:
        choices = ", ".join(NAMES)
        raise ChainruleError(f"unknown activation {name!r}: choose one of {choices}") from None
