"""Reading one exercise of an answer key (``key.json``, written by ``chainrule exercise``).

The key is a JSON list of exercises, ``{"id": 3, "seed": 7, "expression": str,
"latex": str, "at": {"a": 2, ...}, "value": float, "gradients": {...}, "steps":
[...]}``; grading needs the expression and the point. Anything else wrong with
the file is a one-line :class:`~chainrule.errors.ChainruleError`.

>>> import json, tempfile, pathlib
>>> path = pathlib.Path(tempfile.mkdtemp()) / "key.json"
>>> _ = path.write_text(json.dumps([{"id": 3, "expression": "x*y", "at": {"x": 2, "y": 5}}]))
>>> load_exercise(path, 3)
Exercise(id=3, expression='x*y', at={'x': 2.0, 'y': 5.0})
>>> load_exercise(path, 4)
Traceback (most recent call last):
...
chainrule.errors.ChainruleError: ... has no exercise with id 4 (its ids: 3)
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from chainrule.errors import ChainruleError
from chainrule.files import read_text

MAX_KEY_BYTES = 50_000_000
"""A larger key file is refused before it is read."""


@dataclass(frozen=True)
class Exercise:
    """What grading needs of one variant: its expression and its point."""

    id: int
    expression: str
    at: dict[str, float]


def _entries(path: Path) -> list[Any]:
    text = read_text(path, "the key file", MAX_KEY_BYTES)
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        raise ChainruleError(
            f"{path}: not JSON ({error.msg} at line {error.lineno}, column {error.colno})"
        ) from None
    if not isinstance(document, list):
        raise ChainruleError(f"{path}: a key file is a JSON list of exercises")
    return document


def _point(path: Path, id: int, raw: Any) -> dict[str, float]:
    if not isinstance(raw, dict) or not raw:
        raise ChainruleError(f"{path}: exercise {id} has no point 'at' (an object of numbers)")
    point = {}
    for name, value in raw.items():
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        if not ok or not math.isfinite(value):
            raise ChainruleError(f"{path}: exercise {id}: 'at' value of {name!r} is not a number")
        point[str(name)] = float(value)
    return point


def load_exercise(path: str | Path, id: int) -> Exercise:
    """The exercise ``id`` of the key file at ``path``."""
    path = Path(path)
    entries = _entries(path)
    ids = [entry.get("id") for entry in entries if isinstance(entry, dict)]
    for entry in entries:
        if isinstance(entry, dict) and entry.get("id") == id:
            expression = entry.get("expression")
            if not isinstance(expression, str) or not expression.strip():
                raise ChainruleError(f"{path}: exercise {id} has no 'expression' (a string)")
            return Exercise(id, expression, _point(path, id, entry.get("at")))
    shown = ", ".join(str(i) for i in ids[:20]) + (", ..." if len(ids) > 20 else "")
    raise ChainruleError(f"{path} has no exercise with id {id} (its ids: {shown or 'none'})")
