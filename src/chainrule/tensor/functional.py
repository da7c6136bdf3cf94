"""Functions of tensors a network needs: activations, log-softmax, cross-entropy, dropout.

Each is either built from the primitive operations of :mod:`chainrule.tensor.tensor`
(so its gradient follows from theirs), or — where composing would be slow or
unstable — one primitive with its own backward rule (``log_softmax``,
``concatenate``).

>>> logits = Tensor([[2.0, 0.0, -1.0], [0.5, 0.5, 0.5]], requires_grad=True)
>>> loss = cross_entropy(logits, np.array([0, 2]))
>>> round(loss.item(), 4)
0.6342
>>> loss.backward()
>>> [round(float(g), 4) for g in logits.grad[0]]
[-0.0781, 0.0571, 0.021]
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from chainrule.tensor.tensor import Array, Tensor, elementwise, lift, record

__all__ = [
    "concatenate",
    "conv2d",
    "cross_entropy",
    "dropout",
    "elementwise",
    "log_softmax",
    "maximum",
    "minimum",
    "relu",
    "sigmoid",
    "softmax",
    "tanh",
]


def relu(x: Tensor) -> Tensor:
    return elementwise("relu", x)


def sigmoid(x: Tensor) -> Tensor:
    return elementwise("sigmoid", x)


def tanh(x: Tensor) -> Tensor:
    return elementwise("tanh", x)


def maximum(x: Any, y: Any) -> Tensor:
    """Elementwise max (the registry's ``max``; a tie splits the gradient 0.5/0.5)."""
    return elementwise("max", x, y)


def minimum(x: Any, y: Any) -> Tensor:
    return elementwise("min", x, y)


def log_softmax(x: Tensor, axis: int = -1) -> Tensor:
    """log softmax(x) along ``axis``, stable for any logits.

    Subtracting the maximum first keeps ``exp`` from overflowing:
    log softmax(x) = x − m − log Σ exp(x − m). The backward rule is
    ∂L/∂x = ∂L/∂y − softmax(x) · Σ ∂L/∂y (one primitive, no exp/log/sum nodes).

    >>> y = log_softmax(Tensor([[1000.0, 0.0]]))
    >>> y.tolist()
    [[0.0, -1000.0]]
    """
    shifted = x.data - x.data.max(axis=axis, keepdims=True)
    out = shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))

    def backward(grad: Array) -> tuple[Array]:
        return (grad - np.exp(out) * grad.sum(axis=axis, keepdims=True),)

    return record(out, "log_softmax", (x,), backward, f"axis={axis}")


def softmax(x: Tensor, axis: int = -1) -> Tensor:
    """Probabilities along ``axis``: exp of :func:`log_softmax`."""
    return log_softmax(x, axis).exp()


def cross_entropy(logits: Tensor, labels: Any, label_smoothing: float = 0.0) -> Tensor:
    """Mean cross-entropy of logits [N, C] against integer labels [N], as PyTorch's.

    loss = −(1/N) Σ target · log softmax(logits), where each row of ``target`` is the
    label's one-hot vector, smoothed by ε: 1 − ε + ε/C on the label and ε/C elsewhere.
    Four operations in the graph (log_softmax, ·, sum, ·), the same as written by hand.
    """
    targets = np.asarray(labels.data if isinstance(labels, Tensor) else labels).astype(np.intp)
    if logits.ndim != 2 or targets.shape != (logits.shape[0],):
        raise ValueError(f"cross_entropy needs logits [N, C] and labels [N], got "
                         f"{logits.shape} and {targets.shape}")  # fmt: skip
    rows, classes = logits.shape
    target = np.full(logits.shape, label_smoothing / classes, dtype=logits.dtype)
    target[np.arange(rows), targets] += 1 - label_smoothing
    log_probs = log_softmax(logits, axis=1)
    return (log_probs * lift(target, logits)).sum() * (-1.0 / rows)


def dropout(x: Tensor, p: float, rng: np.random.Generator, training: bool = True) -> Tensor:
    """Zero each element with probability ``p`` and scale the rest by 1/(1 − p) (training only).

    >>> x = Tensor(np.ones((2, 4)))
    >>> dropout(x, 0.5, np.random.default_rng(0)).tolist()
    [[2.0, 0.0, 0.0, 0.0], [2.0, 2.0, 2.0, 2.0]]
    """
    if not training or p == 0:
        return x
    if not 0 <= p < 1:
        raise ValueError(f"dropout probability must be in [0, 1), got {p}")
    keep = (rng.random(x.shape) >= p).astype(x.dtype) / x.dtype.type(1 - p)
    return x * lift(keep, x)


