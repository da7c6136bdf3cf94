"""The sigmoid chain of the sheet's section 1.3, analysed layer by layer.

A chain of one-node layers ``a_i = f(w_i a_{i-1})``, ``a_0 = x``, ``y = a_n``
is built as a chainrule graph (``z_i = w_i * a_{i-1}``, ``a_i = f(z_i)``) and
evaluated by the engine. Backpropagation gives ``dy/dx`` and every ``dy/da_i``;
the closed form ``prod_i w_i f'(z_i)`` is computed independently from the
derivative sympy derives, and the two must agree.

Public API (used by ``chainrule chain`` and the report):

- :func:`build_chain` -- the chain as a :class:`~chainrule.core.graph.Graph`.
- :func:`analyse` -> :class:`ChainAnalysis` (``.to_dict()``, :func:`to_text`,
  :func:`to_markdown`): the per-layer table, ``dy/dx`` both ways and the bound.
- :func:`derivative_facts` / :func:`sigmoid_derivative_facts` -> :class:`DerivativeFacts`:
  ``f'`` derived by sympy, its maximum found by solving ``f'' = 0``, its infimum.
- :func:`exploding_facts` -> :class:`ExplodingFacts`: when a layer can amplify.
- :func:`exploding_example`, :func:`vanishing_example`: constructed chains.
- :func:`random_weights`, :func:`parse_weight_init`: weights drawn from a distribution.

>>> result = analyse([1, 1, 1, 1, 1], 0.5)
>>> round(result.backprop, 8), round(result.closed_form, 8), result.agree
(0.00060799, 0.00060799, True)
>>> result.bound == 0.25**5
True
>>> facts = sigmoid_derivative_facts()
>>> facts.max_value, facts.argmax, facts.infimum, facts.infimum_attained
(1/4, 0, 0, False)
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import TYPE_CHECKING, Any

import numpy as np

from chainrule.core.graph import Graph, GraphBuilder
from chainrule.errors import ChainruleError
from chainrule.show.notation import json_value, short
from chainrule.show.tables import aligned_table, markdown_table

if TYPE_CHECKING:
    import sympy

ACTIVATIONS = ("sigmoid", "tanh", "relu")
"""The activations a chain can use (each an op of :data:`chainrule.core.ops.OPS`)."""

MAX_DEPTH = 10_000
"""Longest chain accepted: deeper ones only repeat what depth 10 000 shows."""

SYMBOLS = {"sigmoid": "σ", "tanh": "tanh", "relu": "relu"}

_SUBNORMAL_SLACK = 1e-300  # where |dy/dx| and its bound are subnormal, compare loosely


def _check_activation(activation: str) -> None:
    if activation not in ACTIVATIONS:
        raise ChainruleError(
            f"unknown activation {activation!r}: choose one of {', '.join(ACTIVATIONS)}"
        )


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
    _check_activation(activation)
    _check_depth(depth)
    builder = GraphBuilder()
    previous = builder.input("x")
    names = []
    for i in range(1, depth + 1):
        pre_activation = builder.apply("mul", builder.input(f"w{i}"), previous)
        previous = builder.apply(activation, pre_activation)
        names += [f"z{i}", f"a{i}"]
    return builder.build(previous, names=names, source=f"{activation} chain of depth {depth}")


# --- the derivative of an activation, derived by sympy ---------------------------------------


@dataclass(frozen=True)
class DerivativeFacts:
    """``f'`` of an activation in closed form, with its extremes (exact sympy numbers)."""

    activation: str
    function: sympy.Expr  # f(x), built from the op table
    derivative: sympy.Expr  # f'(x) as sympy differentiates it
    by_output: sympy.Expr | None  # f' written in s = f(x), e.g. s*(1 - s); None for relu
    second_derivative: sympy.Expr
    critical_points: list[sympy.Expr]  # real solutions of f''(x) = 0 (smooth f only)
    max_value: sympy.Expr
    argmax: sympy.Expr | str  # a point, or a set described in words ("x > 0")
    infimum: sympy.Expr
    infimum_attained: bool
    infimum_where: str  # "|x| -> oo" or "x <= 0"
    symbol: Any  # the sympy symbol x
    output_symbol: Any  # the sympy symbol s

    @property
    def max_float(self) -> float:
        return float(self.max_value)

    def summary(self) -> str:
        """One line, e.g. ``σ'(x) = σ(x)(1 - σ(x)); max 1/4 at x = 0 ...``."""
        f = SYMBOLS[self.activation]
        lines = f"{f}'(x) = {self.derivative_text()}; "
        where = f"x = {self.argmax}" if not isinstance(self.argmax, str) else self.argmax
        lines += f"max {self.max_value} at {where}"
        if self.critical_points:
            points = ", ".join(str(p) for p in self.critical_points)
            lines += f" (solving {f}''(x) = 0 gives x = {points})"
        if self.infimum_attained:
            lines += f"; minimum {self.infimum} for {self.infimum_where}"
        else:
            lines += f"; infimum {self.infimum} as {self.infimum_where}, never attained"
        return lines

    def derivative_text(self) -> str:
        """``f'`` in terms of ``f``, as the sheet writes it."""
        if self.by_output is None:
            return "1 if x > 0 else 0 (relu'(0) taken as 0)"
        f = SYMBOLS[self.activation]
        text = str(self.by_output).replace("**2", "²").replace("*", "").replace("-", "−")
        return text.replace("s", f"{f}(x)")

    def to_dict(self) -> dict[str, Any]:
        return {
            "activation": self.activation,
            "function": str(self.function),
            "derivative": str(self.derivative),
            "derivative_by_output": None if self.by_output is None else str(self.by_output),
            "second_derivative": str(self.second_derivative),
            "critical_points": [str(p) for p in self.critical_points],
            "max": {"value": self.max_float, "exact": str(self.max_value), "at": str(self.argmax)},
            "infimum": {
                "value": float(self.infimum),
                "attained": self.infimum_attained,
                "where": self.infimum_where,
            },
            "summary": self.summary(),
        }


