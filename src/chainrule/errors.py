"""User-facing errors: one line that says what went wrong and where.

Every error a user can cause derives from :class:`ChainruleError`; the CLI prints
it as ``error: ...`` and exits with status 2, never with a traceback.

>>> err = ParseError("unexpected ')'", "(a+b))", 6)
>>> print(err.render())
error: unexpected ')' at column 6
  (a+b))
       ^

The library speaks of its own parameters (``names``, ``allow_nan``, ``lr``), a
command line of its flags: an error made with :meth:`ChainruleError.naming`
marks the parameters in its message, and the CLI writes each as the flag that
sets it (see :func:`chainrule.cli.main`).

>>> err = ChainruleError.naming("{lr} must be a positive number, got {value}", value=-1.0)
>>> str(err)
'lr must be a positive number, got -1.0'
>>> err.render({"lr": "--lr"})
'error: --lr must be a positive number, got -1.0'
"""

from __future__ import annotations

import string
from collections.abc import Mapping
from typing import Any, Self


class ChainruleError(Exception):
    """An error caused by the user's input; the message is meant for them."""

    _template: str | None = None  # set by naming(): the message with its parameters marked
    _values: Mapping[str, Any] = {}

    @classmethod
    def naming(cls, template: str, **values: Any) -> Self:
        """An error whose message names parameters of the library.

        Each ``{field}`` of ``template`` is filled from ``values``; a field not in
        ``values`` is a parameter, written as its own name by ``str(error)`` and as
        the caller's word for it (a CLI flag) by :meth:`render`. The values are never
        read as a template, so user text in them is safe.
        """
        error = cls(_filled(template, values, {}))
        error._template, error._values = template, values
        return error

    def render(self, flags: Mapping[str, str] | None = None) -> str:
        """The text the CLI prints (may span lines, e.g. with a caret).

        ``flags`` maps parameter names to what the caller calls them (``"allow_nan"``
        -> ``"--allow-nan"``); parameters it does not list keep their own names.
        """
        if self._template is None:
            return f"error: {self}"
        return f"error: {_filled(self._template, self._values, flags or {})}"


def _filled(template: str, values: Mapping[str, Any], flags: Mapping[str, str]) -> str:
    fields = {field for _, field, _, _ in string.Formatter().parse(template) if field}
    names = {field: flags.get(field, field) for field in fields if field not in values}
    return template.format(**values, **names)


class ParseError(ChainruleError):
    """A syntax error in an expression, pointing at a 1-based column."""

    def __init__(self, message: str, text: str, column: int) -> None:
        super().__init__(f"{message} at column {column}")
        self.message = message
        self.text = text
        self.column = column

    def render(self, flags: Mapping[str, str] | None = None) -> str:
        line = self.text.replace("\n", " ").replace("\t", " ")
        start = max(0, self.column - 60)  # keep the caret on screen for huge input
        excerpt = line[start : start + 100]
        prefix = "..." if start else ""
        caret = " " * (len(prefix) + self.column - 1 - start) + "^"
        return f"error: {self}\n  {prefix}{excerpt}\n  {caret}"


class EvaluationError(ChainruleError):
    """A value outside an operation's domain, a missing input, or an overflow."""
