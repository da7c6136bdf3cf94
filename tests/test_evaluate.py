"""Forward and backward passes: the sheet's numbers exactly, domains, kinks, arrays."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chainrule import EvaluationError, GraphBuilder, parse

SHEET = {"a": 2.0, "b": -7.0, "c": 4.0, "d": 1.0}
A = r"(a - (b \cdot c)) \cdot d"
B = r"\sqrt{a + b + c^3} + \log\left(\frac{a}{d}\right)"
C = r"d - \exp^{(a+b) \cdot c}"
EXAMPLE = r"4(xyz + \max(z, w))"


def test_expression_a_exactly() -> None:
    result = parse(A).evaluate(SHEET)
    assert [(s.name, s.expr, s.value, s.grad) for s in result.steps] == [
        ("v1", "b * c", -28.0, -1.0),
        ("v2", "a - v1", 30.0, 1.0),
        ("v3", "v2 * d", 30.0, 1.0),
    ]
    assert result.gradients == {"a": 1.0, "b": -4.0, "c": 7.0, "d": 30.0}


def test_expression_b_exactly() -> None:
    result = parse(B).evaluate(SHEET)
    root = math.sqrt(59.0)
    assert result.value == root + math.log(2.0)
    assert result.gradients == {
        "a": 0.5 + 0.5 / root,
        "b": 0.5 / root,
        "c": 3.0 * 16.0 * (0.5 / root),
        "d": -2.0 * 0.5,
    }
    assert [s.value for s in result.steps] == [-5.0, 64.0, 59.0, root, 2.0, math.log(2.0),
                                               root + math.log(2.0)]


def test_expression_c_exactly() -> None:
    result = parse(C).evaluate(SHEET)
    tiny = math.exp(-20.0)
    assert result.value == 1.0 - tiny
    assert result.gradients == {"d": 1.0, "a": -tiny * 4.0, "b": -tiny * 4.0, "c": -tiny * -5.0}


def test_sheet_example_exactly() -> None:
    result = parse(EXAMPLE, names="letters").evaluate(x=-2.0, y=5.0, z=-4.0, w=2.0)
    assert result.value == 4 * (40 + 2)
    assert result.gradients == {"x": -80.0, "y": 32.0, "z": -40.0, "w": 4.0}
    assert [s.value for s in result.steps] == [-10.0, 40.0, 2.0, 42.0, 168.0]
    assert result.warnings == []


def test_every_node_gets_its_gradient() -> None:
    result = parse(B).evaluate(SHEET)
    for step in result.steps:
        assert result.grad_of(step.name) == step.grad
    assert result.grad_of("v7") == 1.0


def test_backward_is_idempotent() -> None:
    result = parse("x*x*x + sin(x)").evaluate(x=0.7)
    first = list(result.grads or [])
    assert result.backward() == first
    assert result.backward() == first
    assert parse("x*x*x + sin(x)").evaluate(x=0.7).grads == first


@pytest.mark.parametrize(
    ("text", "values", "message"),
    [
        ("log(a - 3)", {"a": 2.75},
         "v2 = log(v1): argument -0.25 is outside log's domain (0, inf)"),
        ("sqrt(a)", {"a": -1.0}, "v1 = sqrt(a): argument -1 is outside sqrt's domain [0, inf)"),
        ("a / (b - b)", {"a": 1.0, "b": 2.0},
         "v2 = a / v1: divisor 0 is outside /'s domain (-inf, 0) U (0, inf)"),
        ("a ^ 0.5", {"a": -4.0},
         "v1 = a ^ 0.5: negative base -4 needs an integer exponent, got 0.5"),
        ("exp(a)", {"a": 1000.0}, "v1 = exp(a): the result overflows float64 (arguments 1000)"),
        ("a * a * a", {"a": 1e200}, "v1 = a * a: the result overflows float64"),
        ("sqrt(a)", {"a": 0.0}, "v1 = sqrt(a): the derivative by a is not finite at (0)"),
    ],
)
def test_domain_errors_name_the_node(text: str, values: dict[str, float], message: str) -> None:
    with pytest.raises(EvaluationError) as caught:
        parse(text).evaluate(values)
    assert str(caught.value).startswith(message)


def test_allow_nan_gives_ieee_results_with_a_warning() -> None:
    result = parse("log(a) + 1").evaluate(a=-1.0, allow_nan=True)
    assert math.isnan(result.value)
    assert result.warnings == ["v1 = log(a): argument -1 is outside log's domain (0, inf)"]
    assert math.isinf(parse("exp(a)").evaluate(a=1000.0, allow_nan=True).value)


def test_results_are_never_complex() -> None:
    result = parse("a ^ (1/3)").evaluate(a=-8.0, allow_nan=True)
    assert isinstance(result.value, float) and math.isnan(result.value)


@pytest.mark.parametrize(
    ("text", "values", "gradients", "warning"),
    [
        ("max(x, y)", {"x": 1.0, "y": 1.0}, {"x": 0.5, "y": 0.5},
         "v1 = max(x, y): max tie: the gradient is split 0.5/0.5"),
        ("min(x, y)", {"x": 2.0, "y": 2.0}, {"x": 0.5, "y": 0.5},
         "v1 = min(x, y): min tie: the gradient is split 0.5/0.5"),
        ("relu(x)", {"x": 0.0}, {"x": 0.0}, "v1 = relu(x): relu'(0) is taken as 0"),
        ("abs(x)", {"x": 0.0}, {"x": 0.0}, "v1 = abs(x): abs'(0) is taken as 0"),
    ],
)
def test_kinks_follow_conventions_and_warn(
    text: str, values: dict[str, float], gradients: dict[str, float], warning: str
) -> None:
    result = parse(text).evaluate(values)
    assert result.gradients == gradients
    assert result.warnings == [warning]


def test_missing_and_extra_values() -> None:
    with pytest.raises(EvaluationError, match="no value given for the variable 'd'"):
        parse(A).evaluate(a=1, b=2, c=3)
    result = parse("a + b").evaluate(a=1, b=2, q=3)
    assert result.warnings == ["a value was given for 'q', which the expression does not use"]
    with pytest.raises(EvaluationError, match="not a number"):
        parse("a").evaluate(a="two")
    with pytest.raises(EvaluationError, match="not finite"):
        parse("a").evaluate(a=math.inf)


def test_deep_chain_has_no_recursion_limit() -> None:
    builder = GraphBuilder()
    node = builder.input("x")
    for _ in range(100_000):
        node = builder.apply("sin", node)
    result = builder.build(node).evaluate(x=0.5)
    assert 0 < result.gradients["x"] < 1


POINTS = st.floats(min_value=-3, max_value=3, allow_nan=False)


@settings(max_examples=50, deadline=None)
@given(st.lists(st.tuples(POINTS, POINTS, POINTS, POINTS), min_size=1, max_size=20))
def test_arrays_match_point_by_point(points: list[tuple[float, ...]]) -> None:
    graph = parse("sigmoid(a*b) + max(c, d)^2 - tanh(a - d) * cos(b)")
    columns = {name: np.array([p[i] for p in points]) for i, name in enumerate("abcd")}
    together = graph.evaluate(columns, allow_nan=True)
    lean = graph.evaluate(columns, keep_intermediates=False, allow_nan=True)
    for i, point in enumerate(points):
        alone = graph.evaluate(dict(zip("abcd", point, strict=True)))
        assert together.value[i] == pytest.approx(alone.value, rel=1e-12, abs=1e-12)
        for name in "abcd":
            expected = pytest.approx(alone.gradients[name], rel=1e-12, abs=1e-12)
            assert together.gradients[name][i] == expected
            assert lean.gradients[name][i] == expected


def test_arrays_broadcast_and_span_many_chunks() -> None:
    x = np.linspace(0.1, 2.0, 100_001)
    result = parse("log(x) * y").evaluate(x=x, y=np.array(3.0), keep_intermediates=False)
    assert result.value.shape == x.shape
    np.testing.assert_allclose(result.gradients["x"], 3.0 / x, rtol=1e-15)
    np.testing.assert_allclose(result.gradients["y"], np.log(x), rtol=1e-15)


def test_array_domain_error_names_node_and_point() -> None:
    with pytest.raises(EvaluationError, match=r"v1 = log\(x\): argument -1 .* at point 2"):
        parse("log(x)").evaluate(x=np.array([1.0, 2.0, -1.0]), keep_intermediates=False)


@pytest.mark.parametrize("keep", [True, False])
def test_non_finite_array_inputs_are_refused_or_computed_in_ieee(keep: bool) -> None:
    x = np.array([1.0, 2.0, np.inf, 4.0])
    with pytest.raises(EvaluationError, match=r"the value of 'x' is not finite at point 2: inf"):
        parse("sigmoid(x) * y").evaluate(x=x, y=np.ones(4), keep_intermediates=keep)
    result = parse("sigmoid(x) * y").evaluate(
        x=x, y=np.ones(4), keep_intermediates=keep, allow_nan=True
    )
    s4 = 1.0 / (1.0 + math.exp(-4.0))
    np.testing.assert_allclose(result.gradients["x"][2:], [0.0, s4 * (1.0 - s4)], rtol=1e-15)


@pytest.mark.parametrize("keep", [True, False])
def test_a_derivative_undefined_without_a_floating_point_flag_is_reported(keep: bool) -> None:
    # d x^y / dy = x^y log(x) is nan at x < 0 although x^y itself is fine for integer y.
    given = {"x": np.array([2.0, -2.0]), "y": np.array([3.0, 3.0])}
    with pytest.raises(EvaluationError, match=r"v1 = x \^ y: the derivative by y is not finite"):
        parse("x^y").evaluate(given, keep_intermediates=keep)


def test_huge_finite_inputs_take_the_exact_path() -> None:
    # x . x overflows for |x| > 1e154: the cheap gate says "maybe not finite", the exact
    # check finds nothing, and the lean evaluation falls back to the full one.
    x = np.array([1e200, 2.0])
    result = parse("log(x)").evaluate(x=x, keep_intermediates=False)
    np.testing.assert_allclose(result.value, np.log(x), rtol=1e-15)
    np.testing.assert_allclose(result.gradients["x"], 1.0 / x, rtol=1e-15)
    assert result.warnings == []


def test_array_kinks_are_counted() -> None:
    result = parse("relu(x)").evaluate(x=np.array([-1.0, 0.0, 0.0, 2.0]))
    assert result.warnings == ["v1 = relu(x): relu'(0) is taken as 0 at 2 points"]
    np.testing.assert_array_equal(result.gradients["x"], [0.0, 0.0, 0.0, 1.0])


def test_an_overflow_hidden_from_the_output_is_still_reported() -> None:
    with pytest.raises(EvaluationError, match=r"v1 = w \* x: the result overflows float64"):
        parse("sigmoid(w*x)").evaluate(w=1000.0, x=1e308)
    result = parse("sigmoid(w*x)").evaluate(w=1000.0, x=1e308, allow_nan=True)
    assert result.value == 1.0 and len(result.warnings) == 1
