r"""The catalogue of mistakes, beside the op registry: one entry per op and per rule.

An :class:`OpEntry` lists, for one operation of :data:`chainrule.core.ops.OPS`,
the wrong numbers a learner typically writes for its value (``forward``) and for
its local derivative by each argument (``partials``), each a :class:`Slip` with
the mistake's name and what to say. The chain rule's own mistakes (a missing
term of the sum over consumers, the upstream gradient left out, ...) and the
slips any number can suffer (a sign, a rounding, a copied value) are in
:data:`RULES`. A test checks that every entry's op exists and that every op of
the registry has its entry (or is listed in :data:`WITHOUT_ENTRY`).

>>> slip = CATALOGUE["sub"].partials[1][0]
>>> slip.mistake, slip.says("a", "p"), slip.value(30.0, (2.0, -28.0))
('sign', 'the sign of ∂(a − p)/∂p: it is −1, not +1', 1.0)
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

Numbers = Sequence[float]


@dataclass(frozen=True)
class Slip:
    """One wrong way to compute a value or a local derivative of an operation."""

    mistake: str  # the name reported in JSON, e.g. "quotient-rule"
    template: str  # what to say, with {x} and {y} for the arguments' names
    compute: Callable[[float, Numbers], float]  # (the right value, arguments) -> wrong value

    def says(self, *names: str) -> str:
        x, y = (*names, "", "")[:2]
        return self.template.format(x=x, y=y)

    def value(self, right: float, args: Numbers) -> float:
        """The wrong number this slip gives; NaN where it is undefined."""
        try:
            value = self.compute(right, args)
        except (ArithmeticError, ValueError):
            return math.nan
        # Python's ** gives a complex number for a negative base and a fractional exponent
        # ((-1) ** 0.5, the swapped pow): undefined among the reals, as NaN says.
        return math.nan if isinstance(value, complex) else float(value)


@dataclass(frozen=True)
class OpEntry:
    """How one operation goes wrong: in its value, and in its derivative by each argument."""

    op: str  # a key of OPS
    rule: str  # the right rule, as a reminder: "∂(x/y)/∂y = −x/y²"
    forward: tuple[Slip, ...] = ()
    partials: tuple[tuple[Slip, ...], ...] = ()  # one tuple per argument position


@dataclass(frozen=True)
class Rule:
    """A mistake that is not one operation's: the chain rule's, or any number's."""

    mistake: str
    description: str


def _slip(mistake: str, template: str, compute: Callable[[float, Numbers], float]) -> Slip:
    return Slip(mistake, template, compute)


def _not(mistake: str, rule: str) -> Callable[[str, Callable[[float, Numbers], float]], Slip]:
    """Slips of one rule: each says the rule, then what the learner wrote instead."""
    return lambda wrong, compute: Slip(mistake, f"{rule}, not {wrong}", compute)


def _sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


def _max_slips(mistake: str, which: str) -> tuple[tuple[Slip, ...], ...]:
    """max and min route the whole gradient to one argument: the winner's 1, the other's 0."""
    swapped = _slip(mistake, f"{which} sends the gradient to the argument that wins only: "
                    "you swapped the 1 and the 0 of {x} and {y}", lambda r, a: 1.0 - r)
    both = _slip(mistake, f"{which} sends the gradient to one argument only, not 1 to both",
                 lambda r, a: 1.0)
    half = _slip(mistake, f"{which} sends all of the gradient to the winner, not half",
                 lambda r, a: 0.5)
    return (swapped, both, half), (swapped, both, half)


