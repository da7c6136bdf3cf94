"""Random expressions built from the whole op registry: the engine's gradients agree
with torch.autograd (float64), central finite differences and sympy's derivative."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from chainrule import OPS, EvaluationError, Op, parse
from chainrule.core.backends import numpy_math
from chainrule.verify.symbolic import evaluate as sympy_value
from chainrule.verify.symbolic import symbolic_gradients
from chainrule.verify.threeway import finite_difference, torch_gradients
from expression_strategies import expressions as registry_expressions


def expressions() -> st.SearchStrategy[str]:
    return registry_expressions(["x", "y", "z", "2", "0.5", "3"], max_leaves=6)


POINT = st.fixed_dictionaries(
    {name: st.floats(min_value=-2.0, max_value=2.0).filter(lambda v: abs(v) > 0.05)
     for name in "xyz"}
)
SETTINGS = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.filter_too_much]
)


def engine(text: str, point: dict[str, float]):  # type: ignore[no-untyped-def]
    graph = parse(text)
    values = {name: point[name] for name in graph.inputs}
    try:
        result = graph.evaluate(values)
    except EvaluationError:
        assume(False)  # outside a domain: nothing to compare
    assume(not result.warnings)  # a kink: each method has its own convention
    assume(all(abs(g) < 1e6 for g in result.gradients.values()))
    return graph, values, result


def stencil_crosses_a_kink(graph, values: dict[str, float], name: str) -> bool:  # type: ignore[no-untyped-def]
    """Whether the engine's own gradient jumps between x - h and x + h (max changing hands).

    A central difference measures the slope of a chord, which is the derivative only
    where the function is smooth over the whole stencil; where it is, the gradients at
    the two ends agree to O(h).
    """
    x = values[name]
    h = np.finfo(float).eps ** (1 / 3) * max(1.0, abs(x))  # finite_difference's step
    ends = [graph.evaluate({**values, name: x + s}, allow_nan=True).gradients for s in (-h, h)]
    return any(not close(ends[0][n], ends[1][n], 1e-3, 1e-4) for n in values)


def close(ours: float, theirs: float, rel: float, abs_: float = 1e-9) -> bool:
    return math.isclose(ours, theirs, rel_tol=rel, abs_tol=abs_)


@SETTINGS
@given(expressions(), POINT)
def test_random_expressions_agree_with_torch(text: str, point: dict[str, float]) -> None:
    graph, values, result = engine(text, point)
    value, gradients = torch_gradients(graph, values)
    assert close(result.value, value, 1e-12)
    for name, grad in result.gradients.items():
        assert close(grad, gradients[name], 1e-9), (text, name)


@SETTINGS
@given(expressions(), POINT)
def test_random_expressions_agree_with_finite_differences(
    text: str, point: dict[str, float]
) -> None:
    graph, values, result = engine(text, point)
    numeric = finite_difference(graph, values)
    assume(all(math.isfinite(v) for v in numeric.values()))
    assume(not any(stencil_crosses_a_kink(graph, values, name) for name in values))
    for name, grad in result.gradients.items():
        # A central difference is accurate to about h^2 f''' + eps/h: 1e-5 relative.
        assert close(grad, numeric[name], 1e-4, 1e-5), (text, name, grad, numeric[name])


@pytest.mark.slow
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
@given(expressions(), POINT)
def test_random_expressions_agree_with_sympy(text: str, point: dict[str, float]) -> None:
    graph, values, result = engine(text, point)
    exact = symbolic_gradients(graph, simplify=False)
    for name, grad in result.gradients.items():
        reference = sympy_value(exact[name], values)
        assume(math.isfinite(reference))
        assert close(grad, reference, 1e-9), (text, name)


EDGE_VALUES = st.sampled_from([0.0, -0.0, 1.0, -1.0, 2.0, -2.0, 0.5, -0.5, 3.0, 700.0, -700.0])
POINTS = st.lists(st.tuples(EDGE_VALUES, EDGE_VALUES, EDGE_VALUES), min_size=1, max_size=6)


@SETTINGS
@given(expressions(), POINTS, st.booleans())
def test_chunked_evaluation_finds_what_the_full_one_finds(
    text: str, points: list[tuple[float, float, float]], allow_nan: bool
) -> None:
    # keep_intermediates=False trusts floating-point flags instead of scanning every node;
    # it must refuse, warn and compute exactly as the full evaluation does.
    graph = parse(text)
    columns = {name: np.array([p["xyz".index(name)] for p in points]) for name in graph.inputs}

    def outcome(keep: bool) -> tuple[str, list[str], dict[str, list[float]]]:
        try:
            result = graph.evaluate(columns, keep_intermediates=keep, allow_nan=allow_nan)
        except EvaluationError as error:
            return str(error), [], {}
        grads = {name: np.asarray(g).tolist() for name, g in result.gradients.items()}
        return "", result.warnings, {"value": np.asarray(result.value).tolist(), **grads}

    full, lean = outcome(True), outcome(False)
    assert lean[:2] == full[:2]
    np.testing.assert_array_equal(
        [lean[2][k] for k in sorted(lean[2])], [full[2][k] for k in sorted(full[2])]
    )


@pytest.mark.parametrize("op", OPS.values(), ids=lambda op: op.name)
def test_vector_math_flags_every_inf_and_nan_it_makes(op: Op) -> None:
    grid = [0.0, -0.0, 1.0, -1.0, 0.5, -2.5, 3.0, 800.0, -800.0, 1e308]
    flagged: list[str] = []
    for args in itertools.product(grid, repeat=op.arity):
        flagged.clear()
        with np.errstate(all="call", under="ignore", call=lambda kind, _: flagged.append(kind)):
            arrays = [np.array(arg) for arg in args]
            out = op.forward(numpy_math(), *arrays)
            results = [out, *op.partials(numpy_math(), out, *arrays)]
        if not all(np.isfinite(r) for r in results):
            assert flagged, f"{op.name}{args} makes an inf or nan without a floating-point flag"