@cache
def derivative_facts(activation: str) -> DerivativeFacts:
    """Differentiate the activation symbolically and find the extremes of ``f'``.

    Smooth activations: the maximum of ``f'`` is at a root of ``f''`` (solved,
    not assumed) and the infimum is the limit at ``±oo``. ReLU's derivative is
    piecewise constant; its extremes are the values of its pieces.

    >>> facts = derivative_facts("tanh")
    >>> facts.by_output, facts.max_value, facts.critical_points
    (1 - s**2, 1, [0])
    >>> relu = derivative_facts("relu")
    >>> relu.max_value, relu.argmax, relu.infimum, relu.infimum_where
    (1, 'x > 0', 0, 'x <= 0')
    """
    import sympy

    from chainrule.core.backends import sympy_math
    from chainrule.core.ops import OPS

    _check_activation(activation)
    x, s = sympy.Symbol("x", real=True), sympy.Symbol("s", real=True)
    function = OPS[activation].forward(sympy_math(), x).rewrite(sympy.Piecewise)
    derivative = sympy.diff(function, x)
    second = sympy.diff(function, x, 2)
    common = {
        "activation": activation,
        "function": function,
        "derivative": derivative,
        "second_derivative": second,
        "symbol": x,
        "output_symbol": s,
    }
    if isinstance(derivative, sympy.Piecewise):
        return DerivativeFacts(
            **common, by_output=None, critical_points=[], **_piecewise_extremes(derivative, x)
        )
    critical = sorted(sympy.solveset(second, x, sympy.S.Reals))
    at_critical = [sympy.nsimplify(sympy.simplify(derivative.subs(x, c))) for c in critical]
    limits = {sympy.limit(derivative, x, end) for end in (sympy.oo, -sympy.oo)}
    best = max(range(len(critical)), key=lambda k: at_critical[k])
    infimum = min([*at_critical, *limits])
    return DerivativeFacts(
        **common,
        by_output=_derivative_by_output(function, derivative, x, s),
        critical_points=critical,
        max_value=at_critical[best],
        argmax=critical[best],
        infimum=infimum,
        infimum_attained=infimum in at_critical,
        infimum_where="|x| -> oo" if infimum in limits else "a critical point",
    )


