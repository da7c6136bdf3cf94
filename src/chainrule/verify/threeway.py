"""Three independent checks of the engine's gradients.

- :func:`finite_difference`: central differences of the forward pass alone;
- :func:`torch_gradients`: ``torch.autograd`` in float64 through the same ops;
- :func:`verification_table`: autodiff, symbolic (sympy) and finite differences
  side by side for every input, with their errors and a warning where they
  disagree (typically at a kink, where each method has its own convention).

>>> from chainrule import parse
>>> g = parse("(a - b*c)*d")
>>> point = {"a": 2, "b": -7, "c": 4, "d": 1}
>>> {name: round(v, 6) for name, v in finite_difference(g, point).items()}
{'a': 1.0, 'b': -4.0, 'c': 7.0, 'd': 30.0}
>>> torch_gradients(g, point)
(30.0, {'a': 1.0, 'b': -4.0, 'c': 7.0, 'd': 30.0})
>>> table = verification_table(g.evaluate(point))
>>> [(row.input, row.autodiff, row.symbolic, row.agree) for row in table.rows][:2]
[('a', 1.0, 1.0, True), ('b', -4.0, -4.0, True)]
>>> table.warnings
[]
"""

from __future__ import annotations

import math
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from chainrule.core.backends import torch_math
from chainrule.core.ops import OPS
from chainrule.errors import ChainruleError

if TYPE_CHECKING:
    import sympy

    from chainrule.core.evaluate import Result
    from chainrule.core.graph import Graph

EPSILON = sys.float_info.epsilon

SYMBOLIC_TOLERANCE = 1e-9
"""Largest error of the symbolic gradient (evaluated to 30 digits) still called agreement."""

FINITE_DIFFERENCE_TOLERANCE = 1e-4
"""Largest error of a central difference still called agreement, on top of its rounding noise."""


def _step(x: float, h: float | None) -> float:
    """A step that is exactly representable around ``x`` (so x+h - (x-h) == 2h)."""
    if h is None:
        h = EPSILON ** (1 / 3) * max(1.0, abs(x))  # balances truncation h² and rounding ε/h
    return (x + h) - x


def _forward(graph: Graph, values: Mapping[str, float]) -> float:
    return float(graph.evaluate(values, allow_nan=True, gradients=False).value)


def finite_difference(
    graph: Graph, values: Mapping[str, float], h: float | None = None
) -> dict[str, float]:
    """d output / d input by central differences ``(f(x+h) - f(x-h)) / 2h``.

    The default step is ``ε^(1/3)·max(1, |x|)``, which minimises truncation plus
    rounding error for smooth functions. Only the forward pass is used, so this
    checks the backward pass independently. A step that leaves an op's domain
    gives NaN.

    >>> from chainrule import parse
    >>> round(finite_difference(parse("x^3"), {"x": 2.0})["x"], 6)
    12.0
    """
    point = {name: float(values[name]) for name in graph.inputs}
    gradients: dict[str, float] = {}
    for name in graph.inputs:
        x = point[name]
        step = _step(x, h)
        above = _forward(graph, {**point, name: x + step})
        below = _forward(graph, {**point, name: x - step})
        gradients[name] = (above - below) / (2 * step)
    return gradients


def torch_gradients(graph: Graph, values: Mapping[str, float]) -> tuple[float, dict[str, float]]:
    """(output value, d output / d input) computed by ``torch.autograd`` in float64.

    Each op's own ``forward`` runs on torch tensors, so this checks the ops'
    hand-written ``partials`` against torch's derivatives of the same maths.
    """
    import torch

    m = torch_math()
    tensors: list[Any] = []
    leaves: dict[str, Any] = {}
    for node in graph.nodes:
        if node.op is not None:
            tensors.append(node.op.forward(m, *(tensors[arg] for arg in node.args)))
        elif node.constant is not None:
            tensors.append(torch.tensor(node.constant, dtype=torch.float64))
        else:
            leaf = torch.tensor(float(values[node.name]), dtype=torch.float64, requires_grad=True)
            tensors.append(leaf)
            leaves[node.name] = leaf
    output = tensors[graph.output]
    if not output.requires_grad:  # the output is an input or a constant expression
        return output.item(), {name: float(node is output) for name, node in leaves.items()}
    grads = torch.autograd.grad(output, list(leaves.values()), allow_unused=True)
    return output.item(), {
        name: 0.0 if grad is None else grad.item() for name, grad in zip(leaves, grads, strict=True)
    }


