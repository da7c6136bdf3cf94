"""Expressions as text -> computational graphs, without ``eval``.

Two lexers turn text into one kind of token lists: the plain syntax (``(a - b*c)*d``,
``x**2``, ``4(x+y)``) and LaTeX as the exercise sheet writes it
(``\\sqrt{a + b + c^3} + \\log\\left(\\frac{a}{d}\\right)``, ``|a - b|`` for abs).
One shunting-yard parser then builds the graph as it reads, with explicit stacks
instead of recursion, so 5,000 nested parentheses or a sum of 100,000 terms are fine. Long
expressions are the reason for the lists (no object per token, columns found only
for an error) and for the parser's inner loop: over 200,000 nodes a second.

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
import string
from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from typing import Literal, NamedTuple

from chainrule.core.graph import Graph, GraphBuilder
from chainrule.core.ops import CONSTANTS, FUNCTIONS, INFIX, OPS, PREFIX, PREFIX_OPS, Op
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
_PLAIN_PATTERNS = {
    "num": r"(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?",
    "name": r"[A-Za-z_][A-Za-z0-9_]*",
    "op": _OPERATOR,
    "punct": r"[(),]",
    "bad": r"\S",
}
_PLAIN_TOKEN = re.compile(
    r"\s*(?:" + "|".join(f"(?P<{kind}>{p})" for kind, p in _PLAIN_PATTERNS.items()) + ")"
)
# The same tokens in one group: findall() then gives their texts without a match object
# each (one match object per token, read three times, was a third of a long parse).
_PLAIN_TEXT = re.compile(r"\s*(" + "|".join(f"(?:{p})" for p in _PLAIN_PATTERNS.values()) + ")")


# A token's kind, read from its text: the whole text for symbols and reserved names, else
# its first character; the regex itself decides the rest ('.5' against '.', non-ASCII digits).
_KIND_OF_TEXT: dict[str, str] = (
    dict.fromkeys({*INFIX, *PREFIX_OPS, "**"}, "op")
    | {punct: punct for punct in "(),"}
    | dict.fromkeys(FUNCTIONS, "func")
    | dict.fromkeys(CONSTANTS, "const")
)
_KIND_OF_FIRST_CHARACTER: dict[str, str] = dict.fromkeys(string.digits, "num") | dict.fromkeys(
    string.ascii_letters + "_", "name"
)


def _kind_by_regex(token_text: str) -> str:
    match = _PLAIN_TOKEN.fullmatch(token_text)
    assert match is not None and match.lastgroup is not None  # a token of _PLAIN_TEXT
    return token_text if match.lastgroup == "punct" else match.lastgroup


class _Tokens(ABC):
    """A lexed expression as parallel lists that the parser indexes: no object per token.

    ``kinds[i]`` is num name const func op ( ) , end, or ``bad`` where the lexer
    found an error; the parser raises that error when it reaches the token, as a
    lexer read one token at a time would (an earlier mistake is reported first).
    """

    def __init__(self, text: str, kinds: list[str], texts: list[str]) -> None:
        self.text = text
        self.kinds = kinds
        self.texts = texts
        self.bare: set[int] = set()  # LaTeX functions written without parentheses: \ln x

    @abstractmethod
    def column(self, index: int) -> int:
        """The 1-based column of token ``index`` in the text."""

    @abstractmethod
    def lexer_error(self, index: int) -> ParseError:
        """The error the lexer found at the ``bad`` token ``index``."""


class _PlainTokens(_Tokens):
    """The plain syntax's tokens; their columns are found again only when asked for."""

    def __init__(self, text: str) -> None:
        texts = _PLAIN_TEXT.findall(text)
        kinds = [
            _KIND_OF_TEXT.get(t) or _KIND_OF_FIRST_CHARACTER.get(t[0]) or _kind_by_regex(t)
            for t in texts
        ]
        if "**" in texts:
            texts = ["^" if t == "**" else t for t in texts]
        super().__init__(text, [*kinds, "end"], [*texts, ""])
        self._columns: list[int] | None = None

    def column(self, index: int) -> int:
        if self._columns is None:  # one more pass, only for an error message or lex_plain
            self._columns = [match.start(1) + 1 for match in _PLAIN_TEXT.finditer(self.text)]
            self._columns.append(len(self.text) + 1)
        return self._columns[index]

    def lexer_error(self, index: int) -> ParseError:
        message = f"unexpected character {self.texts[index]!r}"
        if self.texts[index] == "|":
            message += " (write abs(x); |x| is read in the LaTeX syntax)"
        return ParseError(message, self.text, self.column(index))


