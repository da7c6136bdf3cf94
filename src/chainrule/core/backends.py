"""The math namespaces the ops are written against, all in one place.

Every op's ``forward(m, *args)`` and derivatives call math through ``m``, never
through a library, so the same entry of :data:`chainrule.core.ops.OPS` runs on

- :class:`ScalarMath`: Python floats and ``math`` (the fast path, no imports);
- :func:`numpy_math`: numpy arrays, many points at once;
- :func:`sympy_math`: sympy expressions (symbolic gradients, explanations);
- :func:`torch_math`: float64 torch tensors (the autograd check).

:class:`MathBackend` names every function an op may use; each backend defines
all of them (a test checks it by running every op against a namespace that
records what it is asked for). numpy, sympy and torch are imported the first
time their backend is asked for, so that evaluating at one point never pays
for importing them.

>>> ScalarMath.sigmoid(0.0), ScalarMath.step(2.0, 2.0)
(0.5, 0.5)
>>> import numpy as np
>>> numpy_math().sigmoid(np.array([0.0, 800.0]))
array([0.5, 1. ])
"""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import cache
from typing import Any, Protocol


class MathBackend(Protocol):
    """Every math function an op may call; arguments and results are the backend's numbers."""

    def exp(self, x: Any, /) -> Any: ...
    def log(self, x: Any, /) -> Any: ...
    def sqrt(self, x: Any, /) -> Any: ...
    def pow(self, x: Any, y: Any, /) -> Any: ...  # real powers only, never complex
    # d x^y/dx = y x^(y-1), and 0 where y = 0: x^0 is the constant 1, also at x = 0
    def power_slope(self, x: Any, y: Any, /) -> Any: ...
    def abs(self, x: Any, /) -> Any: ...
    def sign(self, x: Any, /) -> Any: ...  # -1, 0 or 1
    def sigmoid(self, x: Any, /) -> Any: ...
    def softplus(self, x: Any, /) -> Any: ...  # log(1 + e^x), without overflow
    def tanh(self, x: Any, /) -> Any: ...
    def relu(self, x: Any, /) -> Any: ...
    def positive(self, x: Any, /) -> Any: ...  # 1 where x > 0, else 0 (relu's derivative)
    def sin(self, x: Any, /) -> Any: ...
    def cos(self, x: Any, /) -> Any: ...
    def max(self, x: Any, y: Any, /) -> Any: ...
    def min(self, x: Any, y: Any, /) -> Any: ...
    def step(self, x: Any, y: Any, /) -> Any: ...  # d max(x, y)/dx: 1, 0.5 on a tie, 0
    def xlog(self, out: Any, x: Any, /) -> Any: ...  # d x^y/dy = x^y log x, 0 at x = 0


def backend_names() -> list[str]:
    """The names :class:`MathBackend` requires, in the order it lists them.

    >>> backend_names()[:3]
    ['exp', 'log', 'sqrt']
    """
    return [name for name in vars(MathBackend) if not name.startswith("_")]


# ---------------------------------------------------------------- Python floats


def _scalar_sigmoid(x: float) -> float:
    # Two branches so that exp never overflows: exp(-|x|) <= 1.
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    z = math.exp(x)
    return z / (1.0 + z)


def _scalar_softplus(x: float) -> float:
    # log(1 + e^x) = max(x, 0) + log(1 + e^-|x|): exp never overflows, log1p keeps
    # the tiny e^-|x| that 1 + e^-|x| would round away.
    return max(x, 0.0) + math.log1p(math.exp(-abs(x)))


def _scalar_power_slope(x: float, y: float) -> float:
    # y * x^(y-1) with the base replaced by 1 where y == 0: 0 * 1, not 0 * 0^-1.
    return y * math.pow(1.0 if y == 0 else x, y - 1.0)


def _scalar_step(x: float, y: float) -> float:
    """d max(x, y) / dx: 1 if x wins, 0 if y wins, half each on a tie."""
    return 1.0 if x > y else (0.5 if x == y else 0.0)


