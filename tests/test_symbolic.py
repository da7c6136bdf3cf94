"""Symbolic gradients: built from the graph, exact constants, agreement with the engine."""

from __future__ import annotations

import math
from dataclasses import dataclass

import pytest
import sympy
from hypothesis import given, settings
from hypothesis import strategies as st

from chainrule import OPS, ChainruleError, Graph, GraphBuilder, parse
from chainrule.core.backends import ScalarMath
from chainrule.verify.symbolic import evaluate, symbolic_gradients, to_sympy
from chainrule.verify.threeway import error

a, b, c, d = sympy.symbols("a b c d", real=True)


def test_the_sheets_expressions() -> None:
    A = parse(r"(a - (b \cdot c)) \cdot d")
    B = parse(r"\sqrt{a + b + c^3} + \log\left(\frac{a}{d}\right)")
    C = parse(r"d - \exp^{(a+b) \cdot c}")
    assert to_sympy(A) == d * (a - b * c)
    assert to_sympy(B) == sympy.sqrt(a + b + c**3) + sympy.log(a / d)
    assert to_sympy(C) == d - sympy.exp((a + b) * c)
    assert symbolic_gradients(C) == {
        "a": -c * sympy.exp(c * (a + b)),
        "b": -c * sympy.exp(c * (a + b)),
        "c": -(a + b) * sympy.exp(c * (a + b)),
        "d": 1,
    }
    assert symbolic_gradients(B)["c"] == 3 * c**2 / (2 * sympy.sqrt(a + b + c**3))


def test_constants_are_exact() -> None:
    x = sympy.Symbol("x", real=True)
    assert (
        to_sympy(parse("0.1*x + 4 + pi + e")) == sympy.Rational(1, 10) * x + 4 + sympy.pi + sympy.E
    )
    assert to_sympy(parse("x^0.5")) == sympy.sqrt(x)
    assert to_sympy(parse("1e-3 * x")) == x / 1000


def test_inputs_named_like_sympy_constants_stay_symbols() -> None:
    # no sympify: an input called E, I or pi_ is a plain real symbol
    expr = to_sympy(parse("E * I + S"))
    assert {str(s) for s in expr.free_symbols} == {"E", "I", "S"}
    assert all(s.is_real for s in expr.free_symbols)


def test_kinks_use_sympys_max_and_heaviside() -> None:
    x, y = sympy.symbols("x y", real=True)
    assert to_sympy(parse("relu(x) + max(x, y) + abs(y)")) == (
        sympy.Max(0, x) + sympy.Max(x, y) + sympy.Abs(y)
    )


def test_large_graphs_are_not_simplified_and_huge_ones_refused() -> None:
    chain = parse(" + ".join(f"x{i}*x{i}" for i in range(40)))  # 79 operations
    gradients = symbolic_gradients(chain)
    assert gradients["x3"] == 2 * sympy.Symbol("x3", real=True)
    with pytest.raises(ChainruleError, match="symbolic gradients: 2999 operations"):
        to_sympy(parse("+".join(["x"] * 3000)))


def test_simplify_gives_up_after_its_time_cap(monkeypatch: pytest.MonkeyPatch) -> None:
    import chainrule.verify.symbolic

    graph = parse("(x^2 - 1)/(x - 1)")
    raw = symbolic_gradients(graph, simplify=False)["x"]
    assert symbolic_gradients(graph, simplify=True)["x"] == 1 != raw
    monkeypatch.setattr(chainrule.verify.symbolic, "SIMPLIFY_SECONDS", 1e-6)
    assert symbolic_gradients(graph, simplify=True)["x"] == raw


def test_deep_expressions_give_an_error_not_a_crash() -> None:
    deep = parse("sin(" * 480 + "x" + ")" * 480)
    try:
        gradient = symbolic_gradients(deep)["x"]
    except ChainruleError as problem:
        assert "too deep" in str(problem)
    else:
        assert evaluate(gradient, {"x": 0.0}) == pytest.approx(1.0)


