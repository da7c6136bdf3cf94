"""Finite differences, torch.autograd and the verification table against the engine."""

from __future__ import annotations

import itertools
import math

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from chainrule import OPS, GraphBuilder, Op, parse
from chainrule.errors import ChainruleError
from chainrule.verify.threeway import error, finite_difference, torch_gradients, verification_table

NAMES = ("x", "y")
coordinates = st.floats(min_value=-3.0, max_value=3.0, allow_nan=False, allow_subnormal=False)


def single_op_graph(op: Op):  # type: ignore[no-untyped-def]
    builder = GraphBuilder()
    args = [builder.input(name) for name in NAMES[: op.arity]]
    return builder.build(builder.apply(op.name, *args))


def well_inside(op: Op, args: list[float], margin: float = 0.05) -> bool:
    """Inside the op's domain on a whole box around the point, and away from its kink.

    The registry's kinks are at 0 (unary ops) or at ties (binary ops), its
    singularities and domain edges at 0, where a central difference is meaningless.
    """
    if op.kink is not None and abs(args[0] - (args[1] if op.arity == 2 else 0.0)) < 1e-3:
        return False
    if op.domain is None:
        return True
    if any(abs(a) < margin for a in args):
        return False
    shifts = itertools.product((-margin, 0.0, margin), repeat=len(args))
    return all(
        op.domain(*(a + s for a, s in zip(args, shift, strict=True))) is None for shift in shifts
    )


@pytest.mark.parametrize("name", sorted(OPS))
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
@given(x=coordinates, y=coordinates)
def test_every_op_agrees_with_torch_and_finite_differences(name: str, x: float, y: float) -> None:
    op = OPS[name]
    point = dict(zip(NAMES[: op.arity], [x, y][: op.arity], strict=True))
    assume(well_inside(op, list(point.values())))
    graph = single_op_graph(op)
    result = graph.evaluate(point)
    assume(abs(result.value) < 1e6)

    value, torch_grads = torch_gradients(graph, point)
    assert value == pytest.approx(result.value, rel=1e-14, abs=1e-300)
    for var, grad in result.gradients.items():
        assert torch_grads[var] == pytest.approx(grad, rel=1e-12, abs=1e-14), var

    numeric = finite_difference(graph, point)
    for var, grad in result.gradients.items():
        assert error(numeric[var], grad) < 1e-5, (var, numeric[var], grad)


def test_torch_follows_the_engine_at_kinks() -> None:
    # torch's conventions are the engine's: relu'(0) = 0, abs'(0) = 0, max ties split.
    graph = parse("relu(x) + abs(x) + max(x, y) + min(x, y)")
    point = {"x": 0.0, "y": 0.0}
    assert torch_gradients(graph, point)[1] == graph.evaluate(point).gradients


def test_finite_difference_uses_a_step_scaled_to_the_value() -> None:
    graph = parse("x^2")
    # at x = 1e8 an unscaled step of 6e-6 would be lost in rounding entirely
    assert finite_difference(graph, {"x": 1e8})["x"] == pytest.approx(2e8, rel=1e-6)
    assert finite_difference(graph, {"x": 3.0}, h=1e-3)["x"] == pytest.approx(6.0, rel=1e-12)


def test_finite_difference_leaving_the_domain_is_nan() -> None:
    assert math.isnan(finite_difference(parse("sqrt(x)"), {"x": 0.0})["x"])


def test_verification_table_agrees_on_the_sheets_expression_b() -> None:
    graph = parse(r"\sqrt{a + b + c^3} + \log\left(\frac{a}{d}\right)")
    table = verification_table(graph.evaluate(a=2, b=-7, c=4, d=1))
    assert table.warnings == []
    assert [row.input for row in table.rows] == ["a", "b", "c", "d"]
    for row in table.rows:
        assert row.agree
        assert row.symbolic_error is not None and row.symbolic_error < 1e-15
        assert row.finite_difference_error < 1e-8
    assert table.symbolic is not None and str(table.symbolic["d"]) == "-1/d"


def test_verification_table_warns_at_a_kink() -> None:
    result = parse("relu(x) * y").evaluate(x=0, y=2)
    table = verification_table(result)
    x_row = table.rows[0]
    assert (x_row.autodiff, x_row.finite_difference, x_row.agree) == (0.0, 1.0, False)
    assert x_row.symbolic == 1.0  # sympy's Heaviside(0) is 1/2
    assert len(table.warnings) == 1
    assert table.warnings[0].startswith("d/dx: the methods disagree: autodiff 0, symbolic 1,")
    assert "kink" in table.warnings[0]
    assert table.rows[1].agree


def test_verification_table_allows_rounding_noise_of_large_functions() -> None:
    # exp(30) swamps x in float64: the central difference is 0, which is only noise
    table = verification_table(parse("exp(30) + x").evaluate(x=1.0))
    assert table.rows[0].finite_difference == 0.0
    assert table.warnings == []


def test_verification_table_needs_a_single_point() -> None:
    import numpy as np

    with pytest.raises(ChainruleError, match="one point"):
        verification_table(parse("x*x").evaluate(x=np.array([1.0, 2.0])))


def test_verification_table_without_symbolic() -> None:
    table = verification_table(parse("x*x").evaluate(x=3), use_symbolic=False)
    assert table.rows[0].symbolic is None and table.rows[0].agree and table.symbolic is None
