"""Optimizers and learning-rate schedules, small enough to read, exact as torch.optim's.

Why not ``torch.optim``? Creating any torch optimizer imports ``torch._dynamo``
(about 1.5 s on a laptop CPU, more on a busy one), a fifth of the whole `fast`
run. These implement the same update rules with the same ``_foreach`` kernels
(tests check them against torch.optim step by step), and the schedules are plain
functions of the step number, so a checkpoint needs only the step count.

>>> import torch
>>> weight = torch.nn.Parameter(torch.tensor([1.0, -2.0]))
>>> optimizer = Optimizer([weight], "sgd", momentum=0.0)
>>> (weight ** 2).sum().backward()
>>> optimizer.step(lr=0.25, momentum=0.0)
>>> weight.tolist()
[0.5, -1.0]
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import torch

if TYPE_CHECKING:
    from chainrule.mnist.config import TrainConfig

ADAM_BETA2 = 0.999
ADAM_EPS = 1e-8
ADADELTA_RHO = 0.9
ADADELTA_EPS = 1e-6

# OneCycle's fixed shape, as torch.optim.lr_scheduler.OneCycleLR's defaults.
ONECYCLE_DIV = 25.0  # initial lr = peak / 25
ONECYCLE_FINAL_DIV = 1e4  # final lr = initial / 1e4
ONECYCLE_MOMENTUM = (0.85, 0.95)  # momentum (Adam's beta1) cycles inversely to the rate


class Optimizer:
    """Adam, AdamW, SGD with Nesterov momentum or Adadelta over a list of parameters.

    ``weight_decay`` applies to ``decay`` only (weights; biases and norms are spared).
    The rate and momentum are passed to each :meth:`step`, by the schedule.
    """

    def __init__(
        self,
        params: Sequence[torch.Tensor],
        kind: str,
        momentum: float = 0.9,
        weight_decay: float = 0.0,
        decay: Sequence[torch.Tensor] | None = None,
        beta2: float = ADAM_BETA2,
    ) -> None:
        if kind not in ("adam", "adamw", "sgd", "adadelta"):
            raise ValueError(f"unknown optimizer {kind!r}")
        self.params: list[torch.Tensor] = list(params)
        self.kind = kind
        self.momentum = momentum
        self.beta2 = beta2
        self.weight_decay = weight_decay
        decayed = {id(p) for p in (decay or [])}
        self.decayed = [p for p in self.params if id(p) in decayed]
        self.steps = 0
        self.buffers: list[list[torch.Tensor]] = [
            [torch.zeros_like(p, memory_format=torch.preserve_format) for p in self.params]
            for _ in range(2 if kind in ("adam", "adamw", "adadelta") else 1)
        ]

    def zero_grad(self) -> None:
        for p in self.params:
            p.grad = None

    @torch.no_grad()
    def step(self, lr: float, momentum: float | None = None) -> None:
        """One update with rate ``lr`` (and momentum / beta1 ``momentum`` if given)."""
        momentum = self.momentum if momentum is None else momentum
        pairs = [(p, p.grad) for p in self.params if p.grad is not None]
        if len(pairs) != len(self.params):
            raise RuntimeError("every parameter needs a gradient")
        params: list[torch.Tensor] = [p for p, _ in pairs]
        grads = [g for _, g in pairs if g is not None]
        self.steps += 1
        if self.weight_decay and self.decayed:
            if self.kind == "adamw":  # decoupled: shrink the weights themselves
                torch._foreach_mul_(self.decayed, 1 - lr * self.weight_decay)
            else:  # L2: add decay * w to the gradient (a new tensor; grads stay untouched)
                index = {id(p): i for i, p in enumerate(params)}
                for p in self.decayed:
                    grads[index[id(p)]] = grads[index[id(p)]].add(p, alpha=self.weight_decay)
        if self.kind in ("adam", "adamw"):
            self._adam(params, grads, lr, momentum)
        elif self.kind == "sgd":
            self._nesterov(params, grads, lr, momentum)
        else:
            self._adadelta(params, grads, lr)

    def _adam(
        self, params: list[torch.Tensor], grads: list[torch.Tensor], lr: float, beta1: float
    ) -> None:
        first, second = self.buffers
        torch._foreach_lerp_(first, grads, 1 - beta1)
        torch._foreach_mul_(second, self.beta2)
        torch._foreach_addcmul_(second, grads, grads, 1 - self.beta2)
        # torch.optim.Adam's bias correction uses beta1 ** step with the *current* beta1.
        bias1 = 1 - beta1**self.steps
        bias2_sqrt = math.sqrt(1 - self.beta2**self.steps)
        denominator = torch._foreach_sqrt(second)
        torch._foreach_div_(denominator, bias2_sqrt)
        torch._foreach_add_(denominator, ADAM_EPS)
        torch._foreach_addcdiv_(params, first, denominator, -lr / bias1)

    def _nesterov(
        self, params: list[torch.Tensor], grads: list[torch.Tensor], lr: float, momentum: float
    ) -> None:
        (velocity,) = self.buffers
        if self.steps == 1:  # torch starts the buffer at the first gradient
            torch._foreach_copy_(velocity, grads)
        else:
            torch._foreach_mul_(velocity, momentum)
            torch._foreach_add_(velocity, grads)
        updates = torch._foreach_add(grads, velocity, alpha=momentum)
        torch._foreach_add_(params, updates, alpha=-lr)

    def _adadelta(self, params: list[torch.Tensor], grads: list[torch.Tensor], lr: float) -> None:
        square_avg, delta_avg = self.buffers
        torch._foreach_mul_(square_avg, ADADELTA_RHO)
        torch._foreach_addcmul_(square_avg, grads, grads, 1 - ADADELTA_RHO)
        std = torch._foreach_add(square_avg, ADADELTA_EPS)
        torch._foreach_sqrt_(std)
        delta = torch._foreach_add(delta_avg, ADADELTA_EPS)
        torch._foreach_sqrt_(delta)
        torch._foreach_div_(delta, std)
        torch._foreach_mul_(delta, grads)
        torch._foreach_mul_(delta_avg, ADADELTA_RHO)
        torch._foreach_addcmul_(delta_avg, delta, delta, 1 - ADADELTA_RHO)
        torch._foreach_add_(params, delta, alpha=-lr)

    def state_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "steps": self.steps, "buffers": self.buffers}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if state["kind"] != self.kind or len(state["buffers"]) != len(self.buffers):
            raise ValueError(f"optimizer state is for {state['kind']}, not {self.kind}")
        for mine, saved in zip(self.buffers, state["buffers"], strict=True):
            for buffer, value in zip(mine, saved, strict=True):
                buffer.copy_(value)
        self.steps = int(state["steps"])


def onecycle(step: int, total: int, peak: float, warmup: float) -> tuple[float, float]:
    """(rate, momentum) at 0-based ``step`` of torch's OneCycleLR (cosine, two phases).

    >>> [round(v, 6) for v in onecycle(0, 100, 1.0, 0.25)]
    [0.04, 0.95]
    >>> onecycle(24, 100, 1.0, 0.25)
    (1.0, 0.85)
    """
    low, high = ONECYCLE_MOMENTUM
    start = peak / ONECYCLE_DIV
    phases = [
        (0.0, float(warmup * total) - 1, start, peak, high, low),
        (float(warmup * total) - 1, float(total - 1), peak, start / ONECYCLE_FINAL_DIV, low, high),
    ]
    for begin, end, lr_from, lr_to, m_from, m_to in phases:
        if step <= end or end == phases[-1][1]:
            fraction = (step - begin) / (end - begin) if end > begin else 1.0
            return _cosine(lr_from, lr_to, fraction), _cosine(m_from, m_to, fraction)
    raise AssertionError("unreachable")


def _cosine(start: float, end: float, fraction: float) -> float:
    return end + (start - end) / 2.0 * (math.cos(math.pi * fraction) + 1)


def learning_rate(
    schedule: str,
    step: int,
    steps_per_epoch: int,
    epochs: int,
    peak: float,
    warmup: float = 0.25,
    gamma: float = 0.7,
    cycle_momentum: bool = True,
) -> tuple[float, float | None]:
    """(rate, momentum or None) for 0-based optimizer ``step`` under ``schedule``.

    None leaves the optimizer's own momentum; only ``onecycle`` with ``cycle_momentum``
    sets one.

    >>> learning_rate("step", 250, 100, 3, 1.0, gamma=0.5)  # third epoch
    (0.25, None)
    >>> learning_rate("cosine", 50, 100, 1, 1.0)[0]
    0.5
    """
    total = steps_per_epoch * epochs
    if schedule == "onecycle":
        rate, momentum = onecycle(step, total, peak, warmup)
        return rate, momentum if cycle_momentum else None
    if schedule == "cosine":
        return _cosine(peak, 0.0, step / total), None
    if schedule == "step":
        return peak * gamma ** (step // steps_per_epoch), None
    return peak, None


def scheduled_rate(
    config: TrainConfig, step: int, steps_per_epoch: int
) -> tuple[float, float | None]:
    """:func:`learning_rate` with a training config's schedule settings (both engines use it).

    >>> from chainrule.mnist.config import PRESETS
    >>> scheduled_rate(PRESETS["fast"], 0, 100)[1] is None  # fast keeps Adam's beta1 fixed
    True
    """
    return learning_rate(
        config.schedule, step, steps_per_epoch, config.epochs, config.lr, config.warmup,
        config.gamma, config.cycle_momentum,
    )  # fmt: skip
