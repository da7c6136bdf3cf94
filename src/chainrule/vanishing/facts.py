"""What sympy derives about each activation: ``f'``, its extremes, when a layer amplifies.

Each activation's function is taken from its op in :data:`chainrule.core.ops.OPS`
(evaluated on sympy symbols), so these facts are derived, never written down:

- :func:`derivative_facts` / :func:`sigmoid_derivative_facts` -> :class:`DerivativeFacts`:
  ``f'`` derived by sympy, its maximum found by solving ``f'' = 0``, its infimum.
- :func:`local_derivative`: ``f'`` as a numpy function, from that derivation.
- :func:`exploding_facts` -> :class:`ExplodingFacts`: when a layer can amplify.
- :func:`fixed_points`: the inputs a layer maps to themselves.

sympy (and numpy) are imported inside the functions, so importing this module is cheap.

>>> facts = sigmoid_derivative_facts()
>>> facts.max_value, facts.argmax, facts.infimum, facts.infimum_attained
(1/4, 0, 0, False)
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any

from chainrule.errors import ChainruleError
from chainrule.vanishing.activations import activation as lookup

if TYPE_CHECKING:
    import sympy


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
        f = lookup(self.activation).symbol
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
        f = lookup(self.activation).symbol
        if self.by_output is None:  # piecewise constant: its two pieces and its value at the kink
            at_kink = self.derivative.subs(self.symbol, 0)
            pieces = f"{self.max_value} if {self.argmax} else {self.infimum}"
            return f"{pieces} ({f}'(0) taken as {at_kink})"
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

    lookup(activation)  # a one-line error for an unknown name
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
            raise ChainruleError(
                f"{self.activation} has no finite window: every a with w a > 0 amplifies"
            )
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
    import numpy as np
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




def fixed_points(activation: str, weight: float) -> list[float]:
    """The inputs ``a`` with ``f(w a) = a`` that Newton's method finds from four starts.

    >>> [round(a, 6) for a in fixed_points("sigmoid", -10.0)]
    [0.163351]
    """
    import sympy

    facts = derivative_facts(activation)
    a = sympy.Symbol("a", real=True)
    fixed = facts.function.subs(facts.symbol, weight * a) - a
    return sorted({float(sympy.nsolve(fixed, a, start)) for start in (-0.9, 0.0, 0.2, 0.9)})