def concatenate(tensors: Sequence[Tensor], axis: int = 0) -> Tensor:
    """Join tensors along ``axis``; each gets back its own slice of the gradient.

    >>> a, b = Tensor([[1.0]], requires_grad=True), Tensor([[2.0, 3.0]], requires_grad=True)
    >>> (concatenate([a, b], axis=1) * Tensor([[1.0, 2.0, 3.0]])).sum().backward()
    >>> a.grad.tolist(), b.grad.tolist()
    ([[1.0]], [[2.0, 3.0]])
    """
    parts = tuple(tensors)
    if not parts:
        raise ValueError("concatenate needs at least one tensor")
    out = np.concatenate([t.data for t in parts], axis=axis)
    ends = np.cumsum([t.shape[axis] for t in parts])[:-1]

    def backward(grad: Array) -> list[Array]:
        return list(np.split(grad, ends, axis=axis))

    return record(out, "concatenate", parts, backward, f"axis={axis}")


def conv2d(x: Tensor, weight: Tensor, bias: Tensor | None = None, stride: int = 1,
           padding: int = 0) -> Tensor:  # fmt: skip
    """2-D convolution of x [N, C, H, W] with weight [O, C, kh, kw], as ``torch.conv2d``.

    im2col: every kh×kw window of the (zero-padded) input is a view (no copy), and
    the convolution is one tensor product of the windows with the kernels. Backward:
    ∂L/∂W = Σ windows · ∂L/∂y, and ∂L/∂x adds each window's share back where it was
    read (one strided slice per kernel position, so overlapping windows add up).

    >>> x = Tensor(np.arange(16.0).reshape(1, 1, 4, 4), requires_grad=True)
    >>> w = Tensor(np.ones((1, 1, 2, 2)), requires_grad=True)
    >>> y = conv2d(x, w, stride=2)
    >>> y.tolist()
    [[[[10.0, 18.0], [42.0, 50.0]]]]
    >>> y.sum().backward()
    >>> x.grad[0, 0].tolist()[0], w.grad.tolist()
    ([1.0, 1.0, 1.0, 1.0], [[[[20.0, 24.0], [36.0, 40.0]]]])
    """
    if x.ndim != 4 or weight.ndim != 4 or x.shape[1] != weight.shape[1]:
        raise ValueError(f"conv2d needs x [N, C, H, W] and weight [O, C, kh, kw], got "
                         f"{x.shape} and {weight.shape}")  # fmt: skip
    kh, kw = weight.shape[2:]
    padded = np.pad(x.data, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    windows = np.lib.stride_tricks.sliding_window_view(padded, (kh, kw), axis=(2, 3))
    windows = windows[:, :, ::stride, ::stride]  # [N, C, OH, OW, kh, kw]
    rows, cols = windows.shape[2:4]
    out = np.tensordot(windows, weight.data, axes=([1, 4, 5], [1, 2, 3])).transpose(0, 3, 1, 2)

    def backward(grad: Array) -> tuple[Array | None, Array | None]:
        grad_weight = np.tensordot(grad, windows, axes=([0, 2, 3], [0, 2, 3]))
        if not x.requires_grad:
            return None, grad_weight
        per_window = np.tensordot(grad, weight.data, axes=([1], [0])).transpose(0, 3, 1, 2, 4, 5)
        grad_padded = np.zeros_like(padded)
        for i in range(kh):
            for j in range(kw):
                down = slice(i, i + stride * rows, stride)  # the rows window (i, j) read
                across = slice(j, j + stride * cols, stride)
                grad_padded[:, :, down, across] += per_window[..., i, j]  # [N, C, OH, OW]
        height, width = x.shape[2:]
        return grad_padded[:, :, padding : padding + height, padding : padding + width], grad_weight

    y = record(np.ascontiguousarray(out), "conv2d", (x, weight), backward,
               f"stride={stride}, padding={padding}")  # fmt: skip
    return y if bias is None else y + bias.reshape(1, -1, 1, 1)
