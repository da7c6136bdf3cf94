"""Reading the API's JSON bodies: every field checked, every problem one line.

A body that is not what the API expects raises :class:`RequestError`; the server
answers it with status 400 and ``{"error": message, "column": null}``, like any
other :class:`~chainrule.errors.ChainruleError` (a parse error carries its column).

>>> body = read_json(b'{"expression": "x*y", "at": {"x": 2}}')
>>> text_field(body, "expression"), numbers_by_name(body, "at")
('x*y', {'x': 2.0})
>>> read_json(b'{"at": {"x": NaN}}')
Traceback (most recent call last):
...
chainrule.serve.bodies.RequestError: the body is not JSON: NaN is not a JSON number
>>> error_body(RequestError("'at' must be an object"))
{'error': "'at' must be an object", 'column': None}
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from typing import Any, TypeVar

from chainrule.errors import ChainruleError, ParseError

Choice = TypeVar("Choice", bound=str)


class RequestError(ChainruleError):
    """A request body the API cannot use (answered with status 400)."""


def error_body(error: ChainruleError) -> dict[str, Any]:
    """The JSON of a 400 answer: the CLI's one-line message and the column, if any."""
    column = error.column if isinstance(error, ParseError) else None
    return {"error": str(error), "column": column}


def _no_constant(name: str) -> float:
    raise ValueError(f"{name} is not a JSON number")


def read_json(data: bytes) -> dict[str, Any]:
    """The body as a JSON object; NaN and Infinity (not JSON) are refused."""
    try:
        body = json.loads(data.decode("utf-8"), parse_constant=_no_constant)
    except UnicodeDecodeError:
        raise RequestError("the body is not UTF-8 text") from None
    except ValueError as error:  # JSONDecodeError too
        raise RequestError(f"the body is not JSON: {error}") from None
    except RecursionError:  # [[[[...]]]]: the decoder's own nesting limit
        raise RequestError("the body is nested too deeply") from None
    if not isinstance(body, dict):
        raise RequestError(f"the body must be a JSON object, not {_kind(body)}")
    return body


def _kind(value: Any) -> str:
    """The JSON name of a value's type, for messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    return "an array" if isinstance(value, list) else "an object"


def text_field(body: dict[str, Any], name: str, default: str | None = None) -> str:
    """A string field; required when there is no default."""
    value = body.get(name, default)
    if value is None:
        raise RequestError(f"the field {name!r} is missing")
    if not isinstance(value, str):
        raise RequestError(f"{name!r} must be a string, not {_kind(value)}")
    return value


def choice_field(
    body: dict[str, Any], name: str, choices: Sequence[Choice], default: Choice
) -> Choice:
    """A string field that must be one of ``choices``."""
    value = text_field(body, name, default)
    for choice in choices:
        if value == choice:
            return choice
    raise RequestError(f"{name!r} must be one of {', '.join(choices)}, not {value!r}")


def bool_field(body: dict[str, Any], name: str, default: bool) -> bool:
    value = body.get(name, default)
    if not isinstance(value, bool):
        raise RequestError(f"{name!r} must be true or false, not {_kind(value)}")
    return value


def number(value: Any, what: str) -> float:
    """A finite JSON number (booleans are not numbers here)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise RequestError(f"{what} must be a number, not {_kind(value)}")
    result = float(value)  # a huge integer can overflow to inf
    if not math.isfinite(result):
        raise RequestError(f"{what} must be a finite number, got {value}")
    return result


def number_field(body: dict[str, Any], name: str, default: float | None = None) -> float:
    value = body.get(name, default)
    if value is None:
        raise RequestError(f"the field {name!r} is missing")
    return number(value, repr(name))


def numbers_by_name(body: dict[str, Any], name: str) -> dict[str, float]:
    """An object of numbers, ``{"a": 2, "b": -7}`` (absent: empty)."""
    value = body.get(name, {})
    if not isinstance(value, dict):
        raise RequestError(f"{name!r} must be an object of numbers, not {_kind(value)}")
    return {str(key): number(item, f"{name}.{key}") for key, item in value.items()}


def number_list(body: dict[str, Any], name: str) -> list[float]:
    """An array of numbers (required)."""
    value = body.get(name)
    if value is None:
        raise RequestError(f"the field {name!r} is missing")
    if not isinstance(value, list):
        raise RequestError(f"{name!r} must be an array of numbers, not {_kind(value)}")
    return [number(item, f"{name}[{index}]") for index, item in enumerate(value)]
