"""How good is a trained digit recognizer, and where does it go wrong?

:func:`evaluate_model` runs a model over labelled images (by default the test
split of the data it was trained on) and returns an :class:`Evaluation`:
accuracy, per-class precision and recall, the confusion matrix and the
misclassified examples, most confident mistakes first. :func:`plot_confusion`
and :func:`plot_misclassified` draw them (matplotlib, Agg) as PNG bytes and
optionally write the file.

>>> import torch
>>> labels = torch.tensor([0, 1, 1, 2])
>>> logits = torch.tensor([[5.0, 0, 0], [0, 4, 0], [0, 0, 3], [0, 0, 6]])
>>> ev = Evaluation(labels, torch.softmax(logits, dim=1))
>>> ev.accuracy, ev.misclassified, ev.misclassified_indices.tolist()
(75.0, 1, [2])
>>> ev.confusion.tolist()  # rows: true class, columns: predicted class
[[1, 0, 0], [0, 1, 1], [0, 0, 1]]
>>> ev.precision, ev.recall
([100.0, 100.0, 50.0], [100.0, 50.0, 100.0])
"""

from __future__ import annotations

import io
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any, overload

import torch

from chainrule.errors import ChainruleError
from chainrule.files import write_atomic
from chainrule.mnist.config import EVAL_BATCH_SIZE, TrainConfig

if TYPE_CHECKING:
    from matplotlib.figure import Figure
    from torch import nn

DIGITS = tuple(str(d) for d in range(10))


