"""Tensors that remember how they were made, and backpropagation through them.

A :class:`Tensor` wraps a numpy array (float32 unless asked for float64). Every
operation on tensors that need a gradient records its arguments and a *backward*
function: given ∂L/∂out it returns ∂L/∂arg for each argument. :meth:`Tensor.backward`
walks that recorded graph from the loss back to the leaves, in reverse
topological order (a loop, no recursion), summing the gradients of a tensor used
several times — the chain rule of the scalar engine, an array at a time.

Elementwise operations are the scalar engine's own: :func:`elementwise` runs any
entry of :data:`chainrule.core.ops.OPS` (its ``forward`` and its ``derivatives``)
on numpy arrays, so an operation added to the registry works on tensors too.

>>> x = Tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
>>> w = Tensor([[0.5], [-1.0]], requires_grad=True)
>>> loss = (x @ w).relu().sum()
>>> loss.backward()
>>> loss.item(), w.grad.tolist(), x.grad.tolist()
(0.0, [[0.0], [0.0]], [[0.0, 0.0], [0.0, 0.0]])
>>> loss = (x * x).sum()  # x used twice: both paths add up, 2x
>>> x.grad = None
>>> loss.backward()
>>> x.grad.tolist()
[[2.0, 4.0], [6.0, 8.0]]
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence
from typing import Any, ClassVar

import numpy as np
import numpy.typing as npt

from chainrule.core.backends import numpy_math
from chainrule.core.ops import OPS, Op

Array = npt.NDArray[Any]
# ∂L/∂out -> ∂L/∂arg for each argument (None where the argument needs no gradient).
Backward = Callable[[Array], Sequence[Array | None]]
Index = Any  # what numpy accepts between brackets: ints, slices, integer arrays, tuples

MATH = numpy_math()
"""The math namespace the registry's operations are evaluated with (numpy arrays)."""

DEFAULT_DTYPE = np.float32


