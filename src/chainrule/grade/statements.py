r"""Reading a learner's answer file: one statement per line, never ``eval``.

A line is a definition (``p = b*c``), a value (``p = -28``), a derivative
(``∂A/∂p = -1``, ``dA/dp = -1``) or, without an ``=``, a note (a heading, a
table row), which is not graded. ``#`` starts a comment. The sheet's notation
is read as it is written by hand: ``·``, ``×``, ``−``, ``√``, ``²``, ``³``,
``(−7)(4)``, and a chain of ``=`` whose last part is the value:

>>> s = read_line(3, "v1 = b · c = (−7)(4) = −28   # the product")
>>> s.kind, s.name, [p.text for p in s.parts]
('definition', 'v1', ['b * c', '(-7)*(4)', '-28'])
>>> d = read_line(9, "∂A/∂p = ∂A/∂q · ∂q/∂p = (1)(−1) = −1")
>>> d.kind, d.name, d.by, d.parts[0].derivatives
('derivative', 'A', 'p', {'__g0_': ('A', 'q'), '__g1_': ('q', 'p')})
>>> print(read_line(4, "q = a - (p").render())
line 4: cannot read this line: '(' is never closed at column 9
  q = a - (p
          ^
"""

from __future__ import annotations

import math
import re
from collections.abc import Container, Mapping
from dataclasses import dataclass, field, replace
from typing import Literal

from chainrule.core.backends import ScalarMath
from chainrule.core.graph import Graph, Node
from chainrule.core.ops import CONSTANTS, FUNCTIONS
from chainrule.core.parser import parse
from chainrule.errors import ChainruleError, ParseError
from chainrule.grade.markdown import math_line

StatementKind = Literal["definition", "value", "derivative"]
SeemsKind = Literal["definition", "value", "gradient"]  # of a line that cannot be read

MAX_LINES = 5000
"""A longer answer file is refused: no hand-written pass has that many lines."""

_NAME = r"[A-Za-z_][A-Za-z0-9_]*"
_NAME_ONLY = re.compile(rf"\s*({_NAME})\s*\Z")
# ∂A/∂p, dA/dp, ∂A / ∂p; the ASCII "d" form only where the whole side is one derivative
_DERIVATIVE_TERM = re.compile(rf"∂\s*({_NAME})\s*/\s*∂\s*({_NAME})")
_DERIVATIVE_SIDE = re.compile(rf"\s*[∂d]\s*({_NAME})\s*/\s*[∂d]\s*({_NAME})\s*\Z")
_ASCII_DERIVATIVE_TERM = re.compile(rf"(?<![A-Za-z0-9_])d({_NAME})\s*/\s*d({_NAME})")

# One character of the hand-written notation -> the parser's plain syntax.
_SIGNS = {"·": "*", "⋅": "*", "∙": "*", "×": "*", "−": "-", "–": "-", "²": "^2", "³": "^3",
          "π": "pi"}  # fmt: skip
_SQRT_OPERAND = re.compile(rf"√\s*({_NAME}|\d+(?:\.\d*)?(?:[eE][+-]?\d+)?)")
_PRODUCT_OF_PARENTHESES = re.compile(r"\)\s*\(")
_LN = re.compile(r"(?<![A-Za-z0-9_])ln(?=\s*\()")
_DEFINED = re.compile(rf"\s*({_NAME})\s*=")
_CALL = re.compile(rf"({_NAME})\s*\(")
# "3. Local derivatives (...)", "#### 3. Local derivatives", "(iv) Backward pass", "Local:"
_HEADING = re.compile(r"\s*(?:#+\s|\d+\.\s|\([ivx]+\)\s|[^=]*:\s*\Z)")
_SYMPY_NAMES = re.compile(r"(?<![A-Za-z0-9_])(Max|Min|Abs)(?=\s*\()")  # sympy's spelling


@dataclass(frozen=True)
class Plain:
    """Text in the parser's syntax, with the column of each character in the learner's line."""

    text: str
    origin: tuple[int, ...]  # origin[i]: 1-based column in the original line of text[i]

    def column(self, index: int) -> int:
        """The original column of 0-based position ``index`` (the end maps past the last)."""
        if index < len(self.origin):
            return self.origin[index]
        return (self.origin[-1] + 1) if self.origin else 1


