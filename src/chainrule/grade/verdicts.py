"""The graded answer file: one verdict per line, the missing items, the score, and its views.

:class:`Report` is what :func:`chainrule.check` returns and what ``chainrule
check`` prints as text, Markdown or JSON (:meth:`Report.to_dict`). A line is
``correct``, ``carried`` (right from the learner's own earlier numbers, which
were wrong: no new mistake), ``wrong`` (with the mistake named where the
catalogue knows it) or ``invalid`` (a definition that is not one operation, a
name used before it is defined, a line that cannot be read).

>>> line = LineVerdict(2, "q = a - p = -26", "definition", "q", "wrong", -26.0, 30.0, 30.0,
...                    "sign", "the sign of p = −28 was lost")
>>> report = Report("(a - b*c)*d", "A", (line,), ("∂A/∂d",), 1, 3)
>>> print(report.to_text())
check: (a - b*c)*d (output A)
<BLANKLINE>
  ✗  2  q = a - p = -26
        sign: the sign of p = −28 was lost
<BLANKLINE>
missing: ∂A/∂d
score: 1/3
>>> report.exit_status
1
"""

from __future__ import annotations

import json
from collections.abc import Container
from dataclasses import dataclass
from typing import Any, Literal

from chainrule.show.notation import json_value

Verdict = Literal["correct", "carried", "wrong", "invalid"]
LineKind = Literal["definition", "value", "gradient", "local"]

MARKS: dict[Verdict, str] = {"correct": "✓", "carried": "↪", "wrong": "✗", "invalid": "!"}
_EXPLAINED: tuple[Verdict, ...] = ("wrong", "invalid")  # the verdicts that are mistakes


@dataclass(frozen=True)
class LineVerdict:
    """The verdict on one line of the answer file."""

    line: int  # 1-based line number in the file
    text: str  # the line as written (without its comment)
    kind: LineKind | None  # None for a line whose left side cannot be read
    name: str  # the variable (q) or derivative (∂A/∂p) it states
    verdict: Verdict
    given: float | None = None  # the learner's number
    expected: float | None = None  # the true number
    expected_from_yours: float | None = None  # computed from the learner's own earlier numbers
    mistake: str | None = None  # a name of the catalogue, e.g. "quotient-rule"
    message: str = ""
    column: int | None = None  # where a line that cannot be read goes wrong (1-based)

    @property
    def unreadable(self) -> bool:
        return self.column is not None

    def to_dict(self) -> dict[str, Any]:
        return {
            "line": self.line,
            "text": self.text,
            "kind": self.kind,
            "name": self.name,
            "verdict": self.verdict,
            "given": json_value(self.given),
            "expected": json_value(self.expected),
            "expected_from_yours": json_value(self.expected_from_yours),
            "mistake": self.mistake,
            "message": self.message,
        }


@dataclass(frozen=True)
class Report:
    """Every line's verdict, what is missing and the score."""

    expression: str
    output: str  # the output as the learner calls it
    lines: tuple[LineVerdict, ...]
    missing: tuple[str, ...]
    score: int
    max_score: int
    skipped: tuple[tuple[int, str, str], ...] = ()  # (line, text, why): read, not graded

    @property
    def unreadable(self) -> bool:
        """Whether some line could not be read at all (``chainrule check`` exits with 2)."""
        return any(line.unreadable for line in self.lines)

    @property
    def exit_status(self) -> int:
        """0: nothing wrong, invalid or missing; 1: something is; 2: a line cannot be read."""
        if self.unreadable:
            return 2
        flawed = any(line.verdict in _EXPLAINED for line in self.lines)
        return 1 if flawed or self.missing else 0

    def to_dict(self) -> dict[str, Any]:
        """The JSON document of ``chainrule check --format json`` (and of ``POST /api/check``)."""
        return {
            "expression": self.expression,
            "output": self.output,
            "score": self.score,
            "max_score": self.max_score,
            "lines": [line.to_dict() for line in self.lines],
            "missing": list(self.missing),
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, ensure_ascii=False, allow_nan=False)

    def to_text(self) -> str:
        """The learner's lines, each with its mark, the message under each ✗ and !."""
        out = [f"check: {self.expression} (output {self.output})", ""]
        width = len(str(max((line.line for line in self.lines), default=1)))
        for line in self._in_order():
            if isinstance(line, tuple):  # a line not graded
                out.append(f"  ·  {str(line[0]).rjust(width)}  {line[1].strip()}   ({line[2]})")
                continue
            number = str(line.line).rjust(width)
            out.append(f"  {MARKS[line.verdict]}  {number}  {line.text.strip()}")
            if line.message:  # under each ✗ and !, and where a ↪ comes from
                out += _text_message(line, 2 + 1 + 2 + width + 2)
        out += ["", *self._summary(lambda text: text)]
        return "\n".join(out)

    def to_markdown(self) -> str:
        """The same as a GitHub Markdown table."""
        out = [f"**check** `{_code(self.expression)}` (output `{_code(self.output)}`)", ""]
        out += ["| | line | statement | verdict |", "|---|---|---|---|"]
        for line in self._in_order():
            if isinstance(line, tuple):
                out.append(f"| · | {line[0]} | `{_code(line[1].strip())}` | {_cell(line[2])} |")
                continue
            said = f"**{line.mistake}**: " if line.mistake else ""
            note = f"{said}{line.message}" if line.message else line.verdict
            cells = [MARKS[line.verdict], str(line.line), f"`{_code(line.text.strip())}`",
                     _cell(note)]  # fmt: skip
            out.append("| " + " | ".join(cells) + " |")
        out += ["", *self._summary(lambda text: f"**{text}**")]
        return "\n".join(out) + "\n"

    def _in_order(self) -> list[LineVerdict | tuple[int, str, str]]:
        """The graded lines and the lines not graded, by line number."""
        both: list[LineVerdict | tuple[int, str, str]] = [*self.lines, *self.skipped]
        return sorted(both, key=lambda line: line[0] if isinstance(line, tuple) else line.line)

    def _summary(self, bold: Any) -> list[str]:
        lines = []
        if self.missing:
            lines.append(f"{bold('missing:')} {', '.join(self.missing)}")
        lines.append(f"{bold('score:')} {self.score}/{self.max_score}")
        return lines

    def __str__(self) -> str:
        return self.to_text()

    def _repr_mimebundle_(
        self, include: Container[str] | None = None, exclude: Container[str] | None = None
    ) -> dict[str, str]:
        """Jupyter shows the Markdown table; plain text elsewhere."""
        bundle = {"text/plain": self.to_text(), "text/markdown": self.to_markdown()}
        return {
            kind: data
            for kind, data in bundle.items()
            if (include is None or kind in include) and (exclude is None or kind not in exclude)
        }


def _text_message(line: LineVerdict, indent: int) -> list[str]:
    pad = " " * indent
    said = f"{line.mistake}: " if line.mistake else ""
    if line.column is None:
        return [f"{pad}{said}{line.message}"]
    # the caret under the learner's own text, as the CLI's parse errors show it
    leading = len(line.text) - len(line.text.lstrip())
    return [f"{pad}{' ' * (line.column - 1 - leading)}^", f"{pad}{line.message}"]


def _code(text: str) -> str:
    return text.replace("`", "'").replace("|", "\\|")


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")