def _scalar_xlog(out: float, x: float) -> float:
    """d x**y / dy = x**y * log(x); 0 at x == 0 (limit), undefined for x < 0."""
    return out * math.log(x) if x > 0 else (0.0 if x == 0 else math.nan)


class ScalarMath:
    """Math on Python floats; raises on domain errors, which the evaluator reports."""

    exp = staticmethod(math.exp)
    log = staticmethod(math.log)
    sqrt = staticmethod(math.sqrt)
    pow = staticmethod(math.pow)  # never complex, unlike ``**``
    power_slope = staticmethod(_scalar_power_slope)
    abs = staticmethod(abs)
    sigmoid = staticmethod(_scalar_sigmoid)
    softplus = staticmethod(_scalar_softplus)
    tanh = staticmethod(math.tanh)
    sin = staticmethod(math.sin)
    cos = staticmethod(math.cos)
    max = staticmethod(max)
    min = staticmethod(min)
    step = staticmethod(_scalar_step)
    xlog = staticmethod(_scalar_xlog)

    @staticmethod
    def relu(x: float) -> float:
        return x if x > 0 else 0.0

    @staticmethod
    def sign(x: float) -> float:
        return float((x > 0) - (x < 0))

    @staticmethod
    def positive(x: float) -> float:
        return 1.0 if x > 0 else 0.0


# ---------------------------------------------------------------- numpy arrays


@cache
def numpy_math() -> MathBackend:
    """Math on numpy arrays with broadcasting; IEEE results (inf, nan) on domain errors.

    Every inf or nan made from finite arguments comes with a floating-point flag
    (divide, overflow, invalid), never as a constant: the chunked evaluation relies
    on the flags instead of scanning every intermediate.

    >>> import numpy as np
    >>> numpy_math().step(np.array([1.0, 2.0, 3.0]), 2.0)
    array([0. , 0.5, 1. ])
    """
    import numpy as np

    class VectorMath:
        exp = staticmethod(np.exp)
        log = staticmethod(np.log)
        sqrt = staticmethod(np.sqrt)
        pow = staticmethod(np.power)
        abs = staticmethod(np.abs)
        tanh = staticmethod(np.tanh)
        sin = staticmethod(np.sin)
        cos = staticmethod(np.cos)
        max = staticmethod(np.maximum)
        min = staticmethod(np.minimum)
        sign = staticmethod(np.sign)

        @staticmethod
        def sigmoid(x: Any) -> Any:
            z = np.exp(-np.abs(x))
            return np.where(x >= 0, 1.0 / (1.0 + z), z / (1.0 + z))

        @staticmethod
        def softplus(x: Any) -> Any:
            return np.logaddexp(0.0, x)  # log(e^0 + e^x), computed without overflow

        @staticmethod
        def power_slope(x: Any, y: Any) -> Any:
            # The base is 1 where y == 0, so that no 0^-1 raises a spurious divide flag.
            return y * np.power(np.where(y == 0, 1.0, x), y - 1.0)

        @staticmethod
        def relu(x: Any) -> Any:
            return np.maximum(x, 0.0)

        @staticmethod
        def positive(x: Any) -> Any:
            return np.where(x > 0, 1.0, 0.0)

        @staticmethod
        def step(x: Any, y: Any) -> Any:
            return np.where(x > y, 1.0, np.where(x == y, 0.5, 0.0))

        @staticmethod
        def xlog(out: Any, x: Any) -> Any:
            # 0 at x == 0 (the limit); at x < 0 log's nan, with the flag the evaluator watches.
            return out * np.log(np.where(x == 0, 1.0, x))

    return VectorMath


# ---------------------------------------------------------------- sympy expressions


