"""Vanishing and exploding gradients in a real deep network trained on MNIST.

A deep MLP (``depth`` hidden layers of ``width`` units: Linear, [BatchNorm],
activation; then Linear to 10 logits) is trained with plain SGD for a short
budget. At initialization and every ``log_every`` steps the gradient norm of
every layer's weight matrix is measured on a fixed probe batch of training
images: the picture of Glorot & Bengio (2010), "Understanding the difficulty of
training deep feedforward neural networks". The run ends with the test accuracy.

Plain SGD on purpose: adaptive optimizers (Adam) divide each step by a running
gradient scale and so hide the vanishing gradient this experiment shows.

Public API (used by ``chainrule gradients`` and the report):

- :class:`GradientConfig`: one experiment (every field is a CLI option).
- :func:`run_experiment` -> :class:`GradientReport` (``.to_dict()``, ``.table()``,
  ``.plot(path)``).
- :func:`suite_configs`, :func:`run_suite`, :func:`plot_comparison`,
  :func:`comparison_table`: the standard comparison (sigmoid vs. tanh vs. ReLU,
  initializations, BatchNorm, gradient clipping on an exploding network).

>>> config = GradientConfig(depth=3, width=8, train_size=256, epochs=1, log_every=2,
...                         probe_size=64, threads=1, progress=False)
>>> report = run_experiment(config)
>>> len(report.snapshots[0].grad_norms), report.layer_names[0], report.layer_names[-1]
(4, 'layer 1', 'output')
"""

from __future__ import annotations

import contextlib
import functools
import math
import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from chainrule.errors import ChainruleError
from chainrule.vanishing.activations import NAMES, activation

if TYPE_CHECKING:
    import torch
    from torch import nn

INITS = ("default", "xavier", "kaiming")


@dataclass(frozen=True)
class GradientConfig:
    """One deep-network experiment; defaults take a few seconds on a laptop CPU.

    ``chainrule gradients`` has one option per field (the comment after it is its help).
    """

    depth: int = 10  # hidden layers
    width: int = 64  # units per layer
    activation: str = "sigmoid"  # the nonlinearity of every hidden layer
    init: str = "default"  # PyTorch's default, Glorot (xavier) or He (kaiming) initialization
    init_gain: float = 1.0  # multiply the initial hidden weights (2 makes a ReLU network explode)
    batchnorm: bool = False  # BatchNorm before activations
    clip: float | None = None  # clip the global gradient norm to this value
    lr: float = 0.1  # SGD learning rate
    epochs: float = 2.0  # passes over the subset
    batch_size: int = 64  # images per SGD step
    train_size: int = 10_000  # training images used (a random subset of the 60 000)
    log_every: int = 25  # steps between gradient-norm measurements
    probe_size: int = 1000  # training images the gradient norms are measured on
    seed: int = 0  # seeds the subset, initialization and shuffling
    threads: int = 1  # torch threads: 64-wide layers gain nothing from more
    data_dir: str | None = None  # folder with the four MNIST IDX files
    progress: bool = True  # a progress bar on a terminal

    def label(self) -> str:
        """A short name, e.g. ``sigmoid default`` or ``relu kaiming x2 +clip 1``."""
        parts = [self.activation, self.init]
        if self.init_gain != 1.0:
            parts.append(f"x{self.init_gain:g}")
        if self.batchnorm:
            parts.append("+BN")
        if self.clip is not None:
            parts.append(f"+clip {self.clip:g}")
        return " ".join(parts)

    def validated(self) -> GradientConfig:
        """This config, or a one-line error naming the bad field (the CLI: its flag)."""
        if self.activation not in NAMES:
            raise ChainruleError.naming("{activation} must be one of {choices}",
                                        choices=", ".join(NAMES))
        if self.init not in INITS:
            raise ChainruleError.naming("{init} must be one of {choices}", choices=", ".join(INITS))
        positive: dict[str, float] = {
            "depth": self.depth, "width": self.width, "lr": self.lr,
            "epochs": self.epochs, "batch_size": self.batch_size,
            "train_size": self.train_size, "log_every": self.log_every,
            "probe_size": self.probe_size, "init_gain": self.init_gain,
        }  # fmt: skip
        if self.clip is not None:
            positive["clip"] = self.clip
        positive["threads"] = self.threads
        for name, value in positive.items():
            if not (math.isfinite(value) and value > 0):
                # "{lr} must be ...": the field's name is the parameter the message names
                raise ChainruleError.naming(f"{{{name}}} must be a positive number, got {{value}}",
                                            value=value)
        if self.train_size > 60_000 or self.probe_size > self.train_size:
            raise ChainruleError.naming("need {probe_size} <= {train_size} <= 60000")
        if self.depth > 200:
            raise ChainruleError.naming(
                "{depth} {value} is more than this experiment needs (200)", value=self.depth
            )
        return self