def _substitute(plain: Plain, pattern: re.Pattern[str], replace: str | None = None) -> Plain:
    """Apply a regex substitution, keeping every character's original column."""
    text: list[str] = []
    origin: list[int] = []
    position = 0
    for match in pattern.finditer(plain.text):
        text.append(plain.text[position : match.start()])
        origin.extend(plain.origin[position : match.start()])
        new = match.expand(replace) if replace is not None else ""
        text.append(new)
        origin.extend([plain.column(match.start())] * len(new))
        position = match.end()
    text.append(plain.text[position:])
    origin.extend(plain.origin[position:])
    return Plain("".join(text), tuple(origin))


def to_plain(text: str, start_column: int = 1) -> Plain:
    """The hand-written notation in the parser's plain syntax.

    >>> to_plain("√59 · 2²").text, to_plain("ln(2) − (−7)(4)").text
    ('sqrt(59) * 2^2', 'log(2) - (-7)*(4)')
    """
    chars, origin = [], []
    for offset, char in enumerate(text):
        replacement = _SIGNS.get(char, char)
        chars.append(replacement)
        origin.extend([start_column + offset] * len(replacement))
    plain = Plain("".join(chars), tuple(origin))
    plain = _substitute(plain, _SQRT_OPERAND, r"sqrt(\1)")
    plain = _substitute(plain, re.compile("√"), "sqrt")
    plain = _substitute(plain, _PRODUCT_OF_PARENTHESES, ")*(")
    plain = Plain(_lower_sympy(plain.text), plain.origin)  # the same length: columns stay
    return _substitute(plain, _LN, "log")


def _lower_sympy(text: str) -> str:
    return _SYMPY_NAMES.sub(lambda m: m.group(1).lower(), text)


@dataclass(frozen=True)
class Part:
    """One side of an ``=``: parsed to a graph, or the reason it does not parse."""

    text: str  # in the parser's plain syntax, derivatives replaced by placeholders
    graph: Graph | None
    error: ParseError | None  # with the column in the learner's original line
    derivatives: dict[str, tuple[str, str]] = field(default_factory=dict)  # name -> (of, by)

    @property
    def names(self) -> list[str]:
        """The variables it uses (inputs, the learner's names, derivative placeholders)."""
        return [] if self.graph is None else self.graph.inputs

    def number(self, names: Mapping[str, float] | None = None) -> float:
        """Its value, with ``names`` giving the variables' (NaN where arithmetic fails).

        >>> read_part("(−7)(4)", 1).number(), read_part("2*x", 1).number({"x": 3})
        (-28.0, 6.0)
        """
        assert self.graph is not None
        names = names or {}
        values = [math.nan] * len(self.graph.nodes)
        for index, node in enumerate(self.graph.nodes):
            if node.op is None:
                value = node.constant if node.constant is not None else names.get(node.name)
                values[index] = math.nan if value is None else float(value)
                continue
            try:
                values[index] = float(node.op.forward(ScalarMath, *(values[a] for a in node.args)))
            except (ArithmeticError, ValueError):
                return math.nan
        return values[self.graph.output]

    @property
    def is_number(self) -> bool:
        """A number or arithmetic on numbers only, such as ``(-7)*(4)``."""
        return self.graph is not None and not self.graph.inputs


def _placeholders(plain: Plain, ascii_names: bool) -> tuple[Plain, dict[str, tuple[str, str]]]:
    """``∂A/∂q · ∂q/∂p`` -> ``__g0_ * __g1_``: derivatives become names the parser reads.

    Each placeholder is padded to the length of what it replaces, so columns stay true.
    """
    found: dict[str, tuple[str, str]] = {}
    patterns = [_DERIVATIVE_TERM, *([_ASCII_DERIVATIVE_TERM] if ascii_names else [])]
    for pattern in patterns:
        text: list[str] = []
        origin: list[int] = []
        position = 0
        for match in pattern.finditer(plain.text):
            padded = f"__g{len(found)}".ljust(len(match.group()), "_")
            found[padded] = (match.group(1), match.group(2))
            text.append(plain.text[position : match.start()] + padded)
            origin.extend(plain.origin[position : match.start()])
            last = match.end() - 1
            origin.extend(plain.origin[min(match.start() + k, last)] for k in range(len(padded)))
            position = match.end()
        text.append(plain.text[position:])
        origin.extend(plain.origin[position:])
        plain = Plain("".join(text), tuple(origin))
    return plain, found


