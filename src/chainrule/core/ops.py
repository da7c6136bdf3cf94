"""The registry of primitive operations: one entry per operation.

Each :class:`Op` says everything the rest of chainrule needs: how many arguments
it takes, how to compute it, its local partial derivatives, how to print it in
text and LaTeX, where it is defined, and where it has a kink. The parser, the
evaluator, the renderers, the explanations and the tests all read this table,
so adding an operation is one entry in :data:`OPS`.

``forward(m, *args)`` and each of ``derivatives`` are written once against a
math namespace ``m`` (:class:`~chainrule.core.backends.MathBackend`): plain floats,
numpy arrays, sympy expressions or torch tensors, all in :mod:`chainrule.core.backends`.
A new math function is one more name there, defined once per backend.

>>> from chainrule.core.backends import ScalarMath
>>> OPS["mul"].forward(ScalarMath, 3.0, 4.0)
12.0
>>> OPS["mul"].partials(ScalarMath, 12.0, 3.0, 4.0)
(4.0, 3.0)
>>> OPS["log"].domain(-0.25)
"argument -0.25 is outside log's domain (0, inf)"
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from chainrule.core.backends import MathBackend

Fn = Callable[..., Any]

Form = Literal["infix", "prefix", "call"]  # a - b, -a, max(a, b)
Grouping = Literal["left", "right", "either"]

# How tightly each printed form binds, loosest first (the parser and every view read
# these): a - b*c is a - (b*c), -a^2 is -(a^2), -a*b is (-a)*b, and a call binds tightest.
SUM, PRODUCT, PREFIX, POWER, CALL = 1, 2, 3, 4, 5


@dataclass(frozen=True)
class Kink:
    """A point where the derivative does not exist and the convention chainrule uses."""

    at: Fn  # elementwise predicate on the arguments: True where the kink is hit
    convention: str  # e.g. "relu'(0) is taken as 0"
    # The engine's derivative at the kink where it is one number (relu'(0) = 0), which
    # symbolic views put in place of sympy's Heaviside(0) = 1/2; None where it is not.
    derivative_at: float | None = None


@dataclass(frozen=True)
class Op:
    """A primitive operation: arity, maths, notation and where it is defined."""

    name: str  # registry key and the function name users type, e.g. "sqrt"
    arity: int
    forward: Fn  # forward(m, *args) -> value
    # d out / d arg_i, one per argument: a function (m, out, *args) -> value, or a constant
    # number (add, sub, neg), which lets backprop skip the multiplication.
    derivatives: tuple[Fn | float, ...]
    symbol: str  # infix symbol ("*"), prefix symbol ("-" of neg), or the function name
    latex: str  # format string over the argument LaTeX, e.g. r"\sqrt{{{0}}}"
    domain: Fn | None = None  # domain(*args) -> None if inside, else why not
    kink: Kink | None = None
    form: Form = "call"  # how it is written: between, before, or around its arguments
    precedence: int = CALL  # SUM ... CALL: how tightly the written form binds
    # How a chain of equal precedence groups when written without parentheses:
    # a - b - c is (a - b) - c ("left"), a^b^c is a^(b^c) ("right"), a + b + c is either.
    grouping: Grouping = "left"
    juxtaposed: bool = False  # numbers as arguments are written side by side: (-7)(4)

    def __post_init__(self) -> None:
        if len(self.derivatives) != self.arity:
            raise ValueError(f"{self.name}: {self.arity} arguments need as many derivatives")
        fixed = {"infix": 2, "prefix": 1}.get(self.form)
        if fixed is not None and fixed != self.arity:
            raise ValueError(f"{self.name}: a {self.form} op cannot take {self.arity} arguments")

    def partials(self, m: MathBackend, out: Any, *args: Any) -> tuple[Any, ...]:
        """All local partial derivatives d out / d arg_i at one point.

        >>> from chainrule.core.backends import ScalarMath
        >>> OPS["div"].partials(ScalarMath, 0.5, 1.0, 2.0)
        (0.5, -0.25)
        """
        return tuple(d if isinstance(d, float) else d(m, out, *args) for d in self.derivatives)

    @property
    def infix(self) -> bool:
        return self.form == "infix"

    def format(self, args: list[str]) -> str:
        """The operation applied to argument names, as the sheet writes it.

        >>> OPS["sub"].format(["a", "v1"]), OPS["neg"].format(["x"]), OPS["max"].format(["z", "w"])
        ('a - v1', '-x', 'max(z, w)')
        """
        if self.form == "infix":
            return f"{args[0]} {self.symbol} {args[1]}"
        if self.form == "prefix":
            return f"{self.symbol}{args[0]}"
        return f"{self.symbol}({', '.join(args)})"


def _interval(role: str, name: str, text: str, contains: Fn, index: int = 0) -> Fn:
    """A domain check on one argument that must lie in an interval."""

    def check(*args: float) -> str | None:
        x = args[index]
        return None if contains(x) else f"{role} {x:g} is outside {name}'s domain {text}"

    return check


def _pow_domain(x: float, y: float) -> str | None:
    if x < 0 and y != math.floor(y):
        return f"negative base {x:g} needs an integer exponent, got {y:g}"
    if x == 0 and y < 0:
        return f"base 0 with negative exponent {y:g} divides by zero"
    return None


def _ties(x: Any, y: Any) -> Any:
    return x == y


def _at_zero(x: Any) -> Any:
    return x == 0


_OP_LIST = [
    Op("add", 2, lambda m, x, y: x + y, (1.0, 1.0), "+", "{0} + {1}",
       form="infix", precedence=SUM, grouping="either"),
    Op("sub", 2, lambda m, x, y: x - y, (1.0, -1.0), "-", "{0} - {1}",
       form="infix", precedence=SUM),
    Op("mul", 2, lambda m, x, y: x * y,
       (lambda m, o, x, y: y, lambda m, o, x, y: x),
       "*", r"{0} \cdot {1}", form="infix", precedence=PRODUCT, grouping="either",
       juxtaposed=True),
    Op("div", 2, lambda m, x, y: x / y,
       (lambda m, o, x, y: 1.0 / y, lambda m, o, x, y: -o / y),
       "/", r"\frac{{{0}}}{{{1}}}",
       domain=_interval("divisor", "/", "(-inf, 0) U (0, inf)", lambda y: y != 0, index=1),
       form="infix", precedence=PRODUCT),
    Op("pow", 2, lambda m, x, y: m.pow(x, y),
       (lambda m, o, x, y: m.power_slope(x, y), lambda m, o, x, y: m.xlog(o, x)),
       "^", "{0}^{{{1}}}", domain=_pow_domain, form="infix", precedence=POWER,
       grouping="right"),
    Op("neg", 1, lambda m, x: -x, (-1.0,), "-", "-{0}", form="prefix", precedence=PREFIX),
    Op("sqrt", 1, lambda m, x: m.sqrt(x), (lambda m, o, x: 0.5 / o,), "sqrt", r"\sqrt{{{0}}}",
       domain=_interval("argument", "sqrt", "[0, inf)", lambda x: x >= 0)),
    Op("exp", 1, lambda m, x: m.exp(x), (lambda m, o, x: o,), "exp", "e^{{{0}}}"),
    Op("log", 1, lambda m, x: m.log(x), (lambda m, o, x: 1.0 / x,), "log",
       r"\log\left({0}\right)",
       domain=_interval("argument", "log", "(0, inf)", lambda x: x > 0)),
    Op("abs", 1, lambda m, x: m.abs(x), (lambda m, o, x: m.sign(x),), "abs",
       r"\left|{0}\right|", kink=Kink(_at_zero, "abs'(0) is taken as 0", derivative_at=0.0)),
    Op("sigmoid", 1, lambda m, x: m.sigmoid(x), (lambda m, o, x: o * (1.0 - o),), "sigmoid",
       r"\sigma\left({0}\right)"),
    Op("softplus", 1, lambda m, x: m.softplus(x), (lambda m, o, x: m.sigmoid(x),), "softplus",
       r"\operatorname{{softplus}}\left({0}\right)"),
    Op("tanh", 1, lambda m, x: m.tanh(x), (lambda m, o, x: 1.0 - o * o,), "tanh",
       r"\tanh\left({0}\right)"),
    Op("relu", 1, lambda m, x: m.relu(x), (lambda m, o, x: m.positive(x),), "relu",
       r"\operatorname{{relu}}\left({0}\right)",
       kink=Kink(_at_zero, "relu'(0) is taken as 0", derivative_at=0.0)),
    Op("sin", 1, lambda m, x: m.sin(x), (lambda m, o, x: m.cos(x),), "sin",
       r"\sin\left({0}\right)"),
    Op("cos", 1, lambda m, x: m.cos(x), (lambda m, o, x: -m.sin(x),), "cos",
       r"\cos\left({0}\right)"),
    Op("max", 2, lambda m, x, y: m.max(x, y),
       (lambda m, o, x, y: m.step(x, y), lambda m, o, x, y: m.step(y, x)),
       "max", r"\max\left({0}, {1}\right)",
       kink=Kink(_ties, "max tie: the gradient is split 0.5/0.5")),
    Op("min", 2, lambda m, x, y: m.min(x, y),
       (lambda m, o, x, y: m.step(y, x), lambda m, o, x, y: m.step(x, y)),
       "min", r"\min\left({0}, {1}\right)",
       kink=Kink(_ties, "min tie: the gradient is split 0.5/0.5")),
]  # fmt: skip

OPS: dict[str, Op] = {op.name: op for op in _OP_LIST}
"""Every primitive, by name."""

FUNCTIONS: dict[str, Op] = {op.name: op for op in _OP_LIST if op.form == "call"}
"""The operations users call by name, e.g. ``sqrt(x)``."""

INFIX: dict[str, Op] = {op.symbol: op for op in _OP_LIST if op.form == "infix"}
"""The operations written between their arguments, by symbol: ``a * b``."""

PREFIX_OPS: dict[str, Op] = {op.symbol: op for op in _OP_LIST if op.form == "prefix"}
"""The operations written before their argument, by symbol: ``-a``."""

CONSTANTS: dict[str, float] = {"pi": math.pi, "e": math.e}
"""Named constants of the expression language."""