@dataclass(eq=False)
class Evaluation:
    """A model's answers on labelled examples and the statistics derived from them.

    Percentages are in percent. A class the model never predicts has an undefined
    precision, given as NaN (shown as ``n/a``).
    """

    labels: torch.Tensor  # int64 [N]
    probabilities: torch.Tensor  # float [N, classes], rows sum to 1
    images: torch.Tensor | None = None  # uint8 [N, 28, 28], for the gallery
    class_names: tuple[str, ...] = field(default=DIGITS)

    @cached_property
    def predictions(self) -> torch.Tensor:
        """The predicted class of each example."""
        return self.probabilities.argmax(dim=1)

    @cached_property
    def confusion(self) -> torch.Tensor:
        """Counts [classes, classes]: row = true class, column = predicted class."""
        classes = self.probabilities.shape[1]
        pairs = self.labels * classes + self.predictions
        return torch.bincount(pairs, minlength=classes * classes).view(classes, classes)

    @property
    def total(self) -> int:
        """Number of examples."""
        return int(self.labels.numel())

    @property
    def accuracy(self) -> float:
        """Percentage of examples classified correctly."""
        return 100.0 * self.correct / max(self.total, 1)

    @property
    def correct(self) -> int:
        """Number of examples classified correctly."""
        return int(self.confusion.diagonal().sum())

    @property
    def misclassified(self) -> int:
        """Number of examples classified wrongly."""
        return self.total - self.correct

    @cached_property
    def misclassified_indices(self) -> torch.Tensor:
        """Indices of the wrong answers, the most confident mistakes first."""
        wrong = torch.nonzero(self.predictions != self.labels).flatten()
        confidence = self.probabilities[wrong, self.predictions[wrong]]
        return wrong[torch.argsort(confidence, descending=True, stable=True)]

    @property
    def support(self) -> list[int]:
        """Number of examples of each true class."""
        return [int(n) for n in self.confusion.sum(dim=1)]

    @property
    def precision(self) -> list[float]:
        """Per class: of the examples predicted as it, the percentage that are it."""
        return _ratios(self.confusion.diagonal(), self.confusion.sum(dim=0))

    @property
    def recall(self) -> list[float]:
        """Per class: of the examples that are it, the percentage predicted as it."""
        return _ratios(self.confusion.diagonal(), self.confusion.sum(dim=1))

    def most_confused(self, count: int = 3) -> list[tuple[int, int, int]]:
        """The ``count`` largest off-diagonal cells as (true, predicted, number), largest first.

        >>> ev = Evaluation(torch.tensor([4, 4, 7]), torch.eye(10)[[9, 9, 1]])
        >>> ev.most_confused()
        [(4, 9, 2), (7, 1, 1)]
        """
        off = self.confusion.clone()
        off.fill_diagonal_(0)
        values, flat = off.flatten().sort(descending=True, stable=True)
        classes = off.shape[0]
        return [
            (int(i) // classes, int(i) % classes, int(v))
            for v, i in zip(values[:count], flat[:count], strict=True)
            if v > 0
        ]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary (no NaN: an undefined precision is ``None``)."""
        return {
            "accuracy": self.accuracy,
            "total": self.total,
            "misclassified": self.misclassified,
            "classes": [
                {
                    "class": name,
                    "support": support,
                    "precision": None if math.isnan(p) else p,
                    "recall": None if math.isnan(r) else r,
                }
                for name, support, p, r in zip(
                    self.class_names, self.support, self.precision, self.recall, strict=True
                )
            ],
            "confusion": self.confusion.tolist(),
            "misclassified_indices": self.misclassified_indices.tolist(),
        }


def _ratios(numerator: torch.Tensor, denominator: torch.Tensor) -> list[float]:
    return [
        100.0 * int(n) / int(d) if int(d) else math.nan
        for n, d in zip(numerator, denominator, strict=True)
    ]


# ---------------------------------------------------------------- running a model


@overload
def evaluate_model(
    model: nn.Module, data: TrainConfig, labels: None = None, *, batch_size: int = EVAL_BATCH_SIZE
) -> Evaluation: ...


@overload
def evaluate_model(
    model: nn.Module, data: torch.Tensor, labels: torch.Tensor, *, batch_size: int = EVAL_BATCH_SIZE
) -> Evaluation: ...


def evaluate_model(
    model: nn.Module,
    data: torch.Tensor | TrainConfig,
    labels: torch.Tensor | None = None,
    *,
    batch_size: int = EVAL_BATCH_SIZE,
) -> Evaluation:
    """Evaluate ``model`` on uint8 images [N, 28, 28] and their ``labels``.

    Given a :class:`~chainrule.mnist.config.TrainConfig` instead of images, it
    evaluates on the test split of the config's data folder (what the model was
    trained on).

    >>> from chainrule.mnist.models import mlp
    >>> _ = torch.manual_seed(0)
    >>> images = torch.randint(0, 256, (5, 28, 28), dtype=torch.uint8)
    >>> evaluate_model(mlp((16,)), images, torch.tensor([0, 1, 2, 3, 4])).total
    5
    """
    from chainrule.mnist.train import predict_logits

    if not isinstance(data, torch.Tensor):
        data, labels = load_test_split(data.data_dir)
    if labels is None:
        raise TypeError("evaluate_model(model, images, labels) needs the labels")
    if data.dim() != 3 or data.shape[1:] != (28, 28) or len(data) != len(labels):
        raise ChainruleError(
            f"expected images [N, 28, 28] and N labels, got {list(data.shape)} and {len(labels)}"
        )
    logits = predict_logits(model, data, batch_size=batch_size)
    if len(labels) and int(labels.max()) >= logits.shape[1]:
        raise ChainruleError(
            f"labels go up to {int(labels.max())} but the model has {logits.shape[1]} classes"
        )
    return Evaluation(labels.to(torch.int64), torch.softmax(logits, dim=1), data)


def load_test_split(data_dir: str | os.PathLike[str] | None) -> tuple[torch.Tensor, torch.Tensor]:
    """The test images and labels in ``data_dir`` (``None``: the default MNIST folder)."""
    from pathlib import Path

    from chainrule.mnist.data import load_mnist

    return load_mnist("test", Path(data_dir) if data_dir is not None else None)


# ---------------------------------------------------------------- text


def format_report(evaluation: Evaluation, title: str = "test") -> str:
    """Accuracy, a per-class precision/recall table and the most frequent confusions.

    >>> labels = torch.tensor([0, 0, 1, 1])
    >>> print(format_report(Evaluation(labels, torch.eye(2)[[0, 0, 0, 1]], class_names=("a", "b"))))
    test accuracy 75.00% (1 of 4 wrong)
    <BLANKLINE>
    class  support  precision  recall
        a        2      66.7%  100.0%
        b        2     100.0%   50.0%
     mean        4      83.3%   75.0%
    <BLANKLINE>
    most confused: b taken for a (1)
    """
    names = evaluation.class_names
    rows = [
        [name, str(support), _percent(p), _percent(r)]
        for name, support, p, r in zip(
            names, evaluation.support, evaluation.precision, evaluation.recall, strict=True
        )
    ]
    rows.append(
        [
            "mean",
            str(evaluation.total),
            _percent(_mean(evaluation.precision)),
            _percent(_mean(evaluation.recall)),
        ]
    )
    header = ["class", "support", "precision", "recall"]
    widths = [max(len(row[c]) for row in [header, *rows]) for c in range(len(header))]
    table = ["  ".join(cell.rjust(w) for cell, w in zip(row, widths, strict=True)) for row in rows]
    lines = [
        f"{title} accuracy {evaluation.accuracy:.2f}% "
        f"({evaluation.misclassified} of {evaluation.total} wrong)",
        "",
        "  ".join(cell.rjust(w) for cell, w in zip(header, widths, strict=True)),
        *table,
    ]
    confusions = evaluation.most_confused(3)
    if confusions:
        pairs = ", ".join(f"{names[t]} taken for {names[p]} ({n})" for t, p, n in confusions)
        lines += ["", f"most confused: {pairs}"]
    return "\n".join(lines)


def _percent(value: float) -> str:
    return "n/a" if math.isnan(value) else f"{value:.1f}%"


def _mean(values: Sequence[float]) -> float:
    """Mean over the defined values (macro average), NaN when none is."""
    defined = [v for v in values if not math.isnan(v)]
    return sum(defined) / len(defined) if defined else math.nan


# ---------------------------------------------------------------- pictures


def _figure(width: float, height: float) -> Figure:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), dpi=100, layout="constrained")


def _png(figure: Figure, path: str | os.PathLike[str] | None) -> bytes:
    """The figure as PNG bytes, also written atomically to ``path`` when given."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=150, metadata={"Software": None})
    data = buffer.getvalue()
    if path is not None:
        write_atomic(path, data)
    return data


