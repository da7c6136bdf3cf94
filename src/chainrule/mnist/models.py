"""The networks of the presets; every one maps [B, 1, 28, 28] normalised images to 10 logits.

>>> import torch
>>> from chainrule.mnist.config import PRESETS
>>> [tuple(build_model(PRESETS[n])(torch.zeros(2, 1, 28, 28)).shape) for n in PRESETS]
[(2, 10), (2, 10), (2, 10), (2, 10)]
"""

from __future__ import annotations

import itertools
from typing import TYPE_CHECKING

import torch
import torch.nn.functional as F
from torch import nn

if TYPE_CHECKING:
    from chainrule.mnist.config import TrainConfig


def mlp(hidden: tuple[int, ...], dropout: float = 0.0) -> nn.Sequential:
    """The exercise sheet's network: flatten, fully connected ReLU layers, 10 outputs."""
    layers: list[nn.Module] = [nn.Flatten()]
    sizes = (28 * 28, *hidden)
    for inputs, outputs in itertools.pairwise(sizes):
        layers += [nn.Linear(inputs, outputs), nn.ReLU(inplace=True)]
    if dropout:
        layers.append(nn.Dropout(dropout))
    layers.append(nn.Linear(sizes[-1], 10))
    return nn.Sequential(*layers)


class ExamplesNet(nn.Module):
    """The network of pytorch/examples ``mnist/main.py``, layer for layer (outputs log-probs)."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(1, 32, 3, 1)
        self.conv2 = nn.Conv2d(32, 64, 3, 1)
        self.dropout1 = nn.Dropout(0.25)
        self.dropout2 = nn.Dropout(0.5)
        self.fc1 = nn.Linear(9216, 128)
        self.fc2 = nn.Linear(128, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.relu(self.conv1(x))
        x = F.relu(self.conv2(x))
        x = F.max_pool2d(x, 2)
        x = self.dropout1(torch.flatten(x, 1))
        x = self.dropout2(F.relu(self.fc1(x)))
        # log_softmax is idempotent, so cross-entropy on these equals the example's nll_loss.
        return F.log_softmax(self.fc2(x), dim=1)


def conv_bn(inputs: int, outputs: int, kernel: int = 3) -> nn.Sequential:
    """Convolution (no bias: BatchNorm has one), BatchNorm, ReLU."""
    return nn.Sequential(
        nn.Conv2d(inputs, outputs, kernel, padding=kernel // 2, bias=False),
        nn.BatchNorm2d(outputs),
        nn.ReLU(inplace=True),
    )


def fast_cnn(
    width: int = 16, hidden: tuple[int, ...] = (256,), dropout: float = 0.0
) -> nn.Sequential:
    """The quickest to 99%: two small convolutions, then fully connected layers.

    The first convolution (5x5, padded) strides by 2 (28 -> 14) instead of
    pooling: on a CPU, max-pooling a full-size map forward and backward costs
    more than the convolution itself. The padding keeps the image's border,
    where Fashion-MNIST's sleeves and soles are (+0.8 points there, nothing lost
    on MNIST). The second (3x3, 1.5 times the channels, 14 -> 12) is pooled to 6x6.
    No BatchNorm: in bf16 and channels_last it took a quarter of the step for
    +0.05% accuracy (docs/benchmarks.md).
    """
    second = width * 3 // 2
    layers: list[nn.Module] = [
        nn.Conv2d(1, width, 5, stride=2, padding=2),
        nn.ReLU(inplace=True),
        nn.Conv2d(width, second, 3),
        nn.MaxPool2d(2),
        nn.ReLU(inplace=True),
        nn.Flatten(),
    ]
    sizes = (second * 6 * 6, *hidden)
    for inputs, outputs in itertools.pairwise(sizes):
        layers += [nn.Linear(inputs, outputs), nn.ReLU(inplace=True)]
    if dropout:
        layers.append(nn.Dropout(dropout))
    layers.append(nn.Linear(sizes[-1], 10))
    return nn.Sequential(*layers)


def best_cnn(width: int = 32, dropout: float = 0.0) -> nn.Sequential:
    """A compact VGG-style BatchNorm CNN: one convolution at 28x28, two at 14x14, two at 7x7.

    Channels grow faster than they shrink the maps (width, 3x, 6x) because a
    convolution on a 7x7 map costs a sixteenth of one on 28x28; global average
    pooling and dropout lead to the classifier.
    """
    middle, last = 3 * width, 6 * width
    return nn.Sequential(
        conv_bn(1, width),
        nn.MaxPool2d(2),  # 14x14
        conv_bn(width, middle),
        conv_bn(middle, middle),
        nn.MaxPool2d(2),  # 7x7
        conv_bn(middle, last),
        conv_bn(last, last),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Dropout(dropout),
        nn.Linear(last, 10),
    )


def build_model(config: TrainConfig) -> nn.Module:
    """The network a config names, freshly initialised from the current torch seed, in the
    memory layout it trains and evaluates in (a CNN in channels_last, if the config says so).

    >>> from chainrule.mnist.config import PRESETS
    >>> build_model(PRESETS["fast"])[0].weight.is_contiguous(memory_format=torch.channels_last)
    True
    """
    network = _network(config)
    if config.channels_last and config.model != "mlp":
        # NHWC maps: the CNNs evaluate 1.5-1.7x faster on 2 AVX2 cores (mnist_eval_batch).
        network = network.to(memory_format=torch.channels_last)  # type: ignore[call-overload]
    return network


def _network(config: TrainConfig) -> nn.Module:
    if config.model == "mlp":
        return mlp(config.hidden, config.dropout)
    if config.model == "examples":
        return ExamplesNet()
    if config.model == "fast":
        return fast_cnn(config.width, config.hidden, config.dropout)
    return best_cnn(config.width, config.dropout)


def count_parameters(model: nn.Module) -> int:
    """Number of trainable parameters.

    >>> count_parameters(mlp((10,)))
    7960
    """
    return sum(p.numel() for p in model.parameters() if p.requires_grad)