@dataclass(frozen=True)
class Snapshot:
    """The gradient norm of every layer at one moment of training."""

    step: int
    epoch: float
    grad_norms: list[float]  # per layer, input layer first, output layer last
    probe_loss: float
    train_loss: float | None  # mean training loss since the previous snapshot


@dataclass
class GradientReport:
    """Per-layer gradient norms over training, the loss curve and the test accuracy."""

    config: GradientConfig
    layer_names: list[str]
    snapshots: list[Snapshot] = field(default_factory=list)
    test_accuracy: float = math.nan  # percent
    steps: int = 0
    diverged_at: int | None = None  # the step whose loss was not finite
    clipped_steps: int = 0  # steps whose gradient norm exceeded --clip
    max_total_grad_norm: float = 0.0
    seconds: float = 0.0

    @property
    def at_init(self) -> list[float]:
        return self.snapshots[0].grad_norms

    def spread_at_init(self) -> float:
        """``log10(last hidden layer's norm / first layer's norm)``: orders of magnitude."""
        first, last = self.at_init[0], self.at_init[-2]
        return math.log10(last / first) if first > 0 and last > 0 else math.inf

    def to_dict(self) -> dict[str, Any]:
        from chainrule.show.notation import json_value

        return {
            "config": asdict(self.config),
            "label": self.config.label(),
            "layers": self.layer_names,
            "snapshots": [
                {
                    "step": s.step,
                    "epoch": s.epoch,
                    "grad_norms": [json_value(g) for g in s.grad_norms],
                    "probe_loss": json_value(s.probe_loss),
                    "train_loss": None if s.train_loss is None else json_value(s.train_loss),
                }
                for s in self.snapshots
            ],
            "orders_of_magnitude_at_init": json_value(self.spread_at_init()),
            "test_accuracy": json_value(self.test_accuracy),
            "steps": self.steps,
            "diverged_at": self.diverged_at,
            "clipped_steps": self.clipped_steps,
            "max_total_grad_norm": json_value(self.max_total_grad_norm),
            "seconds": round(self.seconds, 2),
        }

    def table(self) -> str:
        """Per layer: gradient norm at init, halfway and at the end, and relative to the output."""
        picks = sorted({0, len(self.snapshots) // 2, len(self.snapshots) - 1})
        header = ["layer", *(f"step {self.snapshots[k].step}" for k in picks), "init / output"]
        rows = []
        for i, name in enumerate(self.layer_names):
            norms = [f"{self.snapshots[k].grad_norms[i]:.3g}" for k in picks]
            ratio = _ratio(self.at_init[i], self.at_init[-1])
            rows.append([name, *norms, ratio])
        from chainrule.show.tables import aligned_table

        lines = [f"{self.config.label()}: {self.config.depth} hidden layers of "
                 f"{self.config.width}, SGD lr {self.config.lr:g}, {self.steps} steps",
                 "gradient norm of each layer's weights (probe batch)",
                 *aligned_table(header, rows), "", self.summary()]  # fmt: skip
        return "\n".join(lines)

    def summary(self) -> str:
        """Test accuracy, loss, and how the gradients are spread over the layers."""
        last = self.snapshots[-1]
        text = (
            f"test accuracy {self.test_accuracy:.2f}% after {self.steps} steps "
            f"({self.seconds:.1f} s); probe loss {self.snapshots[0].probe_loss:.3f} -> "
            f"{last.probe_loss:.3f}; at init the last hidden layer's gradient is "
            f"10^{self.spread_at_init():.1f} times the first layer's"
        )
        if self.diverged_at is not None:
            text += f"; DIVERGED (loss not finite) at step {self.diverged_at}"
        if self.config.clip is not None:
            text += (
                f"; clipped {self.clipped_steps} of {self.steps} steps "
                f"(largest gradient norm {self.max_total_grad_norm:.3g})"
            )
        return text

    def plot(self, path: str | Path, formats: Sequence[str] = ("png", "svg")) -> list[Path]:
        """Per-layer gradient norms over training and the loss curve; PNG and SVG."""
        return plot_comparison([self], path, per_snapshot=True, formats=formats)


def _ratio(value: float, reference: float) -> str:
    if value <= 0 or reference <= 0 or not math.isfinite(value / reference):
        return "-"
    return f"10^{math.log10(value / reference):.1f}"


# --- the network -----------------------------------------------------------------------------


def build_network(config: GradientConfig) -> nn.Sequential:
    """Flatten, ``depth`` x (Linear, [BatchNorm1d], activation), Linear to 10 logits."""
    from torch import nn

    nonlinearity: type[nn.Module] = getattr(nn, activation(config.activation).torch_module)
    layers: list[nn.Module] = [nn.Flatten()]
    inputs = 28 * 28
    for _ in range(config.depth):
        layers.append(nn.Linear(inputs, config.width))
        if config.batchnorm:
            layers.append(nn.BatchNorm1d(config.width))
        layers.append(nonlinearity())
        inputs = config.width
    layers.append(nn.Linear(inputs, 10))
    network = nn.Sequential(*layers)
    initialize(network, config)
    return network


def linear_layers(network: nn.Module) -> list[nn.Linear]:
    """The Linear layers, input first."""
    from torch import nn

    return [module for module in network.modules() if isinstance(module, nn.Linear)]


def initialize(network: nn.Module, config: GradientConfig) -> None:
    """Glorot (xavier) or He (kaiming) for every Linear layer, then scale hidden weights."""
    import torch
    from torch import nn

    layers = linear_layers(network)
    with torch.no_grad():
        for index, layer in enumerate(layers):
            hidden = index < len(layers) - 1
            nonlinearity: Any = config.activation if hidden else "linear"  # a Literal for torch
            if config.init == "xavier":
                nn.init.xavier_uniform_(layer.weight, gain=nn.init.calculate_gain(nonlinearity))
                nn.init.zeros_(layer.bias)
            elif config.init == "kaiming":
                nn.init.kaiming_normal_(layer.weight, nonlinearity=nonlinearity)
                nn.init.zeros_(layer.bias)
            if hidden:
                layer.weight.mul_(config.init_gain)


# --- training --------------------------------------------------------------------------------


@dataclass
class _Data:
    train_x: torch.Tensor  # normalised float32 [N, 1, 28, 28]
    train_y: torch.Tensor
    probe_x: torch.Tensor
    probe_y: torch.Tensor
    test_images: torch.Tensor  # uint8, as predict_logits wants them
    test_labels: torch.Tensor


def _load(config: GradientConfig) -> _Data:
    return _load_subset(config.data_dir, config.seed, config.train_size, config.probe_size)


@functools.lru_cache(maxsize=1)  # a suite's experiments all train on the same images
def _load_subset(data_dir: str | None, seed: int, train_size: int, probe_size: int) -> _Data:
    import torch

    from chainrule.mnist.data import load_mnist
    from chainrule.mnist.train import normalize

    directory = Path(data_dir) if data_dir else None
    images, labels = load_mnist("train", directory)
    chosen = torch.randperm(len(images), generator=torch.Generator().manual_seed(seed))
    chosen = chosen[:train_size]
    train_x, train_y = normalize(images[chosen]), labels[chosen]
    test_images, test_labels = load_mnist("test", directory)
    probe = slice(0, probe_size)
    return _Data(train_x, train_y, train_x[probe], train_y[probe], test_images, test_labels)


@contextlib.contextmanager
def _frozen_batchnorm(network: nn.Module) -> Iterator[None]:
    """BatchNorm in training mode whose running statistics do not move (momentum 0)."""
    from torch import nn

    norms = [m for m in network.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    saved = [m.momentum for m in norms]
    for m in norms:
        m.momentum = 0.0
    try:
        yield
    finally:
        for m, momentum in zip(norms, saved, strict=True):
            m.momentum = momentum


def measure(network: nn.Module, x: torch.Tensor, y: torch.Tensor) -> tuple[list[float], float]:
    """Gradient norm of each Linear layer's weights on ``(x, y)``, and the loss."""
    import torch.nn.functional as F

    network.zero_grad(set_to_none=True)
    with _frozen_batchnorm(network):
        loss = F.cross_entropy(network(x), y)
    loss.backward()  # type: ignore[no-untyped-call]
    norms = []
    for layer in linear_layers(network):
        grad = layer.weight.grad
        norms.append(float(grad.norm()) if grad is not None else 0.0)
    network.zero_grad(set_to_none=True)
    return norms, float(loss.detach())


@contextlib.contextmanager
def _torch_threads(threads: int) -> Iterator[None]:
    import torch

    saved = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(saved)


def run_experiment(config: GradientConfig) -> GradientReport:
    """Train the network, measuring every layer's gradient norm along the way."""
    import torch

    config = config.validated()
    with _torch_threads(config.threads):
        torch.manual_seed(config.seed)
        data = _load(config)
        network = build_network(config)
        names = [f"layer {i}" for i in range(1, config.depth + 1)] + ["output"]
        report = GradientReport(config, names)
        start = time.perf_counter()
        _train(network, data, config, report)
        report.test_accuracy = _accuracy(network, data, report)
        report.seconds = time.perf_counter() - start
    return report


def _train(network: nn.Module, data: _Data, config: GradientConfig, report: GradientReport) -> None:
    import torch
    import torch.nn.functional as F

    from chainrule.mnist.data import batch_indices, epoch_generator

    optimizer = torch.optim.SGD(network.parameters(), lr=config.lr)
    per_epoch = math.ceil(config.train_size / config.batch_size)
    total = max(1, round(config.epochs * per_epoch))
    _snapshot(network, data, report, 0, per_epoch, None)
    losses: list[float] = []
    with _progress(total, config) as bar:
        for epoch in range(math.ceil(total / per_epoch)):
            generator = epoch_generator(config.seed, epoch)
            for batch in batch_indices(config.train_size, config.batch_size, generator):
                loss = F.cross_entropy(network(data.train_x[batch]), data.train_y[batch])
                if not torch.isfinite(loss):
                    report.diverged_at = report.steps + 1
                    return
                optimizer.zero_grad(set_to_none=True)
                loss.backward()  # type: ignore[no-untyped-call]
                _clip(network, config, report)
                optimizer.step()
                report.steps += 1
                losses.append(float(loss.detach()))
                bar.update(1)
                if report.steps % config.log_every == 0 or report.steps == total:
                    _snapshot(network, data, report, report.steps, per_epoch, losses)
                    bar.set_postfix(loss=f"{losses[-1]:.3f}")
                    losses = []
                if report.steps == total:
                    return


def _clip(network: nn.Module, config: GradientConfig, report: GradientReport) -> None:
    """Record the global gradient norm; clip it to ``config.clip`` when asked."""
    import torch

    limit = config.clip if config.clip is not None else math.inf
    norm = float(torch.nn.utils.clip_grad_norm_(network.parameters(), limit))
    report.max_total_grad_norm = max(report.max_total_grad_norm, norm)
    if norm > limit:
        report.clipped_steps += 1


def _snapshot(
    network: nn.Module,
    data: _Data,
    report: GradientReport,
    step: int,
    per_epoch: int,
    losses: list[float] | None,
) -> None:
    norms, probe_loss = measure(network, data.probe_x, data.probe_y)
    train_loss = sum(losses) / len(losses) if losses else None
    report.snapshots.append(Snapshot(step, step / per_epoch, norms, probe_loss, train_loss))


def _accuracy(network: nn.Module, data: _Data, report: GradientReport) -> float:
    from chainrule.mnist.train import predict_logits

    logits = predict_logits(network, data.test_images)
    if report.diverged_at is not None and not logits.isfinite().all():
        return 100.0 * float((data.test_labels == 0).float().mean())  # NaN logits: argmax 0
    return 100.0 * float((logits.argmax(1) == data.test_labels).float().mean())


@contextlib.contextmanager
def _progress(total: int, config: GradientConfig) -> Iterator[Any]:
    import sys

    from tqdm import tqdm

    disable = not config.progress or not sys.stderr.isatty()
    with tqdm(total=total, desc=config.label(), unit="step", leave=False, disable=disable) as bar:
        yield bar


# --- the standard comparison -----------------------------------------------------------------


def suite_configs(base: GradientConfig | None = None) -> list[GradientConfig]:
    """Sigmoid (default, Glorot, BatchNorm), tanh (Glorot), ReLU (He); an exploding ReLU
    network (He init scaled by 2 per layer) without and with gradient clipping."""
    base = base or GradientConfig()
    exploding = replace(base, activation="relu", init="kaiming", init_gain=2.0)
    return [
        replace(base, activation="sigmoid", init="default"),
        replace(base, activation="sigmoid", init="xavier"),
        replace(base, activation="sigmoid", init="default", batchnorm=True),
        replace(base, activation="tanh", init="xavier"),
        replace(base, activation="relu", init="kaiming"),
        exploding,
        replace(exploding, clip=1.0),
    ]


def run_suite(configs: Sequence[GradientConfig]) -> list[GradientReport]:
    """Run every experiment of the comparison, in order."""
    return [run_experiment(config) for config in configs]


def comparison_table(reports: Sequence[GradientReport], markdown: bool = False) -> str:
    """One row per experiment: gradient spread at init, accuracy, divergence, clipping."""
    header = ["network", "‖grad‖ layer 1 at init", "‖grad‖ last hidden at init",
              "log10 ratio", "test accuracy %", "note"]  # fmt: skip
    rows = []
    for report in reports:
        note = f"diverged at step {report.diverged_at}" if report.diverged_at else ""
        if report.config.clip is not None:
            note = f"clipped {report.clipped_steps}/{report.steps} steps"
        rows.append([
            report.config.label(), f"{report.at_init[0]:.3g}", f"{report.at_init[-2]:.3g}",
            f"{report.spread_at_init():.1f}", f"{report.test_accuracy:.2f}", note,
        ])  # fmt: skip
    from chainrule.show.tables import aligned_table, markdown_table

    return "\n".join(markdown_table(header, rows) if markdown else aligned_table(header, rows))


def plot_comparison(
    reports: Sequence[GradientReport],
    path: str | Path,
    per_snapshot: bool = False,
    formats: Sequence[str] = ("png", "svg"),
) -> list[Path]:
    """Gradient norm per layer (log) and the probe loss over training; PNG and SVG.

    With ``per_snapshot`` (one report) the first panel shows every measurement
    (dark: initialization, light: the end). Otherwise one line per network: the
    norms at initialization, the norms at the end of training, and the loss.
    """
    from chainrule.vanishing.plots import new_figure, save_figure

    if per_snapshot:
        figure, (norms, loss) = new_figure(12, 4.4, columns=2)
        _plot_snapshots(norms, reports[0])
    else:
        figure, (norms, final, loss) = new_figure(17, 4.8, columns=3)
        _plot_layer_norms(norms, reports, at_end=False)
        _plot_layer_norms(final, reports, at_end=True)
    _plot_losses(loss, reports, single=per_snapshot)
    return save_figure(figure, Path(path).with_suffix(""), formats)


def _style(k: int, report: GradientReport) -> dict[str, Any]:
    import matplotlib

    dashed = report.config.clip is not None or report.diverged_at is not None
    colour = matplotlib.colormaps["tab10"](k % 10)
    return {"color": colour, "ls": "--" if dashed else "-", "lw": 1.8}


def _layer_axis(ax: Any, names: list[str], title: str) -> None:
    import numpy as np

    ax.set_yscale("log")
    _at_least_decades(ax, 2.0)
    ax.set_xticks(np.arange(1, len(names) + 1), [n.replace("layer ", "") for n in names])
    ax.set(xlabel="layer (1 = next to the input)", ylabel="‖∂loss/∂W‖ (probe batch)", title=title)
    ax.legend(frameon=False, fontsize=8)


def _plot_snapshots(ax: Any, report: GradientReport) -> None:
    import matplotlib
    import numpy as np

    shades = matplotlib.colormaps["viridis"]
    layers = np.arange(1, len(report.layer_names) + 1)
    last = len(report.snapshots) - 1
    for j, snap in enumerate(report.snapshots):
        label = f"step {snap.step}" if j in (0, last) else None
        ax.plot(layers, _positive(snap.grad_norms), color=shades(0.9 * j / max(1, last)),
                lw=1.5, label=label)  # fmt: skip
    title = f"{report.config.label()}: gradient norm per layer, over training"
    _layer_axis(ax, report.layer_names, title)


def _plot_layer_norms(ax: Any, reports: Sequence[GradientReport], at_end: bool) -> None:
    import numpy as np

    for k, report in enumerate(reports):
        if at_end and report.diverged_at is not None:
            continue  # no finite gradient after divergence
        snap = report.snapshots[-1 if at_end else 0]
        layers = np.arange(1, len(report.layer_names) + 1)
        ax.plot(layers, _positive(snap.grad_norms), marker="o", ms=3.5,
                label=report.config.label(), **_style(k, report))  # fmt: skip
    when = "after training" if at_end else "at initialization"
    _layer_axis(ax, reports[0].layer_names, f"gradient norm of each layer's weights, {when}")


def _plot_losses(ax: Any, reports: Sequence[GradientReport], single: bool) -> None:
    for k, report in enumerate(reports):
        steps = [s.step for s in report.snapshots]
        losses = [s.probe_loss for s in report.snapshots]
        label = f"{report.config.label()}: {report.test_accuracy:.1f}% test"
        style = _style(k, report) if not single else {"color": "tab:blue", "lw": 1.8}
        if report.diverged_at is not None:
            label = f"{report.config.label()}: diverged at step {report.diverged_at}"
            ax.plot([*steps, report.diverged_at], [*losses, losses[-1]], marker="X", ms=9,
                    markevery=[len(steps)], color=style["color"], lw=1, label=label)  # fmt: skip
            continue
        ax.plot(steps, losses, label=label, **style)
    ax.axhline(math.log(10), color="0.6", ls=":", lw=1)
    ax.text(0.99, math.log(10) * 1.08, "chance: ln 10", color="0.4", fontsize=8, ha="right",
            transform=ax.get_yaxis_transform())  # fmt: skip
    last_step = max(max(s.step for s in r.snapshots) for r in reports)
    ax.set_xlim(0, max(10, last_step, *(r.diverged_at or 0 for r in reports)) * 1.02)
    finite = [s.probe_loss for r in reports for s in r.snapshots if math.isfinite(s.probe_loss)]
    ax.set_yscale("log")
    ax.set_ylim(min(0.1, min(finite) * 0.8), max(10.0, max(finite) * 1.5))
    ax.set(
        xlabel="SGD step",
        ylabel="cross-entropy on the probe batch (log)",
        title="learning (test accuracy at the end)",
    )
    ax.legend(frameon=False, fontsize=8)


def _at_least_decades(ax: Any, decades: float) -> None:
    """Widen a log axis to span at least ``decades`` (a narrower one has unreadable ticks)."""
    low, high = ax.get_ylim()
    span = math.log10(high / low)
    if span < decades:
        pad = 10 ** ((decades - span) / 2)
        ax.set_ylim(low / pad, high * pad)


def _positive(values: Sequence[float]) -> list[float]:
    """Zeros and non-finite norms become NaN, so a log axis leaves a gap instead of failing."""
    return [v if v > 0 and math.isfinite(v) else math.nan for v in values]