def _as_variables(graph: Graph, names: Container[str]) -> Graph:
    """The constants ``e`` and ``pi`` as variables, where the learner named a variable so."""
    if not any(node.constant is not None and node.name in names for node in graph.nodes):
        return graph
    nodes = [Node(node.name) if node.constant is not None and node.name in names else node
             for node in graph.nodes]  # fmt: skip
    return Graph(nodes, graph.output, graph.source)


def read_part(text: str, start_column: int, variables: Container[str] = ()) -> Part:
    """Parse one side of an ``=``; a syntax error keeps the learner's column.

    ``variables``: the learner's own names, which win over the constants ``e`` and ``pi``.
    """
    plain, derivatives = _placeholders(to_plain(text, start_column), ascii_names=False)
    if "∂" not in text and "/" in plain.text:
        plain, derivatives = _placeholders(plain, ascii_names=True)
    stripped = plain.text.strip()
    try:
        graph = parse(plain.text, syntax="latex" if "\\" in plain.text else "plain")
    except ParseError as error:
        column = plain.column(min(error.column - 1, len(plain.text)))
        return Part(stripped, None, ParseError(error.message, "", column), derivatives)
    return Part(stripped, _as_variables(graph, variables), None, derivatives)


@dataclass(frozen=True)
class Statement:
    """One line of the answer file that states something."""

    line: int  # 1-based line number in the file
    text: str  # the line as written, without its comment
    kind: StatementKind
    name: str  # the variable defined or valued, or the numerator of a derivative
    parts: tuple[Part, ...]  # the sides after the first "=", in order
    by: str | None = None  # the denominator of a derivative
    section: str = ""  # the last heading above it, if any

    @property
    def value_part(self) -> Part | None:
        """The part that states the number: the last, unless a definition has only one."""
        if self.kind == "definition" and len(self.parts) == 1:
            return None
        return self.parts[-1]

    @property
    def lhs(self) -> str:
        """The left side, normalized: ``p``, ``∂A/∂p``."""
        return f"∂{self.name}/∂{self.by}" if self.kind == "derivative" else self.name


@dataclass(frozen=True)
class Unreadable:
    """A line that cannot be read at all; it says where, with a caret."""

    line: int
    text: str
    message: str
    column: int  # 1-based, in ``text``
    kind: SeemsKind | None = None  # what it seems to state
    name: str = ""  # its left side, where that could be read

    def render(self) -> str:
        shown = ParseError(self.message, self.text, self.column).render()
        return shown.replace("error: ", f"line {self.line}: cannot read this line: ", 1)


@dataclass(frozen=True)
class Skipped:
    """A line not graded: a formula with a function that is no operation of chainrule
    (sympy's ``Heaviside``, ``sign``, ``cosh`` in a worked solution's closed forms)."""

    line: int
    text: str
    why: str


def _strip_comment(text: str) -> str:
    return text.split("#", 1)[0].rstrip()


def _sides(text: str) -> list[tuple[str, int]]:
    """The text between ``=`` signs, each with the 1-based column where it starts."""
    sides, start = [], 0
    for position, char in enumerate(text):
        if char == "=":
            sides.append((text[start:position], start + 1))
            start = position + 1
    sides.append((text[start:], start + 1))
    return sides


def _first_unreadable(
    line: int, text: str, parts: list[Part], kind: StatementKind
) -> Unreadable | Skipped | None:
    """The parts that must parse: a definition's right side, and the stated value."""
    needed = [parts[0], parts[-1]] if kind == "definition" else [parts[-1]]
    for part in needed:
        if part.error is None:
            continue
        unknown = [name for name in _CALL.findall(part.text) if name not in FUNCTIONS]
        if unknown:
            return Skipped(line, text, f"not graded: {unknown[0]} is no operation of chainrule")
        for name, count in _call_arities(part.text):
            if name in FUNCTIONS and count != FUNCTIONS[name].arity:
                return Skipped(line, text, f"not graded: {name} of {count} arguments "
                               f"(chainrule's {name} takes {FUNCTIONS[name].arity})")
        return Unreadable(line, text, part.error.message, part.error.column)
    return None


