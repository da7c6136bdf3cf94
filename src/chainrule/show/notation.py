r"""Every way chainrule writes a number or a name: plain, short, pretty, LaTeX, JSON.

One function per notation, each used wherever that notation is shown:

- :func:`plain`: full precision, integers without ``.0`` (constant names, the tables);
- :func:`short`: 6 significant digits in ASCII (the report's prose, ``chainrule chain``);
- :func:`pretty`: :func:`short` with a real minus sign ``−`` (pictures, explanations);
- :func:`latex_number`: :func:`short` as ``1.5 \times 10^{-7}``, ``\infty`` (LaTeX, Markdown math);
- :func:`json_value`: floats, with ``"inf"`` and ``"nan"`` as strings (every JSON document);
- :func:`percent`: an accuracy, ``99.12%`` (the report);
- :func:`latex_name`: ``v12`` as ``v_{12}``; :func:`pretty_infix`: ``b · c``, ``a − v1``;
  :func:`pretty_prefix`: ``−a``.

The core names constant nodes by their value (``4``, ``0.001``), so the plain
notation has to live in the core, which imports no view:
:func:`chainrule.core.graph.format_number` is the one implementation and
:func:`plain` is that function, re-exported here so that every view asks this
module. Everything else is a view and lives only here.

>>> plain(4.0), plain(0.001), plain(float("inf"))
('4', '0.001', 'inf')
>>> short(8.374244383302358), short(-2.0611536224385504e-09), short(-0.0)
('8.37424', '-2.06115e-09', '0')
>>> pretty(-28.0), pretty(1 / 3), pretty(2.5e-7)
('−28', '0.333333', '2.5e−07')
>>> latex_number(-2.0611536224385504e-09), latex_number(1e-9), latex_number(float("-inf"))
('-2.06115 \\times 10^{-9}', '10^{-9}', '-\\infty')
>>> json_value(float("nan")), json_value(2), json_value(None)
('nan', 2.0, None)
"""

from __future__ import annotations

import math
import re
import sys
from typing import Any

from chainrule.core.graph import format_number

__all__ = [
    "json_value",
    "latex_name",
    "latex_number",
    "percent",
    "plain",
    "pretty",
    "pretty_infix",
    "pretty_prefix",
    "short",
]

DIGITS = 6
"""Significant digits of every shortened number."""

plain = format_number
"""A value in full precision, integers without ``.0``: ``30``, ``-0.25``, ``nan``."""


def short(value: Any, digits: int = DIGITS) -> str:
    """Up to ``digits`` significant digits, integers without a point, never ``-0``.

    >>> short(30.0), short(0.25), short(1 / 3, 3), short(float("nan"))
    ('30', '0.25', '0.333', 'nan')
    """
    number = float(value)
    if number == 0:
        return "0"  # -0.0 too: a minus sign on zero only confuses
    return f"{number:.{digits}g}"


def pretty(value: Any, digits: int = DIGITS) -> str:
    """:func:`short` with a real minus sign, as pictures and explanations show numbers.

    >>> pretty(-0.0), pretty(float("-inf")), pretty(-1.5e-10)
    ('0', '−inf', '−1.5e−10')
    """
    return short(value, digits).replace("-", "−")


_EXPONENT = re.compile(r"(-?[\d.]+)e([+-])0*(\d+)")
_LATEX_SPECIAL = {"inf": r"\infty", "-inf": r"-\infty"}


def latex_number(value: Any, digits: int = DIGITS) -> str:
    r""":func:`short` in LaTeX math: ``1.5 \times 10^{-7}`` instead of ``1.5e-07``.

    >>> latex_number(-7.0), latex_number(1.5e-7), latex_number(-1e20), latex_number(float("inf"))
    ('-7', '1.5 \\times 10^{-7}', '-1 \\times 10^{20}', '\\infty')
    """
    text = short(value, digits)
    match = _EXPONENT.fullmatch(text)
    if match is None:
        return _LATEX_SPECIAL.get(text, text)
    mantissa, sign, exponent = match.groups()
    power = f"10^{{{'-' if sign == '-' else ''}{exponent}}}"
    return power if mantissa == "1" else f"{mantissa} \\times {power}"


def json_value(value: Any) -> Any:
    """A number for strict JSON (RFC 8259): infinities and NaN become "inf", "-inf", "nan".

    Arrays become flat lists; None stays None (JSON's null).

    >>> json_value(float("-inf")), json_value(-0.5)
    ('-inf', -0.5)
    """
    # An array can only exist once numpy is imported, so a scalar view needs no numpy.
    numpy = sys.modules.get("numpy")
    if numpy is not None and isinstance(value, numpy.ndarray):
        return [json_value(v) for v in value.ravel().tolist()]
    if value is None:
        return None
    if math.isfinite(value):
        return float(value)
    return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")


def percent(value: Any, digits: int = 2) -> str:
    """An accuracy in percent, ``99.12%``; ``n/a`` when undefined (NaN).

    >>> percent(99.12345), percent(float("nan"))
    ('99.12%', 'n/a')
    """
    number = float(value)
    return "n/a" if math.isnan(number) else f"{number:.{digits}f}%"


def latex_name(name: str) -> str:
    r"""A variable name in LaTeX math: ``v12`` -> ``v_{12}``, ``x_2`` -> ``x_{2}``.

    Multi-letter names are set upright-italic as one word (``\mathit{lr}``), and
    further underscores become commas in the subscript, so no name can break the
    math (or need a backslash escape that Markdown would eat).

    >>> [latex_name(n) for n in ["a", "v12", "x_2", "lr", "w_in_1", "pi"]]
    ['a', 'v_{12}', 'x_{2}', '\\mathit{lr}', 'w_{in,1}', '\\pi']
    """
    if name == "pi":
        return r"\pi"
    base, _, subscript = name.partition("_")
    numbered = re.fullmatch(r"([A-Za-z]+?)(\d+)", base)
    if numbered and not subscript:
        base, subscript = numbered[1], numbered[2]
    letters = base if len(base) <= 1 else rf"\mathit{{{base}}}"
    return f"{letters}_{{{subscript.replace('_', ',')}}}" if subscript else letters


_PRETTY_SYMBOLS = {"*": "·", "-": "−"}


def pretty_infix(symbol: str, left: str, right: str) -> str:
    """``a − v1``, ``b · c``, and powers tight: ``c^3``.

    >>> pretty_infix("*", "b", "c"), pretty_infix("^", "c", "3")
    ('b · c', 'c^3')
    """
    if symbol == "^":
        return f"{left}^{right}"
    return f"{left} {_PRETTY_SYMBOLS.get(symbol, symbol)} {right}"


def pretty_prefix(symbol: str, operand: str) -> str:
    """``−a``: a prefix operator with its pretty symbol.

    >>> pretty_prefix("-", "v1")
    '−v1'
    """
    return f"{_PRETTY_SYMBOLS.get(symbol, symbol)}{operand}"
