"""Expressions as text -> computational graphs, without ``eval``.

Two lexers turn text into one token stream: the plain syntax (``(a - b*c)*d``,
``x**2``, ``4(x+y)``) and LaTeX as the exercise sheet writes it
(``\\sqrt{a + b + c^3} + \\log\\left(\\frac{a}{d}\\right)``). One shunting-yard
parser then builds the graph as it reads, with explicit stacks instead of
recursion, so 5,000 nested parentheses or a sum of 20,000 terms are fine.

>>> print(parse("(a - b*c)*d"))
v1 = b * c
v2 = a - v1
v3 = v2 * d
>>> print(parse(r"4(xyz + \\max(z, w))", names="letters"))
a = x * y
b = a * z
c = max(z, w)
d = b + c
e = 4 * d
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator, Sequence
from typing import Literal, NamedTuple

from chainrule.core.graph import Graph, GraphBuilder
from chainrule.core.ops import CONSTANTS, FUNCTIONS, INFIX, OPS, PREFIX, PREFIX_OPS
from chainrule.errors import ParseError

Syntax = Literal["plain", "latex", "auto"]
MAX_LENGTH = 2_000_000  # characters; beyond this an expression is refused, not parsed


class Token(NamedTuple):
    kind: str  # num name const func op ( ) , end
    text: str  # the number's text, the name, or the operator symbol
    column: int  # 1-based column in the user's text
    bare: bool = False  # a LaTeX function written without parentheses: \ln x


# The registry's operator symbols, longest first; "**" is Python's spelling of "^".
_OPERATOR = "|".join(
    re.escape(symbol) for symbol in sorted({*INFIX, *PREFIX_OPS, "**"}, key=len, reverse=True)
)
_PLAIN_TOKEN = re.compile(
    r"\s*(?:(?P<num>(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)"
    r"|(?P<name>[A-Za-z_][A-Za-z0-9_]*)"
    rf"|(?P<op>{_OPERATOR})"
    r"|(?P<punct>[(),])"
    r"|(?P<bad>\S))"
)


def _classify_name(text: str, column: int) -> Token:
    if text in FUNCTIONS:
        return Token("func", text, column)
    if text in CONSTANTS:
        return Token("const", text, column)
    return Token("name", text, column)


def lex_plain(text: str) -> Iterator[Token]:
    """Tokens of the plain syntax.

    >>> [t.text for t in lex_plain("2x**3")]
    ['2', 'x', '^', '3', '']
    """
    for match in _PLAIN_TOKEN.finditer(text):
        kind = match.lastgroup
        if kind is None:  # trailing white space
            break
        value, column = match.group(kind), match.start(kind) + 1
        if kind == "name":
            yield _classify_name(value, column)
        elif kind == "num":
            yield Token("num", value, column)
        elif kind == "op":
            yield Token("op", "^" if value == "**" else value, column)
        elif kind == "punct":
            yield Token(value, value, column)
        else:
            raise ParseError(f"unexpected character {value!r}", text, column)
    yield Token("end", "", len(text) + 1)


# \sqrt, \log, \max, ... are the registry's function names; two LaTeX names are aliases.
_LATEX_FUNCTIONS = {name: name for name in FUNCTIONS} | {"ln": "log", "sigma": "sigmoid"}
_LATEX_SPACING = {",", ";", "!", " ", ":", "quad", "qquad"}
_LATEX_TOKEN = re.compile(
    r"(?P<space>\s+)"
    r"|(?P<cmd>\\(?:[A-Za-z]+|.))"
    r"|(?P<num>\d+(?:\.\d+)?)"
    r"|(?P<letter>[A-Za-z](?:_(?:\{[A-Za-z0-9]+\}|[A-Za-z0-9]))?)"
    rf"|(?P<op>{_OPERATOR})"
    r"|(?P<punct>[()\[\],{}])"
)


class _LatexLexer:
    """LaTeX -> the plain token stream; a stack remembers what each ``{`` opened."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0
        self.braces: list[tuple[str, int]] = []  # (purpose, column of the '{')

    def error(self, message: str, column: int) -> ParseError:
        return ParseError(message, self.text, column)

    def next_match(self) -> re.Match[str] | None:
        while self.pos < len(self.text):
            match = _LATEX_TOKEN.match(self.text, self.pos)
            if match is None:
                raise self.error(f"unexpected character {self.text[self.pos]!r}", self.pos + 1)
            self.pos = match.end()
            if match.lastgroup != "space":
                return match
        return None

    def expect_brace(self, purpose: str, after: str) -> int:
        """Consume a '{' that must follow a command; return its column."""
        match = self.next_match()
        column = match.start() + 1 if match else len(self.text) + 1
        if match is None or match.group() != "{":
            raise self.error(f"expected '{{' after {after}", column)
        self.braces.append((purpose, column))
        return column

    def tokens(self) -> Iterator[Token]:
        while (match := self.next_match()) is not None:
            yield from self.convert(match)
        if self.braces:
            raise self.error("'{' is never closed", self.braces[-1][1])
        yield Token("end", "", len(self.text) + 1)

    def convert(self, match: re.Match[str]) -> Iterator[Token]:
        kind, value, column = match.lastgroup, match.group(), match.start() + 1
        if kind == "cmd":
            yield from self.command(value[1:], column)
        elif kind == "num":
            yield Token("num", value, column)
        elif kind == "letter":
            name = value.replace("{", "").replace("}", "")
            yield _classify_name(name, column) if name in CONSTANTS else Token("name", name, column)
        elif kind == "op" and value == "^":
            yield from self.superscript(column)
        elif kind == "op":
            yield Token("op", "^" if value == "**" else value, column)
        elif value == "{":
            self.braces.append(("group", column))
            yield Token("(", "{", column)
        elif value == "}":
            yield from self.close_brace(column)
        else:
            yield Token({"[": "(", "]": ")"}.get(value, value), value, column)

    def superscript(self, column: int) -> Iterator[Token]:
        yield Token("op", "^", column)
        match = self.next_match()
        if match is None:
            return  # the parser reports the missing exponent
        if match.lastgroup == "num" and match.group() != "{":
            # LaTeX takes one character as the exponent: c^34 is c^3 * 4.
            self.pos = match.start() + 1
            yield Token("num", match.group()[0], match.start() + 1)
            return
        yield from self.convert(match)

    def close_brace(self, column: int) -> Iterator[Token]:
        if not self.braces:
            raise self.error("unmatched '}'", column)
        purpose, _ = self.braces.pop()
        yield Token(")", "}", column)
        if purpose == "numerator":
            yield Token("op", "/", column)
            yield Token("(", "{", self.expect_brace("denominator", r"\frac{...}"))
        elif purpose == "denominator":
            yield Token(")", "}", column)

    def command(self, name: str, column: int) -> Iterator[Token]:
        if name in _LATEX_SPACING:
            return
        if name in ("cdot", "times"):
            yield Token("op", "*", column)
        elif name == "frac":
            yield Token("(", r"\frac", column)
            yield Token("(", "{", self.expect_brace("numerator", r"\frac"))
        elif name in ("left", "right"):
            yield from self.delimiter(name, column)
        elif name == "pi":
            yield Token("const", "pi", column)
        elif name in ("operatorname", "mathrm"):
            yield from self.named_operator(column)
        elif name in _LATEX_FUNCTIONS:
            yield from self.function(_LATEX_FUNCTIONS[name], column)
        else:
            raise self.error(f"unknown LaTeX command \\{name}", column)

    def delimiter(self, side: str, column: int) -> Iterator[Token]:
        match = self.next_match()
        if match is None or match.group() not in ("(", ")", "[", "]", "."):
            raise self.error(f"expected a delimiter such as '(' after \\{side}", column)
        if match.group() != ".":
            yield Token("(" if match.group() in "([" else ")", match.group(), column)

    def named_operator(self, column: int) -> Iterator[Token]:
        self.expect_brace("name", r"\operatorname")
        self.braces.pop()
        start = self.pos
        end = self.text.find("}", start)
        if end < 0:
            raise self.error("'{' is never closed", start)
        self.pos = end + 1
        yield _classify_name(self.text[start:end].strip(), column)

    def function(self, name: str, column: int) -> Iterator[Token]:
        rest = self.text[self.pos :].lstrip()
        if name == "exp" and rest.startswith("^"):
            # \exp^{u} is the sheet's way of writing e^u.
            self.pos = self.text.index("^", self.pos) + 1
            yield Token("func", name, column)
            yield Token("(", "{", self.expect_brace("group", r"\exp^"))
        elif name == "sqrt":
            yield Token("func", name, column)
            yield Token("(", "{", self.expect_brace("group", r"\sqrt"))
        elif rest.startswith(("(", "\\left", "{")):
            yield Token("func", name, column)
        else:
            yield Token("func", name, column, bare=True)


def lex_latex(text: str) -> Iterator[Token]:
    r"""Tokens of LaTeX input, in the plain syntax's vocabulary.

    >>> [t.text for t in lex_latex(r"\frac{a}{d}")]
    ['\\frac', '{', 'a', '}', '/', '{', 'd', '}', '}', '']
    """
    return _LatexLexer(text).tokens()


# Binding power of binary operators; "^" is right-associative.
# Bare LaTeX functions (\ln x) bind like a prefix operator: \ln x^2 is ln(x^2).
_BARE_FUNCTION = PREFIX
_STARTS_OPERAND = {"num", "name", "const", "func", "("}
_IMPLICIT_PLAIN = ({"num"}, _STARTS_OPERAND - {"num"})  # 2x, 4(x+y), 2 sqrt(x)
_IMPLICIT_LATEX = ({"num", "name", "const", ")"}, _STARTS_OPERAND)  # xyz, 4(...), (a)(b)


class _Frame(NamedTuple):
    """An entry of the operator stack."""

    kind: str  # "binary", "prefix", "paren" or "call"
    name: str  # op name ("add", "neg", "sqrt") or "" for a plain parenthesis
    column: int
    precedence: int = 0


class _Parser:
    def __init__(
        self,
        text: str,
        tokens: Iterator[Token],
        implicit: tuple[set[str], set[str]],
        head: Head | None = None,
    ):
        self.text = text
        self.tokens = tokens
        # (kinds after which, kinds before which) a multiplication sign may be left out
        self.implicit_after, self.implicit_before = implicit
        self.builder = GraphBuilder()
        self.head = head
        for name in head.inputs if head and head.inputs is not None else ():
            self.builder.input(name)  # declared first: f(w, x, y, z) fixes the order
        self.operands: list[int] = []
        self.stack: list[_Frame] = []
        self.arg_counts: list[int] = []  # one per open function call

    def error(self, message: str, column: int) -> ParseError:
        return ParseError(message, self.text, column)

    def parse(self) -> int:
        expect_operand = True
        previous: Token | None = None
        pending: Token | None = None
        while True:
            token = pending or next(self.tokens)
            pending = None
            if expect_operand:
                expect_operand = self.operand(token, previous)
            elif self.implied_product(previous, token):
                self.binary(Token("op", "*", token.column))
                expect_operand, pending = True, token
                continue
            else:
                if token.kind == "end":
                    return self.finish(token)
                expect_operand = self.operator(token)
            previous = token

    def implied_product(self, previous: Token | None, token: Token) -> bool:
        """Whether ``previous token`` is a product written without ``*`` (``2x``)."""
        return (
            previous is not None
            and previous.kind in self.implicit_after
            and token.kind in self.implicit_before
        )

    def operand(self, token: Token, previous: Token | None) -> bool:
        """Handle a token where an operand must start; return whether one still must."""
        kind = token.kind
        if kind == "num":
            value = float(token.text)
            if not math.isfinite(value):
                raise self.error(f"the number {token.text} is too large", token.column)
            self.operands.append(self.builder.constant(value))
        elif kind == "const":
            self.operands.append(self.builder.constant(CONSTANTS[token.text], token.text))
        elif kind == "name":
            self.check_declared(token)
            self.operands.append(self.builder.input(token.text))
        elif kind == "func":
            self.open_function(token)
            return True
        elif kind == "(":
            self.stack.append(_Frame("paren", "", token.column))
            return True
        elif kind == "op" and (token.text in PREFIX_OPS or token.text == "+"):
            if token.text in PREFIX_OPS:  # a unary plus changes nothing
                op = PREFIX_OPS[token.text]
                self.stack.append(_Frame("prefix", op.name, token.column, op.precedence))
            return True
        else:
            raise self.error(_expected_operand(token, previous), token.column)
        return False

    def check_declared(self, token: Token) -> None:
        head = self.head
        if head is None:
            return
        if token.text == head.name:
            raise self.error(f"{token.text!r} names the output and cannot also be an input",
                             token.column)
        if head.inputs is not None and token.text not in head.inputs:
            raise self.error(f"{token.text!r} is used but not listed in {head.text}", token.column)

    def open_function(self, token: Token) -> None:
        if token.bare:
            if OPS[token.text].arity != 1:
                raise self.error(f"expected '(' after {token.text}", token.column)
            self.stack.append(_Frame("prefix", token.text, token.column, _BARE_FUNCTION))
            return
        paren = next(self.tokens)
        if paren.kind != "(":
            raise self.error(f"expected '(' after {token.text}", paren.column)
        self.stack.append(_Frame("call", token.text, token.column))
        self.arg_counts.append(1)

    def operator(self, token: Token) -> bool:
        """Handle a token after a complete operand; return whether an operand must follow."""
        if token.kind == "op":
            self.binary(token)
            return True
        if token.kind == ")":
            self.close_paren(token)
            return False
        if token.kind == ",":
            self.pop_until_paren(token, "',' outside a function call")
            if self.stack[-1].kind != "call":
                raise self.error("',' outside a function call", token.column)
            self.arg_counts[-1] += 1
            return True
        raise self.error(f"expected an operator before {_describe(token)}", token.column)

    def binary(self, token: Token) -> None:
        op = INFIX[token.text]
        precedence, right_assoc = op.precedence, op.grouping == "right"
        while self.stack and self.stack[-1].kind in ("binary", "prefix"):
            top = self.stack[-1].precedence
            if top < precedence or (right_assoc and top == precedence):
                break
            self.reduce(self.stack.pop())
        self.stack.append(_Frame("binary", op.name, token.column, precedence))

    def pop_until_paren(self, token: Token, message: str) -> None:
        while self.stack and self.stack[-1].kind in ("binary", "prefix"):
            self.reduce(self.stack.pop())
        if not self.stack:
            raise self.error(message, token.column)

    def close_paren(self, token: Token) -> None:
        self.pop_until_paren(token, f"unmatched {token.text!r}")
        frame = self.stack.pop()
        if frame.kind == "call":
            count = self.arg_counts.pop()
            arity = OPS[frame.name].arity
            if count != arity:
                plural = "argument" if arity == 1 else "arguments"
                raise self.error(f"{frame.name} takes {arity} {plural}, got {count}", frame.column)
            self.reduce(frame)

    def reduce(self, frame: _Frame) -> None:
        arity = OPS[frame.name].arity
        args = self.operands[-arity:]
        del self.operands[-arity:]
        self.operands.append(self.builder.apply(frame.name, *args))

    def finish(self, token: Token) -> int:
        while self.stack:
            frame = self.stack.pop()
            if frame.kind in ("paren", "call"):
                raise self.error("'(' is never closed", frame.column)
            self.reduce(frame)
        return self.operands[-1]


def _describe(token: Token) -> str:
    return "the end of the expression" if token.kind == "end" else repr(token.text)


def _expected_operand(token: Token, previous: Token | None) -> str:
    if token.kind == "end":
        return "unexpected end of the expression" if previous else "the expression is empty"
    return f"expected a number, a variable or '(' but found {token.text!r}"


class Head(NamedTuple):
    r"""The left-hand side of an equation: ``A``, ``\mathcal{B}`` or ``f(w, x, y, z)``."""

    name: str  # names the output
    inputs: tuple[str, ...] | None  # the declared inputs, in order, or None when not declared
    text: str  # as written, for messages
    body: int  # where the right-hand side starts in the whole text


_NAME = r"[A-Za-z][A-Za-z0-9]*(?:_\{?[A-Za-z0-9]+\}?)?"
_HEAD = re.compile(
    rf"\s*(?:\\(?:mathcal|mathrm|mathbf|mathit|mathscr|mathfrak|operatorname)\s*\{{\s*(?P<wrapped>{_NAME})\s*\}}"
    rf"|(?P<name>{_NAME}))"
    r"\s*(?:(?:\\left\s*)?\(\s*(?P<inputs>[^()]*?)\s*(?:\\right\s*)?\))?\s*\Z"
)


def split_equation(text: str) -> Head | None:
    r"""The left-hand side of ``name = expression``, or None for a bare expression.

    >>> split_equation(r"\mathcal{B} = \sqrt{a}")
    Head(name='B', inputs=None, text='\\mathcal{B}', body=13)
    >>> split_equation("f(w, x) = w*x").inputs
    ('w', 'x')
    >>> split_equation("a*b") is None
    True
    """
    equals = text.find("=")
    if equals < 0:
        return None
    second = text.find("=", equals + 1)
    if second >= 0:
        raise ParseError("only one '=' may stand in an equation", text, second + 1)
    written = text[:equals].strip()
    match = _HEAD.match(text[:equals])
    start = len(text) - len(text.lstrip()) + 1
    if not written:
        raise ParseError("nothing before '=': write a name such as A = ...", text, equals + 1)
    if match is None:
        raise ParseError(
            r"the left-hand side must be a name such as A, \mathcal{A} or f(x, y)", text, start
        )
    name = _plain_name(match.group("wrapped") or match.group("name"))
    if name in FUNCTIONS or name in CONSTANTS:
        raise ParseError(f"{name!r} is a function or constant, not a name for the output",
                         text, start)
    return Head(name, _declared_inputs(match.group("inputs"), text, start), written, equals + 1)


def _plain_name(latex: str) -> str:
    return latex.replace("{", "").replace("}", "")


def _declared_inputs(listed: str | None, text: str, column: int) -> tuple[str, ...] | None:
    if listed is None:
        return None
    names = [_plain_name(part.strip()) for part in listed.split(",")]
    for name in names:
        if not re.fullmatch(_NAME, name):
            raise ParseError(f"{name!r} in the left-hand side is not a variable name",
                             text, column)
    if len(set(names)) != len(names):
        raise ParseError("a variable is listed twice in the left-hand side", text, column)
    return tuple(names)


def detect_syntax(text: str) -> Literal["plain", "latex"]:
    """``latex`` when the text has a backslash, else ``plain``."""
    return "latex" if "\\" in text else "plain"


def parse(
    text: str, *, syntax: Syntax = "auto", names: str | Sequence[str] = "v"
) -> Graph:
    r"""Parse an expression into a :class:`Graph` of single operations.

    An equation names the output: ``A = (a - b*c)*d``, ``\mathcal{A} = ...``, or
    ``f(w, x, y, z) = ...``, whose head also fixes the inputs and their order.

    ``names`` is ``"v"`` (``v1, v2, ...``), ``"letters"`` (unused single letters,
    as the exercise sheet names them) or a list with one name per operation.

    >>> g = parse(r"\sqrt{a + b + c^3} + \log\left(\frac{a}{d}\right)")
    >>> g.evaluate(a=2, b=-7, c=4, d=1).value
    8.374292928428552
    """
    if len(text) > MAX_LENGTH:
        raise ParseError(
            f"the expression is too long ({len(text):,} characters; the limit is {MAX_LENGTH:,})",
            text[:200],
            1,
        )
    head = split_equation(text)
    # The right-hand side alone, at its own columns, so that errors point into the text.
    body = text if head is None else " " * head.body + text[head.body :]
    chosen = detect_syntax(body) if syntax == "auto" else syntax
    if chosen == "latex":
        parser = _Parser(body, lex_latex(body), _IMPLICIT_LATEX, head)
    else:
        parser = _Parser(body, lex_plain(body), _IMPLICIT_PLAIN, head)
    try:
        output = parser.parse()
    except ParseError as error:
        raise ParseError(error.message, text, error.column) from None
    if head is None:
        return parser.builder.build(output, names=names, source=text)
    return parser.builder.build(
        output, names=names, source=text, output_name=head.name,
        keep_inputs=head.inputs is not None, notes=_unused_notes(head, parser.builder),
    )


def _unused_notes(head: Head, builder: GraphBuilder) -> list[str]:
    used = builder.used_inputs()
    return [
        f"{name!r} is listed in {head.text} but not used: its gradient is 0"
        for name in head.inputs or ()
        if name not in used
    ]
