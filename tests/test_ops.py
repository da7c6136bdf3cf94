"""The op registry: what an Op says about itself is what the parser, views and evaluator do."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from chainrule import OPS, GraphBuilder, Op, parse
from chainrule.core.ops import FUNCTIONS, INFIX, PREFIX_OPS
from chainrule.show.explain import explain
from chainrule.show.picture import picture
from chainrule.verify.threeway import finite_difference, torch_gradients
from expression_strategies import expressions as registry_expressions
from expression_strategies import written


def expressions() -> st.SearchStrategy[str]:
    return registry_expressions(["x", "y", "2", "0.5"], max_leaves=5)


@settings(max_examples=200, deadline=None)
@given(text=expressions())
@example(text="x - (y - 2)")
@example(text="x / (y * 2)")
@example(text="(x ^ y) ^ 2")
@example(text="(-x) ^ 2")
@example(text="-(x + y) * 2")
def test_the_pictures_formula_parses_back_to_the_same_graph(text: str) -> None:
    # The picture's title drops every parenthesis that the ops' precedence and grouping
    # make unnecessary; read back by the parser, it must compute the same function
    # (x + (x + y) comes back as (x + x) + y: the same value up to rounding).
    graph = parse(text)
    title = picture(graph).title
    formula = title.partition(" = ")[2] if graph.nodes[graph.output].op else title
    again = parse(formula.replace("−", "-").replace("·", "*"))
    assert sorted(again.inputs) == sorted(graph.inputs)
    for point in ({"x": 0.7, "y": 1.3}, {"x": -1.9, "y": 0.4}):
        values = {name: point[name] for name in graph.inputs}
        ours, theirs = (g.evaluate(values, allow_nan=True).value for g in (graph, again))
        same = math.isclose(ours, theirs, rel_tol=1e-12, abs_tol=1e-12)
        assert same or (math.isnan(ours) and math.isnan(theirs)), (text, formula, ours, theirs)


def test_every_op_is_reachable_from_the_syntax_by_its_form() -> None:
    assert set(FUNCTIONS.values()) | set(INFIX.values()) | set(PREFIX_OPS.values()) == set(
        OPS.values()
    )
    for op in OPS.values():
        args = ["x", "y", "z"][: op.arity]
        graph = parse(written(op, args))
        assert graph.nodes[graph.output].op is op


@pytest.mark.parametrize(
    ("text", "equations"),
    [
        ("a - b - c", ["v1 = a - b", "v2 = v1 - c"]),
        ("a ^ b ^ c", ["v1 = b ^ c", "v2 = a ^ v1"]),
        ("-a ^ 2", ["v1 = a ^ 2", "v2 = -v1"]),
        ("-a * b", ["v1 = -a", "v2 = v1 * b"]),
    ],
)
def test_grouping_and_precedence_come_from_the_op(text: str, equations: list[str]) -> None:
    assert str(parse(text)).splitlines() == equations


def test_an_op_checks_its_form_against_its_arity() -> None:
    with pytest.raises(ValueError, match="infix op cannot take 3 arguments"):
        Op("clip", 3, lambda m, x, y, z: x, (1.0, 0.0, 0.0), "?", "{0}", form="infix")
    with pytest.raises(ValueError, match="as many derivatives"):
        Op("twice", 1, lambda m, x: 2 * x, (2.0, 2.0), "twice", "{0}")


# An op of three arguments, x*y + z, which no registry entry has: the evaluator,
# the views and the torch check must handle it like any other.
MULADD = Op(
    "muladd",
    3,
    lambda m, x, y, z: x * y + z,
    (lambda m, o, x, y, z: y, lambda m, o, x, y, z: x, 1.0),
    "muladd",
    r"\operatorname{{muladd}}\left({0}, {1}, {2}\right)",
)


def _muladd_graph():  # type: ignore[no-untyped-def]
    builder = GraphBuilder()
    x, y, z = (builder.input(name) for name in "xyz")
    product = builder.apply(MULADD, x, y, builder.apply("sin", z))
    return builder.build(builder.apply(MULADD, product, builder.constant(3.0), x))


def test_an_op_of_three_arguments_evaluates_and_differentiates() -> None:
    graph = _muladd_graph()
    point = {"x": 0.5, "y": -2.0, "z": 0.25}
    result = graph.evaluate(point)
    inner = 0.5 * -2.0 + math.sin(0.25)
    assert result.value == pytest.approx(3 * inner + 0.5, rel=1e-15)
    assert result.gradients == pytest.approx(
        {"x": 3 * -2.0 + 1, "y": 3 * 0.5, "z": 3 * math.cos(0.25)}, rel=1e-15
    )
    assert torch_gradients(graph, point)[1] == pytest.approx(result.gradients, rel=1e-14)
    numeric = finite_difference(graph, point)
    assert numeric == pytest.approx(result.gradients, rel=1e-7)
    assert "v2 = muladd(x, y, v1)" in str(graph)


def test_an_op_of_three_arguments_on_arrays_and_in_the_views() -> None:
    graph = _muladd_graph()
    x, y, z = np.array([0.5, 1.0]), np.array([-2.0, 3.0]), np.array([0.25, 0.0])
    for keep in (True, False):
        result = graph.evaluate(x=x, y=y, z=z, keep_intermediates=keep)
        np.testing.assert_allclose(result.value, 3 * (x * y + np.sin(z)) + x)
        np.testing.assert_allclose(result.gradients["z"], 3 * np.cos(z))
    text = explain(graph.evaluate(x=0.5, y=-2.0, z=0.25))
    assert "v2 = muladd(x, y, v1) = muladd(0.5, −2, 0.247404) = −0.752596" in text