@dataclass(frozen=True)
class Check:
    """One input's gradient three ways, and how far the other two are from autodiff.

    Errors are relative, ``|x − autodiff| / max(|autodiff|, 1)``: absolute for
    gradients smaller than 1, where a relative error would only measure noise.
    """

    input: str
    autodiff: float
    symbolic: float | None  # None where the symbolic gradient was not computed
    finite_difference: float
    symbolic_error: float | None
    finite_difference_error: float
    agree: bool


@dataclass(frozen=True)
class Verification:
    """The verification table of one evaluation."""

    rows: list[Check]
    warnings: list[str] = field(default_factory=list)
    symbolic: dict[str, sympy.Expr] | None = None  # the closed forms that were checked


def error(x: float, reference: float) -> float:
    """``|x − reference| / max(|reference|, 1)``; inf when only one of them is NaN.

    >>> error(7.000001, 7.0) < 1e-6, error(0.5, 0.0), error(math.nan, math.nan)
    (True, 0.5, 0.0)
    """
    if math.isnan(x) or math.isnan(reference):
        return 0.0 if math.isnan(x) and math.isnan(reference) else math.inf
    if x == reference:  # also equal infinities
        return 0.0
    return abs(x - reference) / max(abs(reference), 1.0)


def _rounding_noise(x: float, value: float, autodiff: float) -> float:
    """The error a central difference makes from rounding alone, relative like :func:`error`.

    f(x±h) are each off by about ε·|f|, so their difference over 2h is off by
    about ε·|f|/h: large when the function is large and its slope is not.
    """
    return 10 * EPSILON * max(abs(value), 1.0) / _step(x, None) / max(abs(autodiff), 1.0)


def verification_table(
    result: Result, symbolic: Mapping[str, sympy.Expr] | None = None, *, use_symbolic: bool = True
) -> Verification:
    """Autodiff, symbolic and finite-difference gradients of a scalar evaluation.

    ``symbolic`` are closed forms from :func:`chainrule.verify.symbolic.symbolic_gradients`
    (computed here if not given and ``use_symbolic``; skipped with a note when the
    graph is too large for sympy).
    """
    from chainrule.verify import symbolic as sym

    graph = result.graph
    point = _scalar_point(result)
    warnings: list[str] = []
    closed: dict[str, sympy.Expr] | None = dict(symbolic) if symbolic is not None else None
    if closed is None and use_symbolic:
        try:
            closed = sym.symbolic_gradients(graph)
        except ChainruleError as problem:
            warnings.append(f"no symbolic check: {problem}")
    numeric = finite_difference(graph, point)
    rows = []
    for name in graph.inputs:
        autodiff = float(result.gradients[name])
        exact = sym.evaluate(closed[name], point) if closed is not None else None
        fd = numeric[name]
        symbolic_error = None if exact is None else error(exact, autodiff)
        fd_error = error(fd, autodiff)
        noise = _rounding_noise(point[name], float(result.value), autodiff)
        fd_ok = fd_error <= FINITE_DIFFERENCE_TOLERANCE + noise
        symbolic_ok = symbolic_error is None or symbolic_error <= SYMBOLIC_TOLERANCE
        rows.append(
            Check(name, autodiff, exact, fd, symbolic_error, fd_error, fd_ok and symbolic_ok)
        )
        if not (fd_ok and symbolic_ok):
            warnings.append(_disagreement(rows[-1], result))
    return Verification(rows, warnings, closed)


def _scalar_point(result: Result) -> dict[str, float]:
    inputs = result.inputs
    if any(not isinstance(v, float | int) for v in inputs.values()):
        raise ChainruleError("the verification table needs one point, not arrays of points")
    return {name: float(v) for name, v in inputs.items()}


_KINK_CONVENTIONS = [op.kink.convention for op in OPS.values() if op.kink is not None]


def _disagreement(row: Check, result: Result) -> str:
    parts = [f"autodiff {row.autodiff:.10g}"]
    if row.symbolic is not None:
        parts.append(f"symbolic {row.symbolic:.10g}")
    parts.append(f"finite difference {row.finite_difference:.10g}")
    why = (
        " (the point is on a kink, where the methods use different conventions)"
        if any(convention in w for w in result.warnings for convention in _KINK_CONVENTIONS)
        else ""
    )
    return f"d/d{row.input}: the methods disagree: {', '.join(parts)}{why}"