def plot_confusion(evaluation: Evaluation, path: str | os.PathLike[str] | None = None) -> bytes:
    """The confusion matrix as a PNG (returned, and written to ``path`` if given).

    Cells hold counts; the colour is the share of the true class (row), on a
    square-root scale so that the rare mistakes show, with recall at the end of
    each row and precision under each column.
    """
    from matplotlib.colors import PowerNorm

    confusion = evaluation.confusion.numpy()
    classes = confusion.shape[0]
    rates = confusion / confusion.sum(axis=1, keepdims=True).clip(min=1)
    figure = _figure(7.2, 6.4)
    ax = figure.subplots()
    image = ax.imshow(rates, cmap="Blues", norm=PowerNorm(0.4, vmin=0, vmax=1))
    for true in range(classes):
        for predicted in range(classes):
            count = int(confusion[true, predicted])
            if count == 0 and true != predicted:
                continue
            dark = rates[true, predicted] > 0.35
            ax.text(
                predicted, true, str(count), ha="center", va="center", fontsize=8,
                color="white" if dark else ("#b91c1c" if true != predicted else "black"),
                fontweight="bold" if true != predicted else "normal",
            )  # fmt: skip
    names = evaluation.class_names
    ax.set_xticks(range(classes), names)
    ax.set_yticks(range(classes), names)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.tick_params(length=0)
    _margin_labels(ax, evaluation, classes)
    ax.set_title(
        f"Confusion matrix: {evaluation.accuracy:.2f}% correct, "
        f"{evaluation.misclassified} of {evaluation.total} wrong",
        fontsize=11,
        pad=14,
    )
    colourbar = figure.colorbar(image, ax=ax, shrink=0.75, pad=0.02)
    colourbar.set_label("share of the true class (row)")
    return _png(figure, path)