# Random expression trees from the registry, built so that every node is inside
# its op's domain, away from kinks, and of moderate size at the drawn point.
@dataclass
class Tree:
    graph: Graph
    point: dict[str, float]


def _acceptable(op_name: str, args: list[float]) -> bool:
    op = OPS[op_name]
    if op.domain is not None and op.domain(*args) is not None:
        return False
    if op.kink is not None and op.kink.at(*args):
        return False
    if op_name == "pow" and args[0] == 0:  # d/dy 0^y: the engine takes the limit 0, sympy NaN
        return False
    try:
        value = op.forward(ScalarMath, *args)
        partials = op.partials(ScalarMath, value, *args)
    except (ValueError, ZeroDivisionError, OverflowError):
        return False
    return all(math.isfinite(v) and abs(v) < 1e4 for v in [value, *partials])


@st.composite
def trees(draw: st.DrawFn, max_ops: int = 7) -> Tree:
    names = ["p", "q", "r"]
    point = {n: draw(st.floats(-3, 3, allow_subnormal=False)) for n in names}
    builder = GraphBuilder()
    pool = [(builder.input(n), point[n]) for n in names]
    pool += [(builder.constant(v), v) for v in (2.0, 0.5)]
    last = pool[0]
    for _ in range(draw(st.integers(1, max_ops))):
        op_name = draw(st.sampled_from(sorted(OPS)))
        # the newest node is always an argument, so that most ops reach the output
        chosen = [last] + [draw(st.sampled_from(pool)) for _ in range(OPS[op_name].arity - 1)]
        if draw(st.booleans()):
            chosen.reverse()
        args = [value for _, value in chosen]
        if _acceptable(op_name, args):
            value = OPS[op_name].forward(ScalarMath, *args)
            last = (builder.apply(op_name, *(node for node, _ in chosen)), value)
            pool.append(last)
    output = last[0]
    graph = builder.build(output)
    return Tree(graph, {n: point[n] for n in graph.inputs})


def assert_gradients_match(tree: Tree, simplify: bool) -> None:
    result = tree.graph.evaluate(tree.point)
    gradients = symbolic_gradients(tree.graph, simplify=simplify)
    assert set(gradients) == set(result.gradients)
    assert evaluate(to_sympy(tree.graph), tree.point) == pytest.approx(result.value, rel=1e-9)
    for name, closed_form in gradients.items():
        exact = evaluate(closed_form, tree.point)
        assert error(exact, result.gradients[name]) < 1e-8, (name, closed_form, exact)


@pytest.mark.slow
@settings(max_examples=60, deadline=None)
@given(tree=trees(max_ops=10))
def test_symbolic_gradients_match_the_engine_on_random_trees(tree: Tree) -> None:
    assert_gradients_match(tree, simplify=False)


@pytest.mark.slow
@settings(max_examples=12, deadline=None)
@given(tree=trees(max_ops=4))
def test_simplified_gradients_match_the_engine_on_random_trees(tree: Tree) -> None:
    # sympy.simplify costs up to a second per input: fewer, smaller trees
    assert_gradients_match(tree, simplify=True)


@pytest.mark.parametrize(
    ("expression", "point"),
    [("x^y", {"x": 2.0, "y": 3.0}), ("sigmoid(x)*tanh(x)", {"x": 0.3}), ("x/y", {"x": 1, "y": 4})],
)
def test_unsimplified_and_simplified_gradients_agree(
    expression: str, point: dict[str, float]
) -> None:
    graph = parse(expression)
    raw = symbolic_gradients(graph, simplify=False)
    simple = symbolic_gradients(graph, simplify=True)
    for name in graph.inputs:
        assert evaluate(raw[name], point) == pytest.approx(evaluate(simple[name], point), rel=1e-14)