_sum_x = _not("sum-rule", "∂({x} + {y})/∂{x} is 1 (a sum is no product)")
_sum_y = _not("sum-rule", "∂({x} + {y})/∂{y} is 1 (a sum is no product)")
_product_x = _not("product-rule", "∂({x}·{y})/∂{x} is the other factor {y}")
_product_y = _not("product-rule", "∂({x}·{y})/∂{y} is the other factor {x}")
_quotient_x = _not("quotient-rule", "the quotient rule: ∂({x}/{y})/∂{x} = 1/{y}")
_quotient_y = _not("quotient-rule", "the quotient rule: ∂({x}/{y})/∂{y} = −{x}/{y}²")
_power_x = _not("power-rule", "the power rule: ∂({x}^{y})/∂{x} = {y}·{x}^({y}−1)")
_power_y = _not("power-rule", "∂({x}^{y})/∂{y} = {x}^{y}·log {x} (the exponent is the variable)")
_sqrt = _not("sqrt-rule", "d√{x}/d{x} = 1/(2√{x})")
_exp = _not("exp-rule", "d e^{x}/d{x} = e^{x}")
_log = _not("log-rule", "d log {x}/d{x} = 1/{x} (log is the natural logarithm)")
_abs = _not("abs-rule", "d|{x}|/d{x} is the sign of {x}")
_sigmoid_rule = _not("sigmoid-rule", "σ'({x}) = σ({x})·(1 − σ({x}))")
_tanh = _not("tanh-rule", "tanh'({x}) = 1 − tanh²({x})")
_softplus = _not("softplus-rule", "softplus'({x}) = σ({x}) = 1/(1 + e^(−{x}))")
_relu = _not("relu-rule", "relu'({x}) is the step: 1 for {x} > 0, 0 for {x} < 0")
_sin = _not("sin-rule", "d sin {x}/d{x} = cos {x}")
_cos = _not("cos-rule", "d cos {x}/d{x} = −sin {x}")