@cache
def sympy_math() -> MathBackend:
    """Math on sympy expressions: exact, for closed-form derivatives.

    Where the engine has a convention at a kink, so does this backend's function
    (``step`` is 1/2 at a tie, ``positive`` is 0 at 0), but sympy differentiates
    ``forward`` on its own: ``diff(Max(0, x))`` is ``Heaviside(x)``, 1/2 at 0.

    >>> import sympy
    >>> x = sympy.Symbol("x", real=True)
    >>> m = sympy_math()
    >>> m.relu(x), m.step(x, 0), m.positive(sympy.Integer(0))
    (Max(0, x), Heaviside(x), 0)
    """
    import sympy

    class SympyMath:
        exp = staticmethod(sympy.exp)
        log = staticmethod(sympy.log)
        sqrt = staticmethod(sympy.sqrt)
        pow = staticmethod(sympy.Pow)
        abs = staticmethod(sympy.Abs)
        sign = staticmethod(sympy.sign)
        tanh = staticmethod(sympy.tanh)
        sin = staticmethod(sympy.sin)
        cos = staticmethod(sympy.cos)
        max = staticmethod(sympy.Max)
        min = staticmethod(sympy.Min)

        @staticmethod
        def sigmoid(x: Any) -> Any:
            return 1 / (1 + sympy.exp(-x))

        @staticmethod
        def softplus(x: Any) -> Any:
            return sympy.log(1 + sympy.exp(x))

        @staticmethod
        def power_slope(x: Any, y: Any) -> Any:
            return sympy.Piecewise((0, sympy.Eq(y, 0)), (y * sympy.Pow(x, y - 1), True))

        @staticmethod
        def relu(x: Any) -> Any:
            return sympy.Max(0, x)

        @staticmethod
        def positive(x: Any) -> Any:
            return sympy.Heaviside(x, 0)

        @staticmethod
        def step(x: Any, y: Any) -> Any:
            return sympy.Heaviside(x - y)  # sympy's Heaviside(0) is 1/2: the tie's split

        @staticmethod
        def xlog(out: Any, x: Any) -> Any:
            return sympy.Piecewise((0, sympy.Eq(x, 0)), (out * sympy.log(x), True))

    return SympyMath


# ---------------------------------------------------------------- torch tensors


@cache
def torch_math() -> MathBackend:
    """Math on float64 torch tensors, for checking the ops' derivatives with autograd.

    >>> import torch
    >>> float(torch_math().step(torch.tensor(1.0, dtype=torch.float64), torch.tensor(1.0)))
    0.5
    """
    import torch

    class TorchMath:
        exp = staticmethod(torch.exp)
        log = staticmethod(torch.log)
        sqrt = staticmethod(torch.sqrt)
        pow = staticmethod(torch.pow)
        abs = staticmethod(torch.abs)
        sign = staticmethod(torch.sign)
        sigmoid = staticmethod(torch.sigmoid)
        tanh = staticmethod(torch.tanh)
        relu = staticmethod(torch.relu)
        sin = staticmethod(torch.sin)
        cos = staticmethod(torch.cos)
        max = staticmethod(torch.maximum)
        min = staticmethod(torch.minimum)

        @staticmethod
        def softplus(x: Any) -> Any:
            # torch.nn.functional.softplus returns x itself above a threshold (20): close
            # enough in float32, not for a float64 check. logaddexp is exact everywhere.
            return torch.logaddexp(torch.zeros_like(x), x)

        @staticmethod
        def power_slope(x: Any, y: Any) -> Any:
            return y * torch.pow(torch.where(y == 0, torch.ones_like(x), x), y - 1)

        @staticmethod
        def positive(x: Any) -> Any:
            return (x > 0).to(x.dtype)

        @staticmethod
        def step(x: Any, y: Any) -> Any:
            return torch.where(x > y, 1.0, torch.where(x == y, 0.5, 0.0)).to(torch.float64)

        @staticmethod
        def xlog(out: Any, x: Any) -> Any:
            return out * torch.log(torch.where(x == 0, torch.ones_like(x), x))

    return TorchMath


def scalar_math() -> MathBackend:
    """:class:`ScalarMath`, for symmetry with the backends that import a library."""
    return ScalarMath


BACKENDS: dict[str, Callable[[], MathBackend]] = {
    "scalar": scalar_math,
    "numpy": numpy_math,
    "sympy": sympy_math,
    "torch": torch_math,
}
"""Every backend by name: a function that gives it (importing its library if needed)."""
