"""User-facing errors: one line that says what went wrong and where.

Every error a user can cause derives from :class:`ChainruleError`; the CLI prints
it as ``error: ...`` and exits with status 2, never with a traceback.

>>> err = ParseError("unexpected ')'", "(a+b))", 6)
>>> print(err.render())
error: unexpected ')' at column 6
  (a+b))
       ^
"""

from __future__ import annotations


class ChainruleError(Exception):
    """An error caused by the user's input; the message is meant for them."""

    def render(self) -> str:
        """The text the CLI prints (may span lines, e.g. with a caret)."""
        return f"error: {self}"


class ParseError(ChainruleError):
    """A syntax error in an expression, pointing at a 1-based column."""

    def __init__(self, message: str, text: str, column: int) -> None:
        super().__init__(f"{message} at column {column}")
        self.message = message
        self.text = text
        self.column = column

    def render(self) -> str:
        line = self.text.replace("\n", " ").replace("\t", " ")
        start = max(0, self.column - 60)  # keep the caret on screen for huge input
        excerpt = line[start : start + 100]
        prefix = "..." if start else ""
        caret = " " * (len(prefix) + self.column - 1 - start) + "^"
        return f"error: {self}\n  {prefix}{excerpt}\n  {caret}"


class EvaluationError(ChainruleError):
    """A value outside an operation's domain, a missing input, or an overflow."""