_ENTRIES = [
    OpEntry(
        "add", "∂(x + y)/∂x = ∂(x + y)/∂y = 1",
        forward=(_slip("wrong-operation", "{x} + {y} is a sum, not the product",
                       lambda r, a: a[0] * a[1]),),
        partials=((_sum_x("{y}", lambda r, a: a[1]),), (_sum_y("{x}", lambda r, a: a[0]),)),
    ),
    OpEntry(
        "sub", "∂(x − y)/∂x = 1, ∂(x − y)/∂y = −1",
        forward=(_slip("operand-order", "{x} − {y}, not {y} − {x}", lambda r, a: a[1] - a[0]),),
        partials=(
            (_slip("sign", "the sign of ∂({x} − {y})/∂{x}: it is +1, not −1", lambda r, a: -1.0),),
            (_slip("sign", "the sign of ∂({x} − {y})/∂{y}: it is −1, not +1", lambda r, a: 1.0),),
        ),
    ),
    OpEntry(
        "mul", "∂(x·y)/∂x = y, ∂(x·y)/∂y = x",
        forward=(_slip("wrong-operation", "{x}·{y} is a product, not the sum",
                       lambda r, a: a[0] + a[1]),),
        partials=(
            (_product_x("{x}", lambda r, a: a[0]), _product_x("1", lambda r, a: 1.0)),
            (_product_y("{y}", lambda r, a: a[1]), _product_y("1", lambda r, a: 1.0)),
        ),
    ),
    OpEntry(
        "div", "∂(x/y)/∂x = 1/y, ∂(x/y)/∂y = −x/y²",
        forward=(_slip("operand-order", "{x}/{y}, not {y}/{x}", lambda r, a: a[1] / a[0]),),
        partials=(
            (_quotient_x("−{x}/{y}²", lambda r, a: -a[0] / a[1] ** 2),
             _quotient_x("{y}", lambda r, a: a[1])),
            (_quotient_y("+{x}/{y}² (the minus sign)", lambda r, a: a[0] / a[1] ** 2),
             _quotient_y("1/{y}", lambda r, a: 1.0 / a[1]),
             _quotient_y("−1/{y}²", lambda r, a: -1.0 / a[1] ** 2),
             _quotient_y("−{x}/{y}", lambda r, a: -a[0] / a[1])),
        ),
    ),
    OpEntry(
        "pow", "∂(x^y)/∂x = y·x^(y−1), ∂(x^y)/∂y = x^y·log x",
        forward=(_slip("wrong-operation", "{x}^{y} is {x} times itself {y} times, not {x}·{y}",
                       lambda r, a: a[0] * a[1]),
                 _slip("operand-order", "{x}^{y}, not {y}^{x}", lambda r, a: a[1] ** a[0])),
        partials=(
            (_power_x("{x}^({y}−1)", lambda r, a: a[0] ** (a[1] - 1)),
             _power_x("{y}·{x}^{y}", lambda r, a: a[1] * a[0] ** a[1]),
             _power_x("({y}−1)·{x}^{y}", lambda r, a: (a[1] - 1) * a[0] ** a[1]),
             _power_x("{y}·{x}", lambda r, a: a[1] * a[0])),
            (_power_y("the power rule {y}·{x}^({y}−1)", lambda r, a: a[1] * a[0] ** (a[1] - 1)),),
        ),
    ),
    OpEntry(
        "neg", "∂(−x)/∂x = −1",
        forward=(_slip("sign", "the sign: −{x}, not {x}", lambda r, a: a[0]),),
        partials=((_slip("sign", "the sign of ∂(−{x})/∂{x}: it is −1, not +1",
                         lambda r, a: 1.0),),),
    ),
    OpEntry(
        "sqrt", "d√x/dx = 1/(2√x)",
        forward=(_slip("wrong-operation", "√{x} is the square root, not {x}/2",
                       lambda r, a: a[0] / 2),),
        partials=((
            _sqrt("1/√{x} (the 1/2 of the power rule)", lambda r, a: 1.0 / math.sqrt(a[0])),
            _sqrt("√{x}/2", lambda r, a: math.sqrt(a[0]) / 2),
            _sqrt("1/(2{x})", lambda r, a: 0.5 / a[0]),
            _sqrt("2√{x}", lambda r, a: 2 * math.sqrt(a[0])),
        ),),
    ),
    OpEntry(
        "exp", "d eˣ/dx = eˣ",
        forward=(_slip("wrong-operation", "e^{x} is e to the power {x}, not e·{x}",
                       lambda r, a: math.e * a[0]),),
        partials=((
            _exp("{x}·e^({x}−1): the power rule is for a variable base",
                 lambda r, a: a[0] * math.exp(a[0] - 1)),
            _exp("{x}·e^{x}", lambda r, a: a[0] * math.exp(a[0])),
            _exp("1", lambda r, a: 1.0),
            _exp("{x}", lambda r, a: a[0]),
        ),),
    ),
    OpEntry(
        "log", "d log x/dx = 1/x (log is the natural logarithm)",
        forward=(_slip("log-base", "log is the natural logarithm ln {x}, not log₁₀ {x}",
                       lambda r, a: math.log10(a[0])),),
        partials=((
            _log("log {x}", lambda r, a: math.log(a[0])),
            _log("{x}", lambda r, a: a[0]),
            _log("−1/{x}²", lambda r, a: -1.0 / a[0] ** 2),
            _log("1/({x}·ln 10)", lambda r, a: 1.0 / (a[0] * math.log(10))),
        ),),
    ),
    OpEntry(
        "abs", "d|x|/dx = sign(x)",
        forward=(_slip("sign", "|{x}| is never negative", lambda r, a: a[0]),),
        partials=((
            _abs("|{x}|", lambda r, a: abs(a[0])),
            _abs("1 (it is −1 where {x} < 0)", lambda r, a: 1.0),
        ),),
    ),
    OpEntry(
        "sigmoid", "σ'(x) = σ(x)·(1 − σ(x))",
        forward=(_slip("sign", "σ({x}) = 1/(1 + e^(−{x})), not 1/(1 + e^{x})",
                       lambda r, a: _sigmoid(-a[0])),),
        partials=((
            _sigmoid_rule("σ({x})", lambda r, a: _sigmoid(a[0])),
            _sigmoid_rule("1 − σ({x})", lambda r, a: 1 - _sigmoid(a[0])),
            _sigmoid_rule("σ·(1 + σ)", lambda r, a: _sigmoid(a[0]) * (1 + _sigmoid(a[0]))),
        ),),
    ),
    OpEntry(
        "tanh", "tanh'(x) = 1 − tanh²(x)",
        partials=((
            _tanh("1 − {x}²", lambda r, a: 1 - a[0] ** 2),
            _tanh("tanh²({x})", lambda r, a: math.tanh(a[0]) ** 2),
            _tanh("1 + tanh²({x})", lambda r, a: 1 + math.tanh(a[0]) ** 2),
        ),),
    ),
    OpEntry(
        "softplus", "softplus'(x) = σ(x)",
        forward=(_slip("wrong-operation", "softplus({x}) = log(1 + e^{x}), not log(1 + {x})",
                       lambda r, a: math.log1p(a[0])),),
        partials=((
            _softplus("1/(1 + e^{x})", lambda r, a: _sigmoid(-a[0])),
            _softplus("softplus({x}) itself", lambda r, a: math.log1p(math.exp(a[0]))),
            _softplus("e^{x}", lambda r, a: math.exp(a[0])),
        ),),
    ),
    OpEntry(
        "relu", "relu'(x) = 1 for x > 0, 0 for x < 0",
        forward=(_slip("wrong-operation", "relu({x}) = max(0, {x}): 0 for negative {x}",
                       lambda r, a: a[0]),),
        partials=((
            _relu("relu({x})", lambda r, a: max(a[0], 0.0)),
            _relu("the other step value", lambda r, a: 1.0 - r),
        ),),
    ),
    OpEntry(
        "sin", "d sin x/dx = cos x",
        forward=(_slip("wrong-operation", "sin takes radians, not degrees",
                       lambda r, a: math.sin(math.radians(a[0]))),),
        partials=((
            _sin("−cos {x}", lambda r, a: -math.cos(a[0])),
            _sin("sin {x}", lambda r, a: math.sin(a[0])),
        ),),
    ),
    OpEntry(
        "cos", "d cos x/dx = −sin x",
        forward=(_slip("wrong-operation", "cos takes radians, not degrees",
                       lambda r, a: math.cos(math.radians(a[0]))),),
        partials=((
            _cos("sin {x} (the sign)", lambda r, a: math.sin(a[0])),
            _cos("−cos {x}", lambda r, a: -math.cos(a[0])),
        ),),
    ),
    OpEntry(
        "max", "∂max(x, y)/∂x = 1 where x > y, else 0",
        forward=(_slip("wrong-operation", "max({x}, {y}) is the larger, not the smaller",
                       lambda r, a: min(a)),),
        partials=_max_slips("max-routing", "max"),
    ),
    OpEntry(
        "min", "∂min(x, y)/∂x = 1 where x < y, else 0",
        forward=(_slip("wrong-operation", "min({x}, {y}) is the smaller, not the larger",
                       lambda r, a: max(a)),),
        partials=_max_slips("min-routing", "min"),
    ),
]