def lex_plain(text: str) -> Iterator[Token]:
    """Tokens of the plain syntax.

    >>> [t.text for t in lex_plain("2x**3")]
    ['2', 'x', '^', '3', '']
    """
    tokens = _PlainTokens(text)
    for index, (kind, token_text) in enumerate(zip(tokens.kinds, tokens.texts, strict=True)):
        if kind == "bad":
            raise tokens.lexer_error(index)
        yield Token(kind, token_text, tokens.column(index))


def _classify_name(text: str, column: int) -> Token:
    if text in FUNCTIONS:
        return Token("func", text, column)
    if text in CONSTANTS:
        return Token("const", text, column)
    return Token("name", text, column)


# \sqrt, \log, \max, ... are the registry's function names; two LaTeX names are aliases.
_LATEX_FUNCTIONS = {name: name for name in FUNCTIONS} | {"ln": "log", "sigma": "sigmoid"}
_LATEX_SPACING = {",", ";", "!", " ", ":", "quad", "qquad"}
_LATEX_TOKEN = re.compile(
    r"(?P<space>\s+)"
    r"|(?P<cmd>\\(?:[A-Za-z]+|.))"
    r"|(?P<num>\d+(?:\.\d+)?)"
    r"|(?P<letter>[A-Za-z](?:_(?:\{[A-Za-z0-9]+\}|[A-Za-z0-9]))?)"
    rf"|(?P<op>{_OPERATOR})"
    r"|(?P<punct>[()\[\],{}|])"
)

# After these a '|' closes an absolute value (|a|); anywhere else it opens one.
_ENDS_OPERAND = frozenset({"name", "num", "const", ")"})


class _LatexLexer:
    """LaTeX -> the plain token stream; a stack remembers what each ``{`` opened."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0
        self.braces: list[tuple[str, int]] = []  # (purpose, column of the '{')
        self.bars: list[tuple[int, int]] = []  # (column, depth inside) of each '|' still open
        self.depth = 0  # brackets open, those of '|' included
        self.last = ""  # kind of the token yielded last

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
            for token in self.convert(match):
                self.count_depth(token)
                yield token
        if self.braces:
            raise self.error("'{' is never closed", self.braces[-1][1])
        if self.bars:
            raise self.error("'|' is never closed", self.bars[-1][0])
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
        elif value == "|":
            closes = bool(self.bars) and self.last in _ENDS_OPERAND
            yield from self.bar(column, opens=not closes)
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

    def count_depth(self, token: Token) -> None:
        """Follow the brackets, so that a '|' and a ')' cannot close each other's."""
        if token.kind == ")" and token.text != "|" and self.bars and self.bars[-1][1] == self.depth:
            raise self.error(f"unmatched {token.text!r}: the '|' at column "
                             f"{self.bars[-1][0]} is still open", token.column)
        self.depth += {"(": 1, ")": -1}.get(token.kind, 0)
        self.last = token.kind

    def bar(self, column: int, opens: bool) -> Iterator[Token]:
        """``|x|`` (``\\left| x \\right|``, ``\\lvert x \\rvert``) is abs(x)."""
        if opens:
            self.bars.append((column, self.depth + 1))
            yield Token("func", "abs", column)
            yield Token("(", "|", column)
            return
        if not self.bars or self.bars[-1][1] != self.depth:
            raise self.error("unmatched '|'", column)
        self.bars.pop()
        yield Token(")", "|", column)

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
        elif name in ("lvert", "rvert"):
            yield from self.bar(column, opens=name == "lvert")
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
        if match is None or match.group() not in ("(", ")", "[", "]", ".", "|"):
            raise self.error(f"expected a delimiter such as '(' after \\{side}", column)
        if match.group() == "|":
            yield from self.bar(column, opens=side == "left")
        elif match.group() != ".":
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