def _call_arities(text: str) -> list[tuple[str, int]]:
    """Each function call's name and number of arguments (sympy writes ``Max(a, b, c)``).

    >>> _call_arities("max(a, max(b, c)) + f(g(x), y, z)")
    [('max', 2), ('max', 2), ('f', 3), ('g', 1)]
    """
    calls = []
    for match in _CALL.finditer(text):
        depth, count = 0, 1
        for char in text[match.end() :]:
            if char == "(":
                depth += 1
            elif char == ")" and depth == 0:
                break
            elif char == ")":
                depth -= 1
            elif char == "," and depth == 0:
                count += 1
        calls.append((match.group(1), count))
    return calls


def read_line(
    line: int, raw: str, variables: Container[str] = (), section: str = ""
) -> Statement | Unreadable | Skipped | None:
    """One line of an answer file: a statement, an unreadable line, or None (a note: no
    ``=``, or prose with a colon before it).

    ``variables``: the names the file defines (so that a variable may be called ``e``);
    ``section``: the heading above it (a derivative under "Local derivatives" is local):
    a line without ``=`` that is numbered, a Markdown heading, or ends with a colon.
    """
    text = _strip_comment(raw)
    if "=" not in text:
        return None
    (left, _), *rest = _sides(text)
    if ":" in left:  # prose: "Worked solution: v1 = ...", "warning: v2 = log(v1): ..."
        return None
    derivative = _DERIVATIVE_SIDE.match(to_plain(left).text)
    name = _NAME_ONLY.match(to_plain(left).text)
    if not (derivative or name):
        return Unreadable(
            line, text, "the left side is neither a variable (p) nor a derivative (∂A/∂p)",
            len(left) - len(left.lstrip()) + 1,
        )
    seems: SeemsKind = "gradient" if derivative else "definition"
    lhs = f"∂{derivative[1]}/∂{derivative[2]}" if derivative else (name[1] if name else "")
    for side, column in rest:
        if not side.strip():
            return Unreadable(line, text, "nothing between '=' signs or after the last", column,
                              seems, lhs)  # fmt: skip
    parts = [read_part(side, column, variables) for side, column in rest]
    kind: StatementKind
    if derivative:
        kind = "derivative"
    elif parts[0].is_number:
        kind = "value"
    else:
        kind = "definition"
    problem = _first_unreadable(line, text, parts, kind)
    if isinstance(problem, Unreadable):
        return replace(problem, kind="value" if kind == "value" else seems, name=lhs)
    if problem is not None:
        return problem
    if derivative:
        return Statement(line, text, kind, derivative.group(1), tuple(parts),
                         derivative.group(2), section)  # fmt: skip
    assert name is not None
    return Statement(line, text, kind, name.group(1), tuple(parts), section=section)


def read(text: str) -> list[Statement | Unreadable | Skipped]:
    """Every statement of an answer file, in order (notes and blank lines left out)."""
    lines = text.splitlines()
    if len(lines) > MAX_LINES:
        raise ChainruleError(
            f"the answer file has {len(lines):,} lines; the limit is {MAX_LINES:,}"
        )
    lines = _as_hand_written(lines)
    defined = {match[1] for raw in lines if (match := _DEFINED.match(_strip_comment(raw)))}
    shadowing = defined & set(CONSTANTS)
    found: list[Statement | Unreadable | Skipped] = []
    section = ""
    for number, raw in enumerate(lines, 1):
        statement = read_line(number, raw, shadowing, section)
        if statement is not None:
            found.append(statement)
        elif _HEADING.match(raw):  # raw: a Markdown heading starts like a comment
            section = raw.strip()
    return found


def _as_hand_written(lines: list[str]) -> list[str]:
    """Markdown (a worked solution in ``- $...$`` items) as the notation typed by hand.

    A math item becomes its equation; other lines with ``$`` math, tables and fenced
    blocks are prose (notes); a file without any math item is left as it is.
    """
    converted = [math_line(line) for line in lines]
    if not any(line is not None for line in converted):
        return lines
    out: list[str] = []
    fenced = False
    for line, equation in zip(lines, converted, strict=True):
        if line.lstrip().startswith("```"):
            fenced = not fenced
        if equation is not None and not fenced:
            out.append(equation)
        elif fenced or "$" in line or line.lstrip().startswith(("|", "```")):
            out.append(line.replace("=", "≡"))  # a note, still a heading for what follows
        else:
            out.append(line)
    return out
