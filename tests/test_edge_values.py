"""One rule for inf and nan results, and the integer powers at 0 (issue 11, item 5)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from chainrule import parse
from chainrule.cli import main
from chainrule.verify.symbolic import evaluate as sympy_value
from chainrule.verify.symbolic import symbolic_gradients, to_sympy
from chainrule.verify.threeway import torch_gradients


@pytest.mark.parametrize("fmt", ["json", "text"])
@pytest.mark.parametrize(
    "argv", [["9^9^9"], ["9^9^9*x", "--at", "x=1"]], ids=["constant", "with-an-input"]
)
def test_an_overflow_is_refused_with_or_without_inputs(
    argv: list[str], fmt: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["graph", *argv, "--format", fmt]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith("error: v2 = 9 ^ v1: the result overflows float64")


@pytest.mark.parametrize("argv", [["9^9^9"], ["9^9^9*x", "--at", "x=1"]])
def test_allow_nan_gives_inf_with_a_warning_with_or_without_inputs(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["graph", *argv, "--format", "json", "--allow-nan"]) == 0
    captured = capsys.readouterr()
    document = json.loads(captured.out)
    assert document["output"]["value"] == "inf"
    assert document["warnings"] == ["v2 = 9 ^ v1: the result overflows float64 "
                                    "(arguments 9, 3.8742e+08)"]
    assert "warning: v2 = 9 ^ v1" in captured.err


def test_a_constant_expression_has_its_value_without_at(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["graph", "2*3 + 2^-1", "--format", "json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["output"]["value"] == 6.5 and document["gradients"] == {}
    assert main(["graph", "2*3"]) == 0
    assert "(no inputs: the expression is a constant)" in capsys.readouterr().out


# x^n at x = 0: the value, and the derivative n x^(n-1) with x^0 the constant 1.
POWERS_AT_ZERO = [("x^0", 1.0, 0.0), ("x^1", 0.0, 1.0), ("x^2", 0.0, 0.0), ("x^3", 0.0, 0.0)]


@pytest.mark.parametrize(("text", "value", "slope"), POWERS_AT_ZERO)
def test_integer_powers_at_zero_agree_with_torch_and_sympy(
    text: str, value: float, slope: float
) -> None:
    graph = parse(text)
    result = graph.evaluate(x=0.0)
    assert (result.value, result.gradients["x"]) == (value, slope)
    assert not result.warnings
    assert torch_gradients(graph, {"x": 0.0}) == (value, {"x": slope})
    assert sympy_value(to_sympy(graph), {"x": 0.0}) == value
    assert sympy_value(symbolic_gradients(graph)["x"], {"x": 0.0}) == slope


def test_zero_to_the_zero_is_one_in_the_engine_torch_and_sympy() -> None:
    graph = parse("0^0")
    assert graph.evaluate({}).value == 1.0
    assert torch_gradients(graph, {}) == (1.0, {})
    assert sympy_value(to_sympy(graph), {}) == 1.0


@pytest.mark.parametrize("keep", [True, False])
def test_x_to_the_zero_has_slope_zero_on_arrays_too(keep: bool) -> None:
    x = np.array([0.0, 2.0, -3.0, 0.5])
    result = parse("x^0 + 0*x").evaluate(x=x, keep_intermediates=keep)
    np.testing.assert_array_equal(result.value, np.ones(4))
    np.testing.assert_array_equal(result.gradients["x"], np.zeros(4))
    assert not result.warnings


def test_a_fractional_power_at_zero_is_still_refused() -> None:
    # sqrt's slope at 0 is infinite: x^0.5 keeps its error, only y = 0 is exact.
    assert main(["graph", "x^0.5", "--at", "x=0"]) == 2
    assert main(["graph", "x^0", "--at", "x=0"]) == 0


@pytest.mark.parametrize("points", [2.0, np.array([2.0, -1.0])], ids=["float", "array"])
def test_an_input_that_is_the_output_has_gradient_one_and_an_unused_one_zero(
    points: object,
) -> None:
    assert parse("x").evaluate(x=points).gradients["x"] == pytest.approx(1.0)
    gradients = parse("f(w, x) = 2*x").evaluate(w=points, x=points).gradients
    assert gradients["w"] == pytest.approx(0.0) and gradients["x"] == pytest.approx(2.0)