class _LatexTokens(_Tokens):
    """The LaTeX lexer's tokens, collected; its error, if any, waits in a ``bad`` token."""

    def __init__(self, text: str) -> None:
        super().__init__(text, [], [])
        self._columns: list[int] = []
        self._error: ParseError | None = None
        try:
            for token in lex_latex(text):
                self._append(token.kind, token.text, token.column)
                if token.bare:
                    self.bare.add(len(self.kinds) - 1)
        except ParseError as error:
            self._error = error
            self._append("bad", "", error.column)

    def _append(self, kind: str, text: str, column: int) -> None:
        self.kinds.append(kind)
        self.texts.append(text)
        self._columns.append(column)

    def column(self, index: int) -> int:
        return self._columns[index]

    def lexer_error(self, index: int) -> ParseError:
        assert self._error is not None and index == len(self.kinds) - 1
        return self._error


# Bare LaTeX functions (\ln x) bind like a prefix operator: \ln x^2 is ln(x^2).
_BARE_FUNCTION = PREFIX
_OPERAND_ENDS = {"num", "name", "const"}  # tokens that are a whole operand by themselves
_STARTS_OPERAND = {"num", "name", "const", "func", "("}
_IMPLICIT_PLAIN = ({"num"}, _STARTS_OPERAND - {"num"})  # 2x, 4(x+y), 2 sqrt(x)
_IMPLICIT_LATEX = ({"num", "name", "const", ")"}, _STARTS_OPERAND)  # xyz, 4(...), (a)(b)
_IMPLIED_PRODUCT = INFIX["*"]

# An entry of the operator stack: (precedence, op, index of its token). A parenthesis
# is (_GROUP, None, i), a function call (_GROUP, its op, i): below every operator's
# precedence, so reducing stops there. Plain tuples: one is made per operator.
_Frame = tuple[int, Op | None, int]
_GROUP = 0
if min(op.precedence for op in OPS.values()) <= _GROUP:
    raise ValueError("every op's precedence must be above the parser's _GROUP")


