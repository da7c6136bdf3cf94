"""The sigmoid chain of the sheet's section 1.3: the graph, analysed layer by layer.

A chain of one-node layers ``a_i = f(w_i a_{i-1})``, ``a_0 = x``, ``y = a_n``
is built as a chainrule graph (``z_i = w_i * a_{i-1}``, ``a_i = f(z_i)``) and
evaluated by the engine. Backpropagation gives ``dy/dx`` and every ``dy/da_i``;
the closed form ``prod_i w_i f'(z_i)`` is computed independently from the
derivative sympy derives (:mod:`chainrule.vanishing.facts`), and the two must agree.

Public API (used by ``chainrule chain`` and the report; text and Markdown of an
analysis: :mod:`chainrule.vanishing.text`):

- :func:`build_chain` -- the chain as a :class:`~chainrule.core.graph.Graph`.
- :func:`analyse` -> :class:`ChainAnalysis` (``.to_dict()``): the per-layer
  table, ``dy/dx`` both ways and the bound.
- :func:`exploding_example`, :func:`vanishing_example`: constructed chains.
- :func:`random_weights` with a :class:`WeightInit`: weights drawn from a distribution.

>>> result = analyse([1, 1, 1, 1, 1], 0.5)
>>> round(result.backprop, 8), round(result.closed_form, 8), result.agree
(0.00060799, 0.00060799, True)
>>> result.bound == 0.25**5
True
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from chainrule.core.graph import Graph, GraphBuilder
from chainrule.errors import ChainruleError
from chainrule.show.notation import json_value
from chainrule.vanishing.activations import activation as lookup
from chainrule.vanishing.facts import (
    DerivativeFacts,
    derivative_facts,
    exploding_facts,
    fixed_points,
    local_derivative,
)

MAX_DEPTH = 10_000
"""Longest chain accepted: deeper ones only repeat what depth 10 000 shows."""

_SUBNORMAL_SLACK = 1e-300  # where |dy/dx| and its bound are subnormal, compare loosely


def _check_depth(depth: int) -> None:
    if not 1 <= depth <= MAX_DEPTH:
        raise ChainruleError(f"the depth must be between 1 and {MAX_DEPTH}, got {depth}")


@cache
def build_chain(depth: int, activation: str = "sigmoid") -> Graph:
    """The chain ``a_i = f(w_i a_{i-1})`` as a graph with inputs ``x, w1, ..., wn``.

    >>> print(build_chain(2))
    z1 = w1 * x
    a1 = sigmoid(z1)
    z2 = w2 * a1
    a2 = sigmoid(z2)
    """
    lookup(activation)  # a one-line error for an unknown name
    _check_depth(depth)
    builder = GraphBuilder()
    previous = builder.input("x")
    names = []
    for i in range(1, depth + 1):
        pre_activation = builder.apply("mul", builder.input(f"w{i}"), previous)
        previous = builder.apply(activation, pre_activation)
        names += [f"z{i}", f"a{i}"]
    return builder.build(previous, names=names, source=f"{activation} chain of depth {depth}")


# --- the chain, analysed ---------------------------------------------------------------------


@dataclass(frozen=True)
class ChainLayer:
    """One row of the table: layer i of the chain."""

    index: int
    weight: float  # w_i
    input: float  # a_{i-1}
    pre_activation: float  # z_i = w_i a_{i-1}
    activation: float  # a_i = f(z_i)
    derivative: float  # f'(z_i), closed form
    factor: float  # d a_i / d a_{i-1} = w_i f'(z_i)
    grad: float  # d y / d a_i, by backpropagation

    def to_dict(self) -> dict[str, Any]:
        return {
            "layer": self.index,
            "weight": json_value(self.weight),
            "input": json_value(self.input),
            "pre_activation": json_value(self.pre_activation),
            "activation": json_value(self.activation),
            "derivative": json_value(self.derivative),
            "factor": json_value(self.factor),
            "dy_da": json_value(self.grad),
        }


@dataclass(frozen=True)
class ChainAnalysis:
    """The chain evaluated by the engine and checked against the closed form."""

    activation: str
    x: float
    weights: list[float]
    layers: list[ChainLayer]
    output: float  # y = a_n
    backprop: float  # dy/dx by the engine's backpropagation
    closed_form: float  # prod_i w_i f'(w_i a_{i-1})
    bound: float  # prod_i |w_i| * max f'
    graph: Graph
    warnings: list[str] = field(default_factory=list)

    @property
    def depth(self) -> int:
        return len(self.weights)

    @property
    def agree(self) -> bool:
        """Backprop and the closed form agree to rounding (or both underflow)."""
        return math.isclose(self.backprop, self.closed_form, rel_tol=1e-9, abs_tol=1e-300)

    @property
    def relative_difference(self) -> float:
        scale = max(abs(self.backprop), abs(self.closed_form))
        return abs(self.backprop - self.closed_form) / scale if scale else 0.0

    @property
    def bound_holds(self) -> bool:
        # Rounding slack, relative for normal floats and absolute among subnormals
        # (below ~2e-308 a float keeps fewer digits than the product of the weights).
        return abs(self.backprop) <= self.bound * (1 + 1e-12) + _SUBNORMAL_SLACK

    @property
    def facts(self) -> DerivativeFacts:
        return derivative_facts(self.activation)

    def bound_formula(self) -> str:
        """``prod |w_i| * (1/4)^5``."""
        return f"prod |w_i| * ({self.facts.max_value})^{self.depth}"

    def to_dict(self) -> dict[str, Any]:
        """The JSON document of ``chainrule chain --format json``."""
        return {
            "activation": self.activation,
            "depth": self.depth,
            "x": json_value(self.x),
            "weights": [json_value(w) for w in self.weights],
            "graph": str(self.graph).splitlines(),
            "layers": [layer.to_dict() for layer in self.layers],
            "y": json_value(self.output),
            "dy_dx": {
                "backprop": json_value(self.backprop),
                "closed_form": json_value(self.closed_form),
                "relative_difference": json_value(self.relative_difference),
                "agree": self.agree,
            },
            "bound": {
                "formula": self.bound_formula(),
                "value": json_value(self.bound),
                "holds": self.bound_holds,
            },
            "derivative": self.facts.to_dict(),
            "exploding": exploding_facts(self.activation).to_dict(self.weights),
            "warnings": list(self.warnings),
        }


def analyse(weights: Sequence[float], x: float, activation: str = "sigmoid") -> ChainAnalysis:
    """Evaluate the chain with the engine, tabulate each layer, check the closed form.

    >>> r = analyse([2.0, -3.0], 0.0)
    >>> [(layer.pre_activation, round(layer.activation, 6)) for layer in r.layers]
    [(0.0, 0.5), (-1.5, 0.182426)]
    >>> r.closed_form == 2.0 * 0.25 * -3.0 * r.layers[1].derivative
    True
    """
    weights = [float(w) for w in weights]
    graph = build_chain(len(weights), activation)
    given = {"x": float(x), **{f"w{i}": w for i, w in enumerate(weights, 1)}}
    result = graph.evaluate(given)
    derivative = local_derivative(activation)
    layers, previous = [], float(x)
    for i, weight in enumerate(weights, 1):
        z, a = result.value_of(f"z{i}"), result.value_of(f"a{i}")
        slope = float(derivative(z, a))
        layers.append(
            ChainLayer(i, weight, previous, z, a, slope, weight * slope, result.grad_of(f"a{i}"))
        )
        previous = a
    max_slope = derivative_facts(activation).max_float
    return ChainAnalysis(
        activation=activation,
        x=float(x),
        weights=weights,
        layers=layers,
        output=result.value,
        backprop=result.gradients["x"],
        closed_form=math.prod(layer.factor for layer in layers),
        bound=math.prod(abs(w) * max_slope for w in weights),
        graph=graph,
        warnings=list(result.warnings),
    )


# --- constructed examples --------------------------------------------------------------------


def exploding_example(
    depth: int = 5, activation: str = "sigmoid", weight: float | None = None
) -> ChainAnalysis:
    """A chain whose gradient grows exponentially with depth.

    Every layer has the same weight ``w`` and ``x`` is a fixed point ``a* = f(w a*)``,
    so every layer sees the same input and has the same factor ``w f'(w a*)``.
    For the sigmoid, ``|w| > 4`` is necessary but not enough: ``a*`` must also sit
    in the window where the factor exceeds 1, which needs a negative ``w``
    (a positive one drives ``a*`` towards 1, where σ' is tiny) below about -5.87.
    The fixed point repels (its factor is above 1), so it is solved to full precision.

    >>> r = exploding_example(5)
    >>> round(r.layers[0].factor, 4), round(r.backprop, 3)
    (-1.3667, -4.768)
    """
    entry = lookup(activation)
    w = entry.exploding_weight if weight is None else float(weight)
    x = entry.exploding_x
    if x is None:
        x = _amplifying_fixed_point(w, activation)
    result = analyse([w] * depth, x, activation)
    factor = result.layers[0].factor
    if abs(factor) <= 1:
        raise ChainruleError(
            f"no exploding {activation} chain with w = {w:g}: its fixed point has factor "
            f"{factor + 0.0:.4g}, |factor| must exceed 1 (try {entry.exploding_hint})"
        )
    return result


def _amplifying_fixed_point(weight: float, activation: str) -> float:
    """Among the inputs ``a`` with ``f(w a) = a``, the one whose factor is largest."""
    candidates = fixed_points(activation, weight)
    slope = local_derivative(activation)

    def factor(point: float) -> float:
        return abs(weight * float(slope(weight * point, point)))

    return max(candidates, key=factor)


def vanishing_example(depth: int = 5, activation: str = "sigmoid") -> ChainAnalysis:
    """All weights 1 and ``x = 0.5``: each sigmoid layer multiplies the gradient by < 1/4.

    >>> r = vanishing_example(20)
    >>> f"{r.backprop:.2e}", r.bound == 0.25**20
    ('1.14e-13', True)
    """
    return analyse([1.0] * depth, 0.5, activation)


# --- random weights --------------------------------------------------------------------------

WEIGHT_INITS: dict[str, tuple[str, ...]] = {
    "normal": ("MEAN", "STD"),
    "uniform": ("LOW", "HIGH"),
    "constant": ("VALUE",),
}
"""The distributions random weights are drawn from, with the names of their parameters."""


@dataclass(frozen=True)
class WeightInit:
    """A distribution of weights: ``normal`` (mean, std), ``uniform`` (low, high), ``constant``.

    >>> WeightInit("uniform", (2.0, 1.0))
    Traceback (most recent call last):
    chainrule.errors.ChainruleError: uniform needs LOW <= HIGH, got 2,1
    """

    kind: str
    params: tuple[float, ...]

    def __post_init__(self) -> None:
        names = WEIGHT_INITS.get(self.kind)
        if names is None:
            known = ", ".join(f"{k}:{','.join(v)}" for k, v in WEIGHT_INITS.items())
            raise ChainruleError(f"unknown distribution {self.kind!r}; use {known}")
        if len(self.params) != len(names):
            raise ChainruleError(
                f"{self.kind} takes {len(names)} numbers ({self.kind}:{','.join(names)}), "
                f"got {len(self.params)}"
            )
        if self.kind == "normal" and self.params[1] < 0:
            raise ChainruleError(f"the standard deviation must be >= 0, got {self.params[1]}")
        if self.kind == "uniform" and self.params[0] > self.params[1]:
            low, high = self.params
            raise ChainruleError(f"uniform needs LOW <= HIGH, got {low:g},{high:g}")


STANDARD_NORMAL = WeightInit("normal", (0.0, 1.0))


def random_weights(depth: int, init: WeightInit = STANDARD_NORMAL, seed: int = 0) -> list[float]:
    """``depth`` weights drawn from ``init``, reproducibly.

    >>> random_weights(3, WeightInit("constant", (2.0,)))
    [2.0, 2.0, 2.0]
    >>> random_weights(2, seed=1) == random_weights(2, seed=1)
    True
    """
    import numpy as np

    _check_depth(depth)
    rng = np.random.default_rng(seed)
    params = init.params
    if init.kind == "normal":
        drawn = rng.normal(params[0], params[1], depth)
    elif init.kind == "uniform":
        drawn = rng.uniform(params[0], params[1], depth)
    else:
        drawn = np.full(depth, params[0])
    return [float(w) for w in drawn]