def _piecewise_extremes(derivative: Any, x: Any) -> dict[str, Any]:
    """Extremes of a piecewise-constant derivative: each piece's value is attained."""
    pieces = [(value, condition) for value, condition in derivative.args]
    top = max(pieces, key=lambda piece: piece[0])
    bottom = min(pieces, key=lambda piece: piece[0])

    def where(condition: Any, others: list[Any]) -> str:
        if condition is True or str(condition) == "True":  # the "otherwise" piece
            (other,) = others
            return str(other.negated)
        return str(condition)

    conditions = [condition for _, condition in pieces]
    return {
        "max_value": top[0],
        "argmax": where(top[1], [c for c in conditions if c is not top[1]]),
        "infimum": bottom[0],
        "infimum_attained": True,
        "infimum_where": where(bottom[1], [c for c in conditions if c is not bottom[1]]),
    }


def _derivative_by_output(function: Any, derivative: Any, x: Any, s: Any) -> Any:
    """``f'`` as a function of ``s = f(x)``: substitute the inverse of ``f``'s one atom."""
    import sympy

    (atom,) = function.atoms(sympy.exp, sympy.tanh)  # exp(-x) or tanh(x)
    u = sympy.Dummy("u")
    (atom_in_s,) = sympy.solve(function.subs(atom, u) - s, u)
    by_output = sympy.expand(sympy.simplify(derivative.subs(atom, atom_in_s)))
    if sympy.simplify(by_output.subs(s, function) - derivative) != 0:
        raise AssertionError(f"{by_output} is not the derivative of {function}")
    return _tidy(by_output)


def _tidy(polynomial: Any) -> Any:
    """The shorter of the expanded and the factored form; ``s*(1 - s)``, not ``-s*(s - 1)``."""
    import sympy

    coefficient, factors = sympy.factor(polynomial).as_coeff_mul()
    sums = [k for k, f in enumerate(factors) if f.is_Add]
    if coefficient == -1 and sums:  # fold the sign into a linear factor
        coefficient, factors = 1, (*factors[: sums[0]], -factors[sums[0]], *factors[sums[0] + 1 :])
    factored = sympy.Mul(coefficient, *factors)
    forms = [factored, sympy.expand(polynomial)]
    return min(forms, key=lambda form: (sympy.count_ops(form), not form.is_Mul))


def sigmoid_derivative_facts() -> DerivativeFacts:
    """σ'(x) = σ(x)(1 - σ(x)): max 1/4 at x = 0, infimum 0 never attained."""
    return derivative_facts("sigmoid")


@cache
def local_derivative(activation: str) -> Callable[[Any, Any], Any]:
    """``f'`` as a numpy function of ``(z, a)`` with ``a = f(z)``, from the sympy derivation.

    Written in ``a`` where sympy found that form (``a(1 - a)`` never overflows);
    in ``z`` otherwise (ReLU).

    >>> local_derivative("sigmoid")(0.0, 0.5)
    0.25
    """
    import sympy

    facts = derivative_facts(activation)
    if facts.by_output is not None:
        in_a = sympy.lambdify(facts.output_symbol, facts.by_output, "numpy")
        return lambda z, a: in_a(a)
    in_z = sympy.lambdify(facts.symbol, facts.derivative, "numpy")
    return lambda z, a: in_z(z)


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


# --- exploding: when can a layer amplify? ----------------------------------------------------


