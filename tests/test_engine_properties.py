"""Random expressions built from the whole op registry: the engine's gradients agree
with torch.autograd (float64), central finite differences and sympy's derivative."""

from __future__ import annotations

import math

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from chainrule import OPS, EvaluationError, Op, parse
from chainrule.symbolic import evaluate as sympy_value
from chainrule.symbolic import symbolic_gradients
from chainrule.verify import finite_difference, torch_gradients

LEAVES = st.sampled_from(["x", "y", "z", "2", "0.5", "3"])


def apply(op: Op, args: list[str]) -> str:
    """Plain-syntax text of ``op`` applied to ``args``, fully parenthesised."""
    if op.infix:
        return f"({args[0]}) {op.symbol} ({args[1]})"
    if op.name == "neg":
        return f"-({args[0]})"
    return f"{op.name}({', '.join(args)})"


def expressions() -> st.SearchStrategy[str]:
    def extend(children: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
        return st.sampled_from(list(OPS.values())).flatmap(
            lambda op: st.lists(children, min_size=op.arity, max_size=op.arity).map(
                lambda args: apply(op, args)
            )
        )

    return st.recursive(LEAVES, extend, max_leaves=6)


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