def _margin_labels(ax: Any, evaluation: Evaluation, classes: int) -> None:
    """Precision of each predicted class along the top, recall of each true class on the right."""
    grey = "#374151"
    top = ax.secondary_xaxis("top")
    top.set_xticks(range(classes), [_percent(p) for p in evaluation.precision], fontsize=7.5)
    top.set_xlabel("precision (of each column)", fontsize=9, color=grey)
    right = ax.secondary_yaxis("right")
    right.set_yticks(range(classes), [_percent(r) for r in evaluation.recall], fontsize=7.5)
    right.set_ylabel("recall (of each row)", fontsize=9, color=grey)
    for axis in (top, right):
        axis.tick_params(length=0, colors=grey)


def plot_misclassified(
    evaluation: Evaluation,
    images: torch.Tensor | None = None,
    path: str | os.PathLike[str] | None = None,
    *,
    max_images: int = 60,
    columns: int = 10,
) -> bytes:
    """A gallery PNG of misclassified images, most confident mistakes first.

    Each tile shows the image with "predicted (probability)" in red above it and
    the true label below. ``images`` defaults to the evaluation's own. Returns the
    PNG bytes and writes them to ``path`` when given. The tiles are one mosaic
    image (one ``imshow``), which is much faster than a grid of axes.
    """
    pictures = images if images is not None else evaluation.images
    if pictures is None:
        raise ValueError("plot_misclassified needs the images the evaluation was made on")
    shown = evaluation.misclassified_indices[:max_images].tolist()
    if not shown:
        figure = _figure(5, 1)
        figure.text(0.5, 0.5, "no misclassified images", ha="center", va="center", fontsize=12)
        return _png(figure, path)
    columns = min(columns, len(shown))
    rows = math.ceil(len(shown) / columns)
    side = pictures.shape[-1]
    tile_w, tile_h, top = side + 8, side + 21, 11  # room for a label above and below
    mosaic = torch.zeros(rows * tile_h, columns * tile_w, dtype=torch.uint8)
    figure = _figure(0.95 * columns + 0.2, 1.25 * rows + 0.45)
    ax = figure.subplots()
    names = evaluation.class_names
    for k, index in enumerate(shown):
        y, x = (k // columns) * tile_h, (k % columns) * tile_w
        mosaic[y + top : y + top + side, x + 4 : x + 4 + side] = pictures[index]
        predicted = int(evaluation.predictions[index])
        probability = float(evaluation.probabilities[index, predicted])
        centre = x + tile_w / 2 - 0.5
        ax.text(
            centre, y + top - 1.5, f"{names[predicted]} ({100 * probability:.0f}%)",
            ha="center", va="bottom", fontsize=8.5, color="#b91c1c",
        )  # fmt: skip
        ax.text(
            centre, y + top + side + 0.5, f"true {names[int(evaluation.labels[index])]}",
            ha="center", va="top", fontsize=8,
        )  # fmt: skip
        ax.add_patch(_frame(x + 3.5, y + top - 0.5, side + 1))
    ax.imshow(mosaic.numpy(), cmap="gray_r", vmin=0, vmax=255, interpolation="nearest")
    ax.axis("off")
    figure.suptitle(
        f"{len(shown)} of {evaluation.misclassified} misclassified images, most confident first"
        " (red: predicted, with probability; below: true label)",
        fontsize=9.5,
    )
    return _png(figure, path)


def _frame(x: float, y: float, size: float) -> Any:
    """A thin grey square around one tile."""
    from matplotlib.patches import Rectangle

    return Rectangle((x, y), size, size, fill=False, linewidth=0.4, edgecolor="#d1d5db")