@dataclass(frozen=True)
class ExplodingFacts:
    """When ``|w f'(w a)|`` can exceed 1, derived from :class:`DerivativeFacts`.

    ``threshold``: a layer amplifies for some ``a`` only if ``|w| > threshold``
    (the solution of ``|w| max f' > 1``). ``edge``: for smooth ``f``, the factor
    exceeds 1 exactly when ``|w a| < edge(|w|)`` (sympy's root of ``f'(z) = 1/|w|``).
    """

    activation: str
    threshold: sympy.Expr
    edge: sympy.Expr | None  # in the symbol w (|w|); None for relu (a half-line, not a window)
    weight_symbol: Any

    def max_factor(self, weight: float) -> float:
        """The largest ``|w f'(w a)|`` over all ``a``: ``|w| max f'`` (at ``a`` = argmax / w)."""
        return abs(weight) * derivative_facts(self.activation).max_float

    def amplifying_layers(self, weights: Sequence[float]) -> list[int]:
        """The layers (1-based) whose factor can exceed 1 for some input."""
        return [i for i, w in enumerate(weights, 1) if self.max_factor(w) > 1]

    def window(self, weight: float) -> tuple[float, float] | None:
        """The open interval of ``a`` where ``|w f'(w a)| > 1`` (None when empty).

        >>> lo, hi = exploding_facts("sigmoid").window(10.0)
        >>> round(lo, 4), round(hi, 4)
        (-0.2063, 0.2063)
        """
        if abs(weight) <= float(self.threshold):
            return None
        if self.edge is None:  # relu: every a on the side where w a > 0
            return (0.0, math.inf) if weight > 0 else (-math.inf, 0.0)
        half = float(self.edge.subs(self.weight_symbol, abs(weight))) / abs(weight)
        return (-half, half)

    def widest_window(self) -> tuple[float, float]:
        """``(|w|, width)`` where the window of ``a`` is widest (smooth activations).

        >>> w, width = exploding_facts("sigmoid").widest_window()
        >>> round(w, 3), round(width, 3)
        (6.894, 0.448)
        """
        if self.edge is None:
            raise ChainruleError("relu has no finite window: every a with w a > 0 amplifies")
        return _widest_window(self.activation)

    def to_dict(self, weights: Sequence[float] = ()) -> dict[str, Any]:
        facts: dict[str, Any] = {
            "condition": f"|w f'(w a)| > 1 is possible only if |w| > {self.threshold}",
            "threshold": float(self.threshold),
            "edge": None if self.edge is None else f"|w a| < {self.edge}",
        }
        if self.edge is not None:
            w, width = self.widest_window()
            facts["widest_window"] = {"weight": w, "width": width}
        if weights:
            facts["max_factor_per_layer"] = [self.max_factor(w) for w in weights]
            facts["layers_able_to_amplify"] = self.amplifying_layers(weights)
        return facts


@cache
def exploding_facts(activation: str) -> ExplodingFacts:
    """Solve ``|w| max f' > 1`` for ``|w|``, and ``f'(z) = 1/|w|`` for the window's edge.

    >>> facts = exploding_facts("sigmoid")
    >>> facts.threshold, facts.max_factor(10.0)
    (4, 2.5)
    >>> exploding_facts("tanh").threshold, exploding_facts("relu").threshold
    (1, 1)
    """
    import sympy

    facts = derivative_facts(activation)
    w = sympy.Symbol("w", positive=True)
    amplifying = sympy.solve_univariate_inequality(w * facts.max_value > 1, w, relational=False)
    edge = None
    if facts.by_output is not None:
        roots = sympy.solve(sympy.Eq(facts.derivative, 1 / w), facts.symbol)
        edge = max(roots, key=lambda root: float(root.subs(w, 2 * amplifying.start + 1)))
    return ExplodingFacts(activation, amplifying.start, edge, w)


@cache
def _widest_window(activation: str) -> tuple[float, float]:
    """Maximise the window's width ``2 edge(w) / w``: a grid for the start, then Newton."""
    import sympy

    facts = exploding_facts(activation)
    assert facts.edge is not None
    w = facts.weight_symbol
    width = 2 * facts.edge / w
    start = float(facts.threshold)
    grid = np.linspace(start * 1.0001, start * 20, 4000)
    values = sympy.lambdify(w, width, "numpy")(grid)
    guess = float(grid[int(np.argmax(values))])
    best = float(sympy.nsolve(sympy.diff(width, w), w, guess))
    return best, float(width.subs(w, best))