CATALOGUE: dict[str, OpEntry] = {entry.op: entry for entry in _ENTRIES}
"""The mistakes of each operation, by the op's registry name."""

WITHOUT_ENTRY: dict[str, str] = {}
"""Ops of the registry knowingly without an entry, and why (none today)."""

RULES: dict[str, Rule] = {
    rule.mistake: rule
    for rule in [
        Rule("sum-over-consumers", "a node used by several operations gets one term per "
             "operation in its gradient; a term is missing"),
        Rule("upstream", "the local derivative alone: not multiplied by the upstream gradient"),
        Rule("local-as-gradient", "a local derivative used in place of the gradient of the "
             "output in the chain rule"),
        Rule("sign", "the sign of a number or of a derivative"),
        Rule("rounding", "right to 2 significant digits, but not to the tolerance"),
        Rule("copy", "a copied value: a number of another line, or one substituted wrongly"),
    ]
}
"""The chain rule's mistakes and the slips of any number."""

MISTAKES: dict[str, str] = {
    **{rule.mistake: rule.description for rule in RULES.values()},
    "wrong-operation": "another operation computed in place of this one",
    "operand-order": "the arguments of a non-commutative operation swapped",
    "log-base": "log₁₀ in place of the natural logarithm",
    "sum-rule": "∂(x + y)/∂x is 1",
    "product-rule": "∂(x·y)/∂x is y",
    "quotient-rule": "∂(x/y)/∂x = 1/y, ∂(x/y)/∂y = −x/y²",
    "power-rule": "∂(x^n)/∂x = n·x^(n−1)",
    "sqrt-rule": "d√x/dx = 1/(2√x)",
    "exp-rule": "d eˣ/dx = eˣ",
    "log-rule": "d log x/dx = 1/x",
    "abs-rule": "d|x|/dx = sign(x)",
    "sigmoid-rule": "σ' = σ(1 − σ)",
    "tanh-rule": "tanh' = 1 − tanh²",
    "softplus-rule": "softplus' = σ",
    "relu-rule": "relu' is the step: 1 for x > 0, else 0",
    "sin-rule": "sin' = cos",
    "cos-rule": "cos' = −sin",
    "max-routing": "max sends the gradient to the larger argument only",
    "min-routing": "min sends the gradient to the smaller argument only",
}
"""Every mistake name a verdict can carry, with what it means."""
