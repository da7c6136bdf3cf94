"""Every math backend defines every math function any op uses, and they agree."""

from __future__ import annotations

import math
import subprocess
import sys
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import sympy
import torch

from chainrule import OPS, Op, parse
from chainrule.core.backends import BACKENDS, MathBackend, ScalarMath, backend_names


class Recording:
    """A math namespace that logs every name it is asked for and answers with a number."""

    def __init__(self) -> None:
        self.asked: set[str] = set()

    def __getattr__(self, name: str) -> Callable[..., float]:
        self.asked.add(name)
        return lambda *args: 0.375


def names_used_by(op: Op) -> set[str]:
    recording = Recording()
    args = [0.625] * op.arity
    out = op.forward(recording, *args)
    op.partials(recording, out, *args)  # type: ignore[arg-type]
    return recording.asked


def test_the_protocol_names_exactly_what_the_ops_use() -> None:
    used = set().union(*(names_used_by(op) for op in OPS.values()))
    assert used == set(backend_names())


@pytest.mark.parametrize("backend", sorted(BACKENDS))
def test_every_backend_defines_every_name(backend: str) -> None:
    m = BACKENDS[backend]()
    missing = [name for name in backend_names() if not callable(getattr(m, name, None))]
    assert not missing, f"the {backend} backend lacks {missing}"


def _number(value: Any) -> float:
    if isinstance(value, sympy.Basic):
        return float(value.evalf(30))
    if isinstance(value, torch.Tensor):
        return float(value.item())
    return float(value)


def _inputs(backend: str, args: list[float]) -> list[Any]:
    if backend == "numpy":
        return [np.float64(a) for a in args]
    if backend == "sympy":
        return [sympy.Rational(a) for a in args]
    if backend == "torch":
        return [torch.tensor(a, dtype=torch.float64) for a in args]
    return list(args)


POINTS = {1: [[0.75], [1.5], [2.25]], 2: [[0.75, 1.5], [2.0, 0.5], [1.25, 1.25]]}


@pytest.mark.parametrize("backend", sorted(set(BACKENDS) - {"scalar"}))
@pytest.mark.parametrize("op", OPS.values(), ids=lambda op: op.name)
def test_every_backend_computes_what_the_scalar_one_does(backend: str, op: Op) -> None:
    m: MathBackend = BACKENDS[backend]()
    for args in POINTS.get(op.arity, [[0.75] * op.arity]):
        expected = [op.forward(ScalarMath, *args)]
        expected += op.partials(ScalarMath, expected[0], *args)
        inputs = _inputs(backend, args)
        out = op.forward(m, *inputs)
        got = [out, *op.partials(m, out, *inputs)]
        for ours, theirs in zip(got, expected, strict=True):
            close = math.isclose(_number(ours), theirs, rel_tol=1e-12, abs_tol=1e-15)
            assert close, (op.name, args, ours, theirs)


def test_importing_the_backends_imports_no_library() -> None:
    # numpy, sympy and torch load when their backend is first asked for, not before:
    # checked in a fresh interpreter, since this one has them all loaded already.
    code = (
        "import sys, chainrule.core.backends as b; "
        "print(sorted(m for m in ('numpy', 'sympy', 'torch') if m in sys.modules))"
    )
    shown = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert shown.stdout.strip() == "[]"


@pytest.mark.parametrize("x", [-800.0, -30.0, -1e-9, 0.0, 2.5, 40.0, 800.0, 1e308])
def test_softplus_is_stable_and_its_derivative_is_sigmoid(x: float) -> None:
    # log(1 + e^x) written as it reads overflows above 709 and rounds to 0 below -37.
    exact = float(sympy.log(1 + sympy.exp(sympy.Float(x, 40))).evalf(30))
    graph = parse("softplus(x)")
    scalar = graph.evaluate(x=x)
    vector = graph.evaluate(x=np.array([x, x]))
    for result in (scalar, vector):
        assert np.allclose(result.value, exact, rtol=1e-15, atol=0.0)
        assert np.allclose(result.gradients["x"], ScalarMath.sigmoid(x), rtol=1e-15, atol=0.0)
    assert not scalar.warnings