# --- constructed examples --------------------------------------------------------------------

EXPLODING_WEIGHTS = {"sigmoid": -10.0, "tanh": 2.0, "relu": 2.0}
"""Default weight of every layer of :func:`exploding_example`."""

_EXPLODING_HINTS = {"sigmoid": "w < -5.87", "tanh": "|w| > 1", "relu": "w > 1"}


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
    _check_activation(activation)
    w = EXPLODING_WEIGHTS[activation] if weight is None else float(weight)
    x = _amplifying_fixed_point(w, activation)
    result = analyse([w] * depth, x, activation)
    factor = result.layers[0].factor
    if abs(factor) <= 1:
        raise ChainruleError(
            f"no exploding {activation} chain with w = {w:g}: its fixed point has factor "
            f"{factor + 0.0:.4g}, |factor| must exceed 1 (try {_EXPLODING_HINTS[activation]})"
        )
    return result


def _amplifying_fixed_point(weight: float, activation: str) -> float:
    """Among the inputs ``a`` with ``f(w a) = a``, the one whose factor is largest."""
    if activation == "relu":
        return 1.0  # relu(w a) = w a for w, a > 0: any positive input passes, scaled by w
    import sympy

    facts = derivative_facts(activation)
    a = sympy.Symbol("a", real=True)
    fixed = facts.function.subs(facts.symbol, weight * a) - a
    candidates = {float(sympy.nsolve(fixed, a, start)) for start in (-0.9, 0.0, 0.2, 0.9)}
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

WEIGHT_INITS = {"normal": ("MEAN", "STD"), "uniform": ("LOW", "HIGH"), "constant": ("VALUE",)}


def parse_weight_init(text: str) -> tuple[str, list[float]]:
    """``normal:0,1`` -> ``("normal", [0.0, 1.0])``; also ``uniform:LOW,HIGH``, ``constant:V``.

    >>> parse_weight_init("normal:0,2.5")
    ('normal', [0.0, 2.5])
    """
    kind, _, rest = text.partition(":")
    kind = kind.strip().lower()
    if kind not in WEIGHT_INITS:
        raise ChainruleError(
            f"--weight-init: unknown distribution {kind!r}; use "
            + ", ".join(f"{k}:{','.join(v)}" for k, v in WEIGHT_INITS.items())
        )
    params = parse_numbers(rest, f"--weight-init {kind}") if rest.strip() else []
    if len(params) != len(WEIGHT_INITS[kind]):
        raise ChainruleError(
            f"--weight-init: {kind} takes {len(WEIGHT_INITS[kind])} numbers "
            f"({kind}:{','.join(WEIGHT_INITS[kind])}), got {len(params)}"
        )
    if kind == "normal" and params[1] < 0:
        raise ChainruleError(f"--weight-init: the standard deviation must be >= 0, got {params[1]}")
    if kind == "uniform" and params[0] > params[1]:
        raise ChainruleError(f"--weight-init: uniform needs LOW <= HIGH, got {rest!r}")
    return kind, params


def random_weights(depth: int, init: str = "normal:0,1", seed: int = 0) -> list[float]:
    """``depth`` weights drawn from ``init`` (see :func:`parse_weight_init`), reproducibly.

    >>> random_weights(3, "constant:2")
    [2.0, 2.0, 2.0]
    >>> random_weights(2, "normal:0,1", seed=1) == random_weights(2, "normal:0,1", seed=1)
    True
    """
    _check_depth(depth)
    kind, params = parse_weight_init(init)
    rng = np.random.default_rng(seed)
    if kind == "normal":
        drawn = rng.normal(params[0], params[1], depth)
    elif kind == "uniform":
        drawn = rng.uniform(params[0], params[1], depth)
    else:
        drawn = np.full(depth, params[0])
    return [float(w) for w in drawn]


