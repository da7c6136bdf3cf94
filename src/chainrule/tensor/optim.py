"""Optimizers for chainrule tensors: SGD with momentum and Adam, with PyTorch's update rules.

Each :meth:`step` reads every parameter's ``.grad`` and updates ``.data`` in
place. The learning rate (and momentum, or Adam's β₁) may be passed to each step,
which is how a schedule drives them; the state is a few arrays per parameter.

>>> from chainrule.tensor import Tensor
>>> w = Tensor([1.0, -2.0], requires_grad=True)
>>> optimizer = SGD([w], lr=0.25)
>>> (w * w).sum().backward()
>>> optimizer.step()
>>> w.tolist()
[0.5, -1.0]
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from chainrule.tensor.tensor import Array, Tensor


class Optimizer:
    """What every optimizer shares: the parameters, a step count, buffers, zero_grad."""

    buffer_count = 0  # state arrays kept per parameter

    def __init__(
        self,
        params: Sequence[Tensor],
        lr: float,
        weight_decay: float = 0.0,
        decay: Sequence[Tensor] | None = None,
    ) -> None:
        self.params = list(params)
        self.lr = lr
        self.weight_decay = weight_decay
        # Which parameters weight decay shrinks (default all; a trainer may spare biases).
        chosen = {id(p) for p in (self.params if decay is None else decay)}
        self.decayed = [id(p) in chosen for p in self.params]
        self.steps = 0
        self.buffers: list[list[Array]] = [
            [np.zeros_like(p.data) for p in self.params] for _ in range(self.buffer_count)
        ]

    def step(self, lr: float | None = None, momentum: float | None = None) -> None:
        """One update (the rate and momentum default to the optimizer's own)."""
        raise NotImplementedError

    def zero_grad(self) -> None:
        for p in self.params:
            p.grad = None

    def gradients(self) -> list[Array]:
        """Each parameter's gradient, plus L2 weight decay · w where asked for (new arrays)."""
        grads = []
        for p, decayed in zip(self.params, self.decayed, strict=True):
            if p.grad is None:
                raise RuntimeError("every parameter needs a gradient: call backward() first")
            decays = self.weight_decay and decayed
            grads.append(p.grad + self.weight_decay * p.data if decays else p.grad)
        return grads

    def state_dict(self) -> dict[str, Any]:
        return {"steps": self.steps, "buffers": [[b.copy() for b in row] for row in self.buffers]}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        for mine, saved in zip(self.buffers, state["buffers"], strict=True):
            for buffer, value in zip(mine, saved, strict=True):
                buffer[...] = value
        self.steps = int(state["steps"])


class SGD(Optimizer):
    """v ← μ·v + g; w ← w − lr·v (or w − lr·(g + μ·v) with Nesterov), as ``torch.optim.SGD``."""

    buffer_count = 1

    def __init__(
        self,
        params: Sequence[Tensor],
        lr: float,
        momentum: float = 0.0,
        nesterov: bool = False,
        weight_decay: float = 0.0,
        decay: Sequence[Tensor] | None = None,
    ) -> None:
        super().__init__(params, lr, weight_decay, decay)
        self.momentum = momentum
        self.nesterov = nesterov

    def step(self, lr: float | None = None, momentum: float | None = None) -> None:
        lr = self.lr if lr is None else lr
        mu = self.momentum if momentum is None else momentum
        self.steps += 1
        for p, g, velocity in zip(self.params, self.gradients(), self.buffers[0], strict=True):
            if not mu:
                p.data -= lr * g
                continue
            if self.steps == 1:  # torch starts the buffer at the first gradient
                velocity[...] = g
            else:
                velocity *= mu
                velocity += g
            p.data -= lr * (g + mu * velocity) if self.nesterov else lr * velocity


class Adam(Optimizer):
    """Kingma & Ba's Adam as ``torch.optim.Adam`` (``decoupled``: AdamW's weight decay).

    m ← β₁·m + (1 − β₁)·g;  v ← β₂·v + (1 − β₂)·g²;
    w ← w − lr / (1 − β₁ᵗ) · m / (√v / √(1 − β₂ᵗ) + ε).
    """

    buffer_count = 2

    def __init__(
        self,
        params: Sequence[Tensor],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        decoupled: bool = False,
        decay: Sequence[Tensor] | None = None,
    ) -> None:
        super().__init__(params, lr, 0.0 if decoupled else weight_decay, decay)
        self.beta1, self.beta2 = betas
        self.eps = eps
        self.decoupled_decay = weight_decay if decoupled else 0.0

    def step(self, lr: float | None = None, momentum: float | None = None) -> None:
        """One update; ``momentum`` overrides β₁ (a one-cycle schedule cycles it)."""
        lr = self.lr if lr is None else lr
        beta1 = self.beta1 if momentum is None else momentum
        self.steps += 1
        # torch.optim.Adam corrects the bias with β₁ᵗ of the *current* β₁.
        bias1 = 1 - beta1**self.steps
        bias2_sqrt = math.sqrt(1 - self.beta2**self.steps)
        first, second = self.buffers
        rows = zip(self.params, self.decayed, self.gradients(), first, second, strict=True)
        for p, decayed, g, m, v in rows:
            if self.decoupled_decay and decayed:
                p.data *= 1 - lr * self.decoupled_decay
            m *= beta1
            m += (1 - beta1) * g
            v *= self.beta2
            v += (1 - self.beta2) * g * g
            denominator = np.sqrt(v)
            denominator /= bias2_sqrt
            denominator += self.eps
            p.data -= (lr / bias1) * m / denominator