class Tensor:
    """An array with an optional gradient, and the recipe that produced it."""

    __slots__ = ("backward_fn", "data", "detail", "grad", "name", "op", "parents", "requires_grad")
    __array_priority__ = 1000  # ndarray + Tensor calls Tensor.__radd__, not numpy's loop

    recording: ClassVar[bool] = True  # False inside ``no_grad()``

    def __init__(
        self,
        data: Any,
        *,
        requires_grad: bool = False,
        dtype: Any = None,
        name: str = "",
    ) -> None:
        self.data: Array = as_float_array(data, dtype)
        self.grad: Array | None = None
        self.requires_grad = requires_grad
        self.name = name  # shown in pictures and explanations ("W1", "x")
        # How this tensor was made; empty for a leaf (an input, a weight, a constant).
        self.op = ""
        self.detail = ""  # the operation's settings as shown, e.g. "axis=1"
        self.parents: tuple[Tensor, ...] = ()
        self.backward_fn: Backward | None = None

    # -- basics

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(self.data.shape)

    @property
    def ndim(self) -> int:
        return int(self.data.ndim)

    @property
    def dtype(self) -> np.dtype[Any]:
        return self.data.dtype

    def __len__(self) -> int:
        return len(self.data)

    def __repr__(self) -> str:
        grad = ", requires_grad=True" if self.requires_grad else ""
        made = f", op={self.op}" if self.op else ""
        return f"Tensor(shape={self.shape}, dtype={self.dtype}{grad}{made})"

    def numpy(self) -> Array:
        """The underlying array (shared, not copied)."""
        return self.data

    def item(self) -> float:
        return float(self.data.item())

    def tolist(self) -> Any:
        return self.data.tolist()

    def detach(self) -> Tensor:
        """The same values, cut off from the graph."""
        return Tensor(self.data, dtype=self.dtype)

    # -- backpropagation

    def backward(self, grad: Any = None) -> None:
        """Reverse-mode differentiation: add ∂self/∂leaf to every leaf's ``.grad``.

        ``grad`` is ∂L/∂self (default 1, which needs a single-element tensor).
        Gradients of leaves accumulate across calls, as in PyTorch: reset them
        (``optimizer.zero_grad()``) between steps.
        """
        if not self.requires_grad:
            raise RuntimeError("backward() on a tensor that does not require a gradient")
        if grad is None:
            if self.data.size != 1:
                raise RuntimeError(
                    f"backward() needs a gradient for a tensor of shape {self.shape}"
                )
            seed = np.ones_like(self.data)
        else:
            seed = as_float_array(grad, self.dtype).reshape(self.shape)
        grads: dict[int, Array] = {id(self): seed}
        for node in reversed(self.graph_order()):
            upstream = grads.pop(id(node), None)
            if upstream is None:
                continue
            if node.backward_fn is None:  # a leaf: keep its gradient
                node.grad = _own(upstream) if node.grad is None else node.grad + upstream
                continue
            for parent, grad_parent in zip(node.parents, node.backward_fn(upstream), strict=True):
                if grad_parent is None or not parent.requires_grad:
                    continue
                key = id(parent)
                # Out of place: a backward function may hand the same array to two parents.
                grads[key] = grad_parent if key not in grads else grads[key] + grad_parent

    def graph_order(self, *, everything: bool = False) -> list[Tensor]:
        """The tensors this one was computed from, each after its arguments (itself last).

        Only tensors that need a gradient unless ``everything`` (inputs and
        constants too, for pictures). Depth-first with an explicit stack, so a
        deep graph cannot overflow Python's recursion limit.
        """
        order: list[Tensor] = []
        seen: set[int] = set()
        stack: list[tuple[Tensor, bool]] = [(self, False)]
        while stack:
            node, finished = stack.pop()
            if finished:
                order.append(node)
                continue
            if id(node) in seen:
                continue
            seen.add(id(node))
            stack.append((node, True))
            for parent in reversed(node.parents):
                if id(parent) not in seen and (everything or parent.requires_grad):
                    stack.append((parent, False))
        return order

    # -- elementwise arithmetic, from the registry

    def __add__(self, other: Any) -> Tensor:
        return elementwise("add", self, other)

    def __radd__(self, other: Any) -> Tensor:
        return elementwise("add", other, self)

    def __sub__(self, other: Any) -> Tensor:
        return elementwise("sub", self, other)

    def __rsub__(self, other: Any) -> Tensor:
        return elementwise("sub", other, self)

    def __mul__(self, other: Any) -> Tensor:
        return elementwise("mul", self, other)

    def __rmul__(self, other: Any) -> Tensor:
        return elementwise("mul", other, self)

    def __truediv__(self, other: Any) -> Tensor:
        return elementwise("div", self, other)

    def __rtruediv__(self, other: Any) -> Tensor:
        return elementwise("div", other, self)

    def __pow__(self, other: Any) -> Tensor:
        return elementwise("pow", self, other)

    def __rpow__(self, other: Any) -> Tensor:
        return elementwise("pow", other, self)

    def __neg__(self) -> Tensor:
        return elementwise("neg", self)

    def exp(self) -> Tensor:
        return elementwise("exp", self)

    def log(self) -> Tensor:
        return elementwise("log", self)

    def sqrt(self) -> Tensor:
        return elementwise("sqrt", self)

    def abs(self) -> Tensor:
        return elementwise("abs", self)

    def relu(self) -> Tensor:
        return elementwise("relu", self)

    def sigmoid(self) -> Tensor:
        return elementwise("sigmoid", self)

    def tanh(self) -> Tensor:
        return elementwise("tanh", self)

    # -- linear algebra and reductions

    def __matmul__(self, other: Any) -> Tensor:
        return matmul(self, other)

    def __rmatmul__(self, other: Any) -> Tensor:
        return matmul(other, self)

    def sum(self, axis: int | tuple[int, ...] | None = None, keepdims: bool = False) -> Tensor:
        """Sum over ``axis`` (all by default); ∂L/∂x is ∂L/∂out copied back along it."""
        out = self.data.sum(axis=axis, keepdims=keepdims)

        def backward(grad: Array) -> tuple[Array]:
            return (np.broadcast_to(_keep_dims(grad, axis, self.ndim, keepdims), self.shape),)

        return record(out, "sum", (self,), backward, _axis_text(axis))

    def mean(self, axis: int | tuple[int, ...] | None = None, keepdims: bool = False) -> Tensor:
        """Mean over ``axis``: the sum divided by the number of elements summed."""
        count = _count(self.shape, axis)
        out = self.data.mean(axis=axis, keepdims=keepdims)

        def backward(grad: Array) -> tuple[Array]:
            spread = _keep_dims(grad, axis, self.ndim, keepdims) / count
            return (np.broadcast_to(spread, self.shape),)

        return record(out, "mean", (self,), backward, _axis_text(axis))

    def max(self, axis: int | tuple[int, ...] | None = None, keepdims: bool = False) -> Tensor:
        """Largest element over ``axis``; a tie shares the gradient equally (as ``max`` does)."""
        kept = self.data.max(axis=axis, keepdims=True)

        def backward(grad: Array) -> tuple[Array]:
            winners = self.data == kept
            share = winners / winners.sum(axis=axis, keepdims=True)
            return ((_keep_dims(grad, axis, self.ndim, keepdims) * share).astype(self.dtype),)

        out = kept if keepdims else np.squeeze(kept, axis=axis)
        return record(out, "max", (self,), backward, _axis_text(axis))

    # -- shapes

    def reshape(self, *shape: int) -> Tensor:
        """The same elements in another shape; the gradient is reshaped back."""
        if len(shape) == 1 and isinstance(shape[0], tuple | list):
            shape = tuple(shape[0])
        out = self.data.reshape(shape)

        def backward(grad: Array) -> tuple[Array]:
            return (grad.reshape(self.shape),)

        return record(out, "reshape", (self,), backward, "×".join(map(str, out.shape)))

    def transpose(self, *axes: int) -> Tensor:
        """Axes permuted (reversed by default); the gradient is permuted back."""
        order = tuple(axes) if axes else tuple(range(self.ndim))[::-1]
        out = self.data.transpose(order)

        def backward(grad: Array) -> tuple[Array]:
            return (grad.transpose(np.argsort(order)),)

        return record(out, "transpose", (self,), backward)

    @property
    def T(self) -> Tensor:
        return self.transpose()

    def __getitem__(self, index: Index) -> Tensor:
        """Slicing and integer-array indexing; repeated indices add up their gradients."""
        index = _plain_index(index)
        out = np.asarray(self.data[index])

        def backward(grad: Array) -> tuple[Array]:
            full = np.zeros_like(self.data)
            np.add.at(full, index, grad)  # unlike full[index] += grad, repeats accumulate
            return (full,)

        return record(out, "index", (self,), backward)