def parse_numbers(text: str, what: str) -> list[float]:
    """``"1, -2.5,3"`` -> ``[1.0, -2.5, 3.0]``; anything else is a one-line error.

    >>> parse_numbers("1,-2.5", "--weights")
    [1.0, -2.5]
    """
    numbers = []
    for item in text.split(","):
        try:
            value = float(item)
        except ValueError:
            raise ChainruleError(f"{what}: {item.strip()!r} is not a number") from None
        if not math.isfinite(value):
            raise ChainruleError(f"{what}: {item.strip()!r} is not a finite number")
        numbers.append(value)
    return numbers


# --- renderers -------------------------------------------------------------------------------


def _header(activation: str) -> list[str]:
    f = SYMBOLS[activation]
    slope = derivative_facts(activation).derivative_text().replace(f"{f}(x)", "a_i")
    return [
        "i",
        "w_i",
        "a_{i-1}",
        "z_i = w_i a_{i-1}",
        f"a_i = {f}(z_i)",
        f"{f}'(z_i) = {slope}" if "if" not in slope else f"{f}'(z_i)",
        f"w_i {f}'(z_i)",
        "dy/da_i",
    ]


def _rows(analysis: ChainAnalysis) -> list[list[str]]:
    return [
        [
            str(layer.index),
            short(layer.weight),
            short(layer.input),
            short(layer.pre_activation),
            short(layer.activation),
            short(layer.derivative),
            short(layer.factor),
            short(layer.grad),
        ]
        for layer in analysis.layers
    ]


def _summary_lines(analysis: ChainAnalysis) -> list[str]:
    f = SYMBOLS[analysis.activation]
    explode = exploding_facts(analysis.activation)
    amplifying = explode.amplifying_layers(analysis.weights)
    agree = "agree" if analysis.agree else "DISAGREE"
    return [
        f"dy/dx by backpropagation: {analysis.backprop:.12g}",
        f"dy/dx = prod_i w_i {f}'(w_i a_{{i-1}}): {analysis.closed_form:.12g}"
        f" ({agree}: relative difference {analysis.relative_difference:.2g})",
        f"bound |dy/dx| <= {analysis.bound_formula()} = {short(analysis.bound)}"
        f" ({'holds' if analysis.bound_holds else 'VIOLATED'})",
        "",
        analysis.facts.summary(),
        f"exploding: a layer's factor |w_i {f}'(w_i a_{{i-1}})| can exceed 1 only if "
        f"|w_i| > {explode.threshold}; "
        + (
            f"layers that could: {', '.join(map(str, amplifying))}"
            if amplifying
            else "no layer here can (every |w_i| is at most that)"
        ),
    ]


def to_text(analysis: ChainAnalysis) -> str:
    """The per-layer table, ``dy/dx`` both ways, the bound and the derivative facts."""
    f = SYMBOLS[analysis.activation]
    lines = [
        f"chain: a_0 = x = {short(analysis.x)}, a_i = {f}(w_i a_{{i-1}}), i = 1..{analysis.depth},"
        f" y = a_{analysis.depth} = {short(analysis.output)}",
        "",
        "graph",
        *(f"  {line}" for line in str(analysis.graph).splitlines()),
        "",
        *aligned_table(_header(analysis.activation), _rows(analysis)),
        "",
        *_summary_lines(analysis),
    ]
    if analysis.warnings:
        lines += ["", "warnings", *(f"  {w}" for w in analysis.warnings)]
    return "\n".join(lines)


def to_markdown(analysis: ChainAnalysis) -> str:
    """The same content as :func:`to_text`, as a Markdown table and list."""
    f = SYMBOLS[analysis.activation]
    lines = [
        f"**Chain:** a₀ = x = {short(analysis.x)}, aᵢ = {f}(wᵢ aᵢ₋₁), i = 1..{analysis.depth}, "
        f"y = {short(analysis.output)}",
        "",
        *markdown_table([f"`{h}`" for h in _header(analysis.activation)], _rows(analysis)),
        "",
        *(f"- {line.strip()}" for line in _summary_lines(analysis) if line.strip()),
    ]
    return "\n".join(lines)
