"""How the report writes numbers and names: in prose, in tables and in LaTeX.

>>> num(30.0), num(8.374244383302358), num(-2.0611536224385504e-09), num(0.25)
('30', '8.37424', '-2.06115e-09', '0.25')
>>> tex_num(-2.0611536224385504e-09), tex_num(-7.0)
('-2.06115 \\\\times 10^{-9}', '-7')
>>> percent(99.12345)
'99.12%'
"""

from __future__ import annotations

import math
import re
from typing import Any

_EXPONENT = re.compile(r"^(-?[\d.]+)e([+-])0*(\d+)$")


def num(value: Any, digits: int = 6) -> str:
    """A number with up to ``digits`` significant digits, integers without a point."""
    number = float(value)
    if not math.isfinite(number):
        return str(number)
    if number == 0:
        return "0"
    return f"{number:.{digits}g}"


def tex_num(value: Any, digits: int = 6) -> str:
    """:func:`num` in LaTeX: ``1.5 \\times 10^{-7}`` instead of ``1.5e-07``."""
    text = num(value, digits)
    match = _EXPONENT.match(text)
    if match is None:
        return {"inf": r"\infty", "-inf": r"-\infty"}.get(text, text)
    mantissa, sign, exponent = match.groups()
    power = f"10^{{{'-' if sign == '-' else ''}{exponent}}}"
    return power if mantissa == "1" else f"{mantissa} \\times {power}"


def percent(value: Any, digits: int = 2) -> str:
    """An accuracy in percent, ``99.12%``; ``n/a`` when undefined (NaN)."""
    number = float(value)
    return "n/a" if math.isnan(number) else f"{number:.{digits}f}%"