# ---------------------------------------------------------------- building tensors


def as_float_array(data: Any, dtype: Any = None) -> Array:
    """``data`` as a float array: ``dtype`` if given, a float array's own, else float32."""
    if isinstance(data, Tensor):
        data = data.data
    if isinstance(data, np.ndarray) and data.dtype.kind == "f" and dtype in (None, data.dtype):
        return data  # the common case inside operations: nothing to convert
    if dtype is None:
        is_float = isinstance(data, np.ndarray | np.floating) and np.issubdtype(
            data.dtype, np.floating
        )
        dtype = data.dtype if is_float else DEFAULT_DTYPE
    return np.asarray(data, dtype=dtype)


def record(
    data: Array, op: str, parents: tuple[Tensor, ...], backward: Backward, detail: str = ""
) -> Tensor:
    """The result of ``op`` on ``parents``; the graph keeps it only if a gradient is needed."""
    # numpy computed ``data`` in the arguments' dtype already: no conversion (this runs for
    # every operation, so it skips Tensor.__init__'s checks).
    out = Tensor.__new__(Tensor)
    out.data, out.grad, out.requires_grad, out.name = np.asarray(data), None, False, ""
    out.op, out.detail, out.parents, out.backward_fn = op, detail, (), None
    if Tensor.recording and any([parent.requires_grad for parent in parents]):
        out.requires_grad = True
        out.parents, out.backward_fn = parents, backward
    elif len(parents) == 1:
        out.name = parents[0].name  # data reshaped is still the data (x stays "x" in pictures)
    return out


def lift(value: Any, like: Tensor) -> Tensor:
    """A tensor as is; a number or array as a constant of ``like``'s dtype (no gradient)."""
    return value if isinstance(value, Tensor) else Tensor(value, dtype=like.dtype)


@contextlib.contextmanager
def no_grad() -> Iterator[None]:
    """Within the block nothing is recorded (evaluation: faster, no memory for a graph).

    >>> w = Tensor([2.0], requires_grad=True)
    >>> with no_grad():
    ...     y = w * 3
    >>> y.requires_grad
    False
    """
    before = Tensor.recording
    Tensor.recording = False
    try:
        yield
    finally:
        Tensor.recording = before


# ---------------------------------------------------------------- the registry's operations


def elementwise(op: str | Op, *args: Any) -> Tensor:
    """Apply an operation of :data:`~chainrule.core.ops.OPS` elementwise, with broadcasting.

    The forward value is ``op.forward`` and ∂L/∂argᵢ = ∂L/∂out · ``op.derivatives[i]``
    (both evaluated by numpy), summed back to the argument's shape where it was
    broadcast.

    >>> a = Tensor([1.0, 4.0], requires_grad=True)
    >>> b = Tensor([[2.0], [3.0]], requires_grad=True)
    >>> out = elementwise("mul", a, b)
    >>> out.shape
    (2, 2)
    >>> out.sum().backward()
    >>> a.grad.tolist(), b.grad.tolist()
    ([5.0, 5.0], [[5.0], [5.0]])
    """
    primitive = OPS[op] if isinstance(op, str) else op
    if len(args) != primitive.arity:
        raise ValueError(f"{primitive.name} takes {primitive.arity} arguments, got {len(args)}")
    first = (
        args[0] if isinstance(args[0], Tensor) else next(a for a in args if isinstance(a, Tensor))
    )
    tensors = tuple([lift(arg, first) for arg in args])
    arrays = [t.data for t in tensors]
    out = np.asarray(primitive.forward(MATH, *arrays), dtype=first.data.dtype)

    def backward(grad: Array) -> list[Array | None]:
        return [
            _unbroadcast(_times(grad, derivative, out, arrays), t.shape)
            if t.requires_grad
            else None
            for t, derivative in zip(tensors, primitive.derivatives, strict=True)
        ]

    return record(out, primitive.name, tensors, backward)