class _Parser:
    """Shunting-yard over the token lists: operands and operators on explicit stacks."""

    def __init__(
        self, tokens: _Tokens, implicit: tuple[set[str], set[str]], head: Head | None = None
    ):
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

    def error(self, message: str, index: int) -> ParseError:
        """The error at token ``index``; a lexer's error found there comes first."""
        if self.tokens.kinds[index] == "bad":
            return self.tokens.lexer_error(index)
        return ParseError(message, self.tokens.text, self.tokens.column(index))

    def parse(self) -> int:
        kinds, texts = self.tokens.kinds, self.tokens.texts
        operands, builder = self.operands, self.builder
        implicit_after, implicit_before = self.implicit_after, self.implicit_before
        expect_operand = True
        index = 0
        # Variables and binary operators are nearly all of a long expression's tokens
        # (issue 11: 200k nodes a second): they are handled in this loop, the rest in
        # methods (a variable too when an equation's head must be checked first).
        while True:
            kind = kinds[index]
            if expect_operand:
                if kind == "name" and self.head is None:
                    operands.append(builder.input(texts[index]))
                    index += 1
                else:
                    index = self.operand(index)
                expect_operand = kind not in _OPERAND_ENDS
            elif kind == "op":
                self.binary(INFIX[texts[index]], index)
                expect_operand = True
                index += 1
            elif kind in implicit_before and kinds[index - 1] in implicit_after:
                # 2x: the '*' was left out; the same token is read next as an operand.
                self.binary(_IMPLIED_PRODUCT, index)
                expect_operand = True
            elif kind == "end":
                return self.finish()
            else:
                expect_operand = self.operator(index)
                index += 1

    def operand(self, index: int) -> int:
        """Handle a token where an operand must start; return the next token's index."""
        kind, text = self.tokens.kinds[index], self.tokens.texts[index]
        if kind == "num":
            value = float(text)
            if not math.isfinite(value):
                raise self.error(f"the number {text} is too large", index)
            self.operands.append(self.builder.constant(value))
        elif kind == "const":
            self.operands.append(self.builder.constant(CONSTANTS[text], text))
        elif kind == "name":
            self.check_declared(index)
            self.operands.append(self.builder.input(text))
        elif kind == "func":
            return self.open_function(index)
        elif kind == "(":
            self.stack.append((_GROUP, None, index))
        elif kind == "op" and text in PREFIX_OPS:
            op = PREFIX_OPS[text]
            self.stack.append((op.precedence, op, index))
        elif kind != "op" or text != "+":  # a unary plus changes nothing
            raise self.error(self.expected_operand(index), index)
        return index + 1

    def expected_operand(self, index: int) -> str:
        if self.tokens.kinds[index] == "end":
            return "unexpected end of the expression" if index else "the expression is empty"
        return f"expected a number, a variable or '(' but found {self.tokens.texts[index]!r}"

    def check_declared(self, index: int) -> None:
        head, name = self.head, self.tokens.texts[index]
        if head is None:
            return
        if name == head.name:
            raise self.error(f"{name!r} names the output and cannot also be an input", index)
        if head.inputs is not None and name not in head.inputs:
            raise self.error(f"{name!r} is used but not listed in {head.text}", index)

    def open_function(self, index: int) -> int:
        """Push a call (or a bare LaTeX function); return the index after its '('."""
        name = self.tokens.texts[index]
        if index in self.tokens.bare:
            if OPS[name].arity != 1:
                raise self.error(f"expected '(' after {name}", index)
            self.stack.append((_BARE_FUNCTION, OPS[name], index))
            return index + 1
        if self.tokens.kinds[index + 1] != "(":
            raise self.error(f"expected '(' after {name}", index + 1)
        self.stack.append((_GROUP, OPS[name], index))
        self.arg_counts.append(1)
        return index + 2

    def operator(self, index: int) -> bool:
        """Handle ')' or ',' after a complete operand; return whether an operand must follow."""
        kind = self.tokens.kinds[index]
        if kind == ")":
            self.close_paren(index)
            return False
        if kind == ",":
            self.pop_until_paren(index, "',' outside a function call")
            if self.stack[-1][1] is None:
                raise self.error("',' outside a function call", index)
            self.arg_counts[-1] += 1
            return True
        raise self.error(f"expected an operator before {self.describe(index)}", index)

    def describe(self, index: int) -> str:
        if self.tokens.kinds[index] == "end":
            return "the end of the expression"
        return repr(self.tokens.texts[index])

    def binary(self, op: Op, index: int) -> None:
        precedence, right_assoc = op.precedence, op.grouping == "right"
        stack = self.stack
        while stack:
            top = stack[-1][0]
            if top < precedence or (right_assoc and top == precedence):
                break  # a parenthesis or call (_GROUP) always stops here
            self.reduce(stack.pop()[1])
        stack.append((precedence, op, index))

    def pop_until_paren(self, index: int, message: str) -> None:
        stack = self.stack
        while stack and stack[-1][0] != _GROUP:
            self.reduce(stack.pop()[1])
        if not stack:
            raise self.error(message, index)

    def close_paren(self, index: int) -> None:
        self.pop_until_paren(index, f"unmatched {self.tokens.texts[index]!r}")
        _, op, opened_at = self.stack.pop()
        if op is not None:  # a function call
            count = self.arg_counts.pop()
            if count != op.arity:
                plural = "argument" if op.arity == 1 else "arguments"
                raise self.error(f"{op.name} takes {op.arity} {plural}, got {count}", opened_at)
            self.reduce(op)

    def reduce(self, op: Op | None) -> None:
        assert op is not None  # parentheses are never reduced
        operands = self.operands
        if op.arity == 2:  # the common case, without slicing
            right = operands.pop()
            operands[-1] = self.builder.apply(op, operands[-1], right)
            return
        args = operands[-op.arity :]
        del operands[-op.arity :]
        operands.append(self.builder.apply(op, *args))

    def finish(self) -> int:
        while self.stack:
            precedence, op, opened_at = self.stack.pop()
            if precedence == _GROUP:  # a parenthesis or call
                raise self.error("'(' is never closed", opened_at)
            self.reduce(op)
        return self.operands[-1]


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
        parser = _Parser(_LatexTokens(body), _IMPLICIT_LATEX, head)
    else:
        parser = _Parser(_PlainTokens(body), _IMPLICIT_PLAIN, head)
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
