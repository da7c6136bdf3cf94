"""The expression language: plain and LaTeX syntax, precedence, errors, fuzzing."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chainrule import ParseError, parse
from chainrule.core.ops import CONSTANTS, FUNCTIONS
from chainrule.core.parser import _PLAIN_TOKEN, lex_plain


def value(text: str, **values: float) -> float:
    result: float = parse(text).evaluate(values).value
    return result


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2^3^2", 512.0),  # right-associative
        ("2**3**2", 512.0),
        ("-2^2", -4.0),  # ^ binds tighter than unary minus
        ("-2*3", -6.0),
        ("2^-1", 0.5),
        ("1 - 2 - 3", -4.0),  # left-associative
        ("12 / 3 / 2", 2.0),
        ("4(1+2)", 12.0),  # implicit multiplication after a number
        ("2pi", 2 * math.pi),
        ("1e-3 * 1000", 1.0),
        (".5 + 0.25", 0.75),
        ("e", math.e),
        ("log(e)", 1.0),
        ("max(2, 3) + min(2, 3)", 5.0),
        ("abs(-3) + relu(-1) + relu(2)", 5.0),
        ("sigmoid(0) + tanh(0) + sin(0) + cos(0)", 1.5),
        ("sqrt(16) + exp(0)", 5.0),
        ("+3", 3.0),
        ("2 * -3", -6.0),
    ],
)
def test_plain_syntax_values(text: str, expected: float) -> None:
    assert value(text) == pytest.approx(expected, rel=1e-15)


def test_implicit_product_with_variables() -> None:
    assert value("2x^2", x=3.0) == 18.0
    assert str(parse("2x")) == "v1 = 2 * x"


@pytest.mark.parametrize(
    ("latex", "plain"),
    [
        (r"(a - (b \cdot c)) \cdot d", "(a - (b*c))*d"),
        (r"\sqrt{a + b + c^3} + \log\left(\frac{a}{d}\right)", "sqrt(a + b + c^3) + log(a/d)"),
        (r"d - \exp^{(a+b) \cdot c}", "d - exp((a+b)*c)"),
        (r"4(abc + \max(c, d))", "4*(a*b*c + max(c, d))"),
        (r"\frac{a}{b} \times c", "a/b*c"),
        (r"\sigma(a) + \tanh(b) + \ln(c)", "sigmoid(a) + tanh(b) + log(c)"),
        (r"\ln a^2", "log(a^2)"),
        (r"c^34", "c^3*4"),
        (r"a^{b+c}", "a^(b+c)"),
        (r"w_1 w_{2}", "w_1*w_2"),
        (r"\pi a", "pi*a"),
        (r"\operatorname{relu}(a - c)", "relu(a - c)"),
        (r"\left[a + b\right] c", "(a + b)*c"),
        (r"|a - b| + c", "abs(a - b) + c"),
        (r"\left|\frac{a}{d}\right| c", "abs(a/d)*c"),
        (r"2|a||b|", "2*abs(a)*abs(b)"),
        (r"|a - |b - c||", "abs(a - abs(b - c))"),
        (r"\lvert a \rvert^2 + \sqrt{|b|}", "abs(a)^2 + sqrt(abs(b))"),
    ],
)
def test_latex_matches_plain(latex: str, plain: str) -> None:
    point = {"a": 2.0, "b": -7.0, "c": 4.0, "d": 1.5, "w_1": 0.5, "w_2": 3.0}
    ours, theirs = parse(latex, syntax="latex"), parse(plain, syntax="plain")
    assert ours.inputs == theirs.inputs
    values = {name: point[name] for name in ours.inputs}
    assert ours.evaluate(values).value == theirs.evaluate(values).value


def test_sheet_example_structure_with_letters() -> None:
    graph = parse(r"4(xyz + \max(z, w))", names="letters")
    assert str(graph) == "a = x * y\nb = a * z\nc = max(z, w)\nd = b + c\ne = 4 * d"


@pytest.mark.parametrize(
    ("text", "message", "column"),
    [
        ("(a+b))", "unmatched ')'", 6),
        ("(a+b", "'(' is never closed", 1),
        ("a +", "unexpected end of the expression", 4),
        ("", "the expression is empty", 1),
        ("a $ b", "unexpected character '$'", 3),
        ("a b", "expected an operator before 'b'", 3),
        ("sqrt 4", "expected '(' after sqrt", 6),
        ("max(1)", "max takes 2 arguments, got 1", 1),
        ("sqrt(1, 2)", "sqrt takes 1 argument, got 2", 1),
        ("a, b", "',' outside a function call", 2),
        ("2 * * 3", "expected a number, a variable or '(' but found '*'", 5),
        ("1e999", "the number 1e999 is too large", 1),
        (r"\foo{a}", r"unknown LaTeX command \foo", 1),
        (r"\frac{a}", r"expected '{' after \frac{...}", 9),
        (r"\sqrt{a", "'{' is never closed", 6),
        (r"\pi a}", "unmatched '}'", 6),
        (r"\max a", "expected '(' after max", 1),
        (r"\sqrt{|a}", "unmatched '}': the '|' at column 7 is still open", 9),
        (r"(|a)| \cdot 2", "unmatched ')': the '|' at column 2 is still open", 4),
        (r"|(a|) \cdot 2", "unmatched '|'", 4),
        (r"\left|a", "'|' is never closed", 1),
        ("|a-b|", "unexpected character '|' (write abs(x); |x| is read in the LaTeX syntax)", 1),
    ],
)
def test_errors_say_what_and_where(text: str, message: str, column: int) -> None:
    with pytest.raises(ParseError) as caught:
        parse(text)
    assert caught.value.message == message
    assert caught.value.column == column
    rendered = caught.value.render().splitlines()
    assert rendered[0] == f"error: {message} at column {column}"
    assert rendered[2].index("^") - 2 == column - 1  # caret under the spot


def test_deep_nesting_parses_without_recursion() -> None:
    depth = 5000
    assert value("(" * depth + "a" + ")" * depth, a=2.0) == 2.0
    assert value("-" * depth + "a", a=2.0) == 2.0
    assert value("sqrt(" * 200 + "a" + ")" * 200, a=1.0) == 1.0


def test_huge_sum_parses() -> None:
    text = " + ".join(f"x{i}" for i in range(20_000))
    graph = parse(text)
    assert len(graph.equations) == 19_999
    assert graph.evaluate({f"x{i}": 1.0 for i in range(20_000)}).value == 20_000.0


def test_too_long_input_is_refused() -> None:
    with pytest.raises(ParseError, match="too long"):
        parse("a+" * 1_000_001 + "a")


def test_a_variable_used_twice_is_one_node() -> None:
    graph = parse("x*x*x")
    assert graph.inputs == ["x"]
    assert graph.evaluate(x=2.0).gradients == {"x": 12.0}


PLAIN_ALPHABET = st.sampled_from(
    [*"abcxyz0123456789.+-*/^(), e", "**", "pi", *FUNCTIONS, " ", "1e5", "\t"]
)
LATEX_ALPHABET = st.sampled_from(
    [*"abxyz0123456789.+-*/^()[]{},_| ", r"\frac", r"\sqrt", r"\cdot", r"\left(", r"\right)",
     r"\exp", r"\log", r"\max", r"\sigma", r"\pi", r"\ln", r"\foo", r"\left", "\\"]
)


@settings(max_examples=400, deadline=None)
@given(st.lists(PLAIN_ALPHABET, max_size=30).map("".join))
def test_plain_fuzz_parses_or_raises_parse_error(text: str) -> None:
    try:
        graph = parse(text, syntax="plain")
    except ParseError as error:
        assert 1 <= error.column <= len(text) + 1
    else:
        assert graph.nodes


@settings(max_examples=400, deadline=None)
@given(st.lists(LATEX_ALPHABET, max_size=30).map("".join))
def test_latex_fuzz_parses_or_raises_parse_error(text: str) -> None:
    try:
        graph = parse(text, syntax="latex")
    except ParseError as error:
        assert 1 <= error.column <= len(text) + 1
    else:
        assert graph.nodes


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=40))
def test_any_unicode_text_parses_or_raises_parse_error(text: str) -> None:
    try:
        parse(text)
    except ParseError as error:
        assert "\n" not in str(error)


# ------------------------------------------------- the sheet's equations, copied whole


@pytest.mark.parametrize(
    ("text", "name", "inputs"),
    [
        (r"\mathcal{B} = \sqrt{a + b + c^3} + \log\left(\frac{a}{d}\right)", "B",
         ["a", "b", "c", "d"]),
        (r"\mathcal{A} = (a - (b \cdot c)) \cdot d", "A", ["a", "b", "c", "d"]),
        ("A = (a - b*c)*d", "A", ["a", "b", "c", "d"]),
        (r"f(w, x, y, z) = 4(xyz + \max(z, w))", "f", ["w", "x", "y", "z"]),
        ("g(y, x) = x - y", "g", ["y", "x"]),
    ],
)
def test_an_equation_names_the_output_and_its_head_fixes_the_inputs(
    text: str, name: str, inputs: list[str]
) -> None:
    graph = parse(text)
    assert graph.nodes[graph.output].name == name
    assert graph.inputs == inputs
    assert str(graph).splitlines()[-1].startswith(f"{name} = ")
    body = text.split("=", 1)[1]
    values = {v: 1.0 + i for i, v in enumerate(inputs)}
    assert graph.evaluate(values).value == parse(body).evaluate(values).value


def test_an_input_listed_but_unused_is_kept_with_a_note_and_gradient_zero() -> None:
    graph = parse("f(w, x) = x*x")
    assert graph.inputs == ["w", "x"]
    result = graph.evaluate(w=5.0, x=3.0)
    assert result.gradients == {"w": 0.0, "x": 6.0}
    assert result.warnings == ["'w' is listed in f(w, x) but not used: its gradient is 0"]


@pytest.mark.parametrize(
    ("text", "message", "column"),
    [
        ("f(x) = x*y", "'y' is used but not listed in f(x)", 10),
        ("A = A*2", "'A' names the output and cannot also be an input", 5),
        ("A = b = c", "only one '=' may stand in an equation", 7),
        ("= a", "nothing before '='", 1),
        ("3 = a", "the left-hand side must be a name", 1),
        ("sin = a", "'sin' is a function or constant", 1),
        ("f(x, x) = x", "a variable is listed twice", 1),
        ("A = (a+", "unexpected end of the expression", 8),
    ],
)
def test_equation_errors_point_into_the_whole_text(text: str, message: str, column: int) -> None:
    with pytest.raises(ParseError) as caught:
        parse(text)
    assert caught.value.message.startswith(message)
    assert caught.value.column == column and caught.value.text == text


# ------------------------------------------------- long expressions (issue 11's fast path)


def test_a_sum_of_50000_products_is_200k_nodes_in_order() -> None:
    graph = parse(" + ".join(f"x{i}*y{i}" for i in range(50_000)))
    assert len(graph.nodes) == 199_999
    assert graph.inputs[:4] == ["x0", "y0", "x1", "y1"] and len(graph.inputs) == 100_000
    equations = str(graph).splitlines()
    assert equations[:4] == ["v1 = x0 * y0", "v2 = x1 * y1", "v3 = v1 + v2", "v4 = x2 * y2"]
    assert equations[-1] == "v99999 = v99997 + v99998"
    assert graph.evaluate({name: 1.0 for name in graph.inputs}).value == 50_000.0


@pytest.mark.parametrize(
    ("text", "message", "column"),
    [
        # the first mistake from the left wins, as when tokens were read one at a time
        ("a + ) $", "expected a number, a variable or '(' but found ')'", 5),
        ("a $ ) b", "unexpected character '$'", 3),
        ("sqrt $", "unexpected character '$'", 6),
        (r"a b) \foo", "unmatched ')'", 4),
        (r"(a \foo", r"unknown LaTeX command \foo", 4),
        (r"\sqrt{a", "'{' is never closed", 6),
        # columns found only for the error still point at the spot, far into the text
        ("a + " * 20_000 + "* b", "expected a number, a variable or '(' but found '*'", 80_001),
        ("a+" * 30_000 + "a $", "unexpected character '$'", 60_003),
    ],
)
def test_errors_name_the_first_mistake_at_its_column(text: str, message: str, column: int) -> None:
    with pytest.raises(ParseError) as caught:
        parse(text)
    assert (caught.value.message, caught.value.column) == (message, column)


def _tokens_one_match_at_a_time(text: str) -> list[tuple[str, str, int]]:
    """The plain lexer as it was before issue 11: one regex match object per token."""
    tokens = []
    for match in _PLAIN_TOKEN.finditer(text):
        kind = match.lastgroup
        if kind is None:
            break
        token, column = match.group(kind), match.start(kind) + 1
        if kind == "bad":
            raise ParseError(f"unexpected character {token!r}", text, column)
        if kind == "name":
            kind = "func" if token in FUNCTIONS else "const" if token in CONSTANTS else "name"
        kind = token if kind == "punct" else kind
        tokens.append((kind, "^" if token == "**" else token, column))
    return [*tokens, ("end", "", len(text) + 1)]


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.lists(PLAIN_ALPHABET, max_size=30).map("".join), st.text(max_size=30)))
def test_the_kinds_read_from_token_texts_agree_with_the_token_regex(text: str) -> None:
    try:
        expected = _tokens_one_match_at_a_time(text)
    except ParseError as error:
        with pytest.raises(ParseError) as caught:
            list(lex_plain(text))
        assert (caught.value.message, caught.value.column) == (error.message, error.column)
    else:
        assert [(t.kind, t.text, t.column) for t in lex_plain(text)] == expected