def _times(grad: Array, derivative: Any, out: Array, arrays: list[Array]) -> Array:
    """∂L/∂out · ∂out/∂arg; a constant derivative (add, sub, neg) needs no array."""
    if isinstance(derivative, float):
        return grad if derivative == 1.0 else np.multiply(grad, derivative, dtype=grad.dtype)
    local = np.asarray(derivative(MATH, out, *arrays), dtype=grad.dtype)
    product: Array = grad * local
    return product


def _unbroadcast(grad: Array, shape: tuple[int, ...]) -> Array:
    """Sum ``grad`` over the axes broadcasting added or stretched, back to ``shape``.

    >>> _unbroadcast(np.ones((4, 2, 3)), (2, 1)).tolist()
    [[12.0], [12.0]]
    """
    if grad.shape == shape:
        return grad
    extra = grad.ndim - len(shape)
    stretched = [
        extra + i for i, size in enumerate(shape) if size == 1 and grad.shape[extra + i] != 1
    ]
    summed: Array = grad.sum(axis=(*range(extra), *stretched), keepdims=True)
    return summed.reshape(shape)


# ---------------------------------------------------------------- matmul


def matmul(a: Any, b: Any) -> Tensor:
    """``a @ b`` for arrays of two or more axes (leading axes broadcast as batches).

    ∂L/∂a = ∂L/∂y · bᵀ and ∂L/∂b = aᵀ · ∂L/∂y.

    >>> x = Tensor(np.ones((3, 2)), requires_grad=True)
    >>> w = Tensor(np.full((2, 4), 0.5), requires_grad=True)
    >>> (x @ w).sum().backward()
    >>> x.grad.tolist()[0], w.grad.shape
    ([2.0, 2.0], (2, 4))
    """
    first = a if isinstance(a, Tensor) else b
    left, right = lift(a, first), lift(b, first)
    if left.ndim < 2 or right.ndim < 2:
        raise ValueError(f"matmul needs arrays of 2 or more axes, got {left.shape} @ {right.shape}")
    out = left.data @ right.data

    def backward(grad: Array) -> tuple[Array | None, Array | None]:
        # Only what is needed: the first layer's input x needs no gradient (a whole matmul).
        grad_left = (
            _unbroadcast(grad @ right.data.swapaxes(-1, -2), left.shape)
            if left.requires_grad
            else None
        )
        grad_right = (
            _unbroadcast(left.data.swapaxes(-1, -2) @ grad, right.shape)
            if right.requires_grad
            else None
        )
        return grad_left, grad_right

    return record(out, "matmul", (left, right), backward)


# ---------------------------------------------------------------- helpers


def _keep_dims(grad: Array, axis: int | tuple[int, ...] | None, ndim: int, kept: bool) -> Array:
    """A reduction's gradient with the reduced axes back as size 1, ready to broadcast."""
    if kept or axis is None:
        return grad.reshape((1,) * ndim) if axis is None and not kept else grad
    return np.expand_dims(grad, axis)


def _count(shape: tuple[int, ...], axis: int | tuple[int, ...] | None) -> int:
    """How many elements a reduction over ``axis`` combines into each result."""
    if axis is None:
        return int(np.prod(shape))
    axes = (axis,) if isinstance(axis, int) else axis
    return int(np.prod([shape[a] for a in axes]))


def _own(grad: Array) -> Array:
    """A writable array of its own (a broadcast view is read-only and shares memory)."""
    return grad if grad.flags.writeable and grad.base is None else np.array(grad)


def _axis_text(axis: int | tuple[int, ...] | None) -> str:
    return "" if axis is None else f"axis={axis}"


def _plain_index(index: Index) -> Index:
    """Tensors used as indices become their (integer) arrays."""
    if isinstance(index, Tensor):
        return index.data.astype(np.intp)
    if isinstance(index, tuple):
        return tuple(i.data.astype(np.intp) if isinstance(i, Tensor) else i for i in index)
    return index
