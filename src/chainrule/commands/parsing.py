"""Option text -> values: the parsers the commands share, each error one line naming its option.

>>> parse_values("a=2, b=-7", "c=4")
{'a': 2.0, 'b': -7.0, 'c': 4.0}
>>> parse_numbers("1,-2.5", "--weights")
[1.0, -2.5]
"""

from __future__ import annotations

import math
import re

from chainrule.errors import ChainruleError

_ASSIGNMENT = re.compile(r"\s*([A-Za-z_][A-Za-z0-9_]*)\s*=\s*([^,]+?)\s*(?:,|$)")


def parse_values(*texts: str) -> dict[str, float]:
    """``a=2,b=-7.5`` (``--at``) -> ``{"a": 2.0, "b": -7.5}``, with a clear error otherwise.

    Several texts (``--at`` given more than once) add up; a later value wins.

    >>> parse_values("a=2", "a=3")
    {'a': 3.0}
    >>> parse_values("a=2,b")
    Traceback (most recent call last):
    chainrule.errors.ChainruleError: --at: expected NAME=NUMBER at column 5 of 'a=2,b'
    """
    values: dict[str, float] = {}
    for text in texts:
        values.update(_assignments(text))
    return values


def _assignments(text: str) -> dict[str, float]:
    values: dict[str, float] = {}
    position = 0
    while position < len(text):
        match = _ASSIGNMENT.match(text, position)
        if match is None:
            raise ChainruleError(
                f"--at: expected NAME=NUMBER at column {position + 1} of {text!r}"
            )
        name, raw = match.groups()
        try:
            values[name] = float(raw)
        except ValueError:
            raise ChainruleError(f"--at: {raw!r} is not a number (for {name})") from None
        position = match.end()
    return values


def parse_numbers(text: str, option: str) -> list[float]:
    """``"1, -2.5,3"`` -> ``[1.0, -2.5, 3.0]``; anything else is a one-line error naming ``option``.

    >>> parse_numbers("1,inf", "--weights")
    Traceback (most recent call last):
    chainrule.errors.ChainruleError: --weights: 'inf' is not a finite number
    """
    numbers = []
    for item in text.split(","):
        try:
            value = float(item)
        except ValueError:
            raise ChainruleError(f"{option}: {item.strip()!r} is not a number") from None
        if not math.isfinite(value):
            raise ChainruleError(f"{option}: {item.strip()!r} is not a finite number")
        numbers.append(value)
    return numbers
