"""chainrule's optimizers and schedules step for step against torch.optim's."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from chainrule.mnist.optim import Optimizer, learning_rate


def _model(seed: int) -> torch.nn.Module:
    torch.manual_seed(seed)
    return torch.nn.Sequential(torch.nn.Linear(6, 5), torch.nn.Tanh(), torch.nn.Linear(5, 3))


def _loss(model: torch.nn.Module, step: int) -> torch.Tensor:
    generator = torch.Generator().manual_seed(step)
    x = torch.randn(8, 6, generator=generator)
    y = torch.randint(0, 3, (8,), generator=generator)
    return torch.nn.functional.cross_entropy(model(x), y)


def _torch_optimizer(
    kind: str, model: torch.nn.Module, lr: float, wd: float
) -> torch.optim.Optimizer:
    decay = [p for p in model.parameters() if p.dim() > 1]
    rest = [p for p in model.parameters() if p.dim() <= 1]
    groups = [{"params": decay, "weight_decay": wd}, {"params": rest, "weight_decay": 0.0}]
    if kind == "adam":
        return torch.optim.Adam(groups, lr=lr)
    if kind == "adamw":
        return torch.optim.AdamW(groups, lr=lr)
    if kind == "sgd":
        return torch.optim.SGD(groups, lr=lr, momentum=0.9, nesterov=True)
    return torch.optim.Adadelta(groups, lr=lr)


@pytest.mark.parametrize("kind", ["adam", "adamw", "sgd", "adadelta"])
@pytest.mark.parametrize("schedule", ["onecycle", "cosine", "step", "constant"])
def test_matches_torch_optim(kind: str, schedule: str) -> None:
    steps_per_epoch, epochs, peak, wd = 4, 3, 0.05, 0.01
    theirs, ours = _model(1), _model(1)
    reference = _torch_optimizer(kind, theirs, peak, wd)
    total = steps_per_epoch * epochs
    lr_scheduler = torch.optim.lr_scheduler
    if schedule == "onecycle":
        scheduler: lr_scheduler.LRScheduler = lr_scheduler.OneCycleLR(
            reference, peak, total_steps=total, pct_start=0.25, cycle_momentum=kind != "adadelta"
        )
    elif schedule == "cosine":
        scheduler = lr_scheduler.CosineAnnealingLR(reference, T_max=total)
    elif schedule == "step":
        scheduler = lr_scheduler.StepLR(reference, step_size=1, gamma=0.7)
    else:
        scheduler = lr_scheduler.ConstantLR(reference, factor=1.0, total_iters=0)
    params = list(ours.parameters())
    mine = Optimizer(params, kind, 0.9, wd, [p for p in params if p.dim() > 1])
    for step in range(total):
        reference.zero_grad()
        _loss(theirs, step).backward()
        reference.step()
        if schedule != "step" or (step + 1) % steps_per_epoch == 0:
            scheduler.step()
        mine.zero_grad()
        _loss(ours, step).backward()
        lr, momentum = learning_rate(schedule, step, steps_per_epoch, epochs, peak, 0.25, 0.7)
        mine.step(lr, momentum if kind != "adadelta" else None)
    for a, b in zip(theirs.parameters(), ours.parameters(), strict=True):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)


def test_state_round_trip_continues_identically() -> None:
    model = _model(2)
    optimizer = Optimizer(list(model.parameters()), "adam")
    for step in range(3):
        optimizer.zero_grad()
        _loss(model, step).backward()
        optimizer.step(0.01, 0.9)
    saved_model = {k: v.clone() for k, v in model.state_dict().items()}
    saved = optimizer.state_dict()
    copy = _model(3)
    copy.load_state_dict(saved_model)
    resumed = Optimizer(list(copy.parameters()), "adam")
    resumed.load_state_dict(saved)
    for net, opt in ((model, optimizer), (copy, resumed)):
        opt.zero_grad()
        _loss(net, 9).backward()
        opt.step(0.01, 0.9)
    for a, b in zip(model.parameters(), copy.parameters(), strict=True):
        assert torch.equal(a, b)


@settings(max_examples=50, deadline=None)
@given(
    total=st.integers(2, 500),
    warmup=st.floats(0.05, 0.9),
    data=st.data(),
)
def test_onecycle_stays_within_its_bounds(total: int, warmup: float, data: st.DataObject) -> None:
    step = data.draw(st.integers(0, total - 1))
    lr, momentum = learning_rate("onecycle", step, total, 1, 1.0, warmup)
    assert 0 < lr <= 1.0 + 1e-12
    assert momentum is not None and 0.85 - 1e-12 <= momentum <= 0.95 + 1e-12


def test_fixed_betas_without_momentum_cycling_match_torch_adam() -> None:
    # The fast and mlp presets: Adam betas (0.7, 0.9) held fixed under OneCycle.
    steps, peak = 12, 0.05
    theirs, ours = _model(4), _model(4)
    reference = torch.optim.Adam(theirs.parameters(), lr=peak, betas=(0.7, 0.9))
    scheduler = torch.optim.lr_scheduler.OneCycleLR(
        reference, peak, total_steps=steps, pct_start=0.25, cycle_momentum=False
    )
    mine = Optimizer(list(ours.parameters()), "adam", momentum=0.7, beta2=0.9)
    for step in range(steps):
        reference.zero_grad()
        _loss(theirs, step).backward()
        reference.step()
        scheduler.step()
        mine.zero_grad()
        _loss(ours, step).backward()
        lr, momentum = learning_rate("onecycle", step, steps, 1, peak, 0.25, cycle_momentum=False)
        assert momentum is None
        mine.step(lr, momentum)
    for a, b in zip(theirs.parameters(), ours.parameters(), strict=True):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)
