"""The ``.npz`` checkpoints of ``--engine chainrule``: their format, and reading them back.

Kept out of :mod:`chainrule.mnist.numpy_train` (which writes them, and imports the
training loop's helpers from :mod:`chainrule.mnist.train`) so that
:func:`chainrule.mnist.train.load_checkpoint` reads them without an import cycle.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch

from chainrule.errors import ChainruleError
from chainrule.mnist.config import TrainConfig
from chainrule.tensor import nn
from chainrule.tensor.tensor import Array

CHECKPOINT_FORMAT = "chainrule-mnist-npz/1"
"""Marks an ``.npz`` checkpoint as ours; anything else is refused."""


def build_network(config: TrainConfig, rng: np.random.Generator) -> nn.Sequential:
    """784 → hidden... → 10 with PyTorch's default initialisation (float32)."""
    return nn.mlp(config.hidden, rng=rng, dropout=config.dropout)


def read_checkpoint(path: Path) -> tuple[dict[str, Array], TrainConfig]:
    """The arrays of a chainrule-engine checkpoint and its config; one-line errors."""
    arrays = nn.read_npz(path)
    if "format" not in arrays or str(arrays["format"]) != CHECKPOINT_FORMAT:
        raise ChainruleError(f"{path}: not a chainrule MNIST checkpoint")
    try:
        config = TrainConfig.from_dict(json.loads(str(arrays["config"])))
    except (json.JSONDecodeError, KeyError):
        raise ChainruleError(f"{path}: the checkpoint's config is unreadable") from None
    return arrays, config


def model_weights(arrays: dict[str, Array]) -> dict[str, Array]:
    """The network's parameters of a checkpoint, by name (``1.weight``...)."""
    return {name[len("model/") :]: a for name, a in arrays.items() if name.startswith("model/")}


def load_network(path: Path | str) -> tuple[nn.Sequential, TrainConfig]:
    """The chainrule network (eval mode) and config stored in an ``.npz`` checkpoint."""
    arrays, config = read_checkpoint(Path(path))
    network = build_network(config, np.random.default_rng(0))
    network.load_state_dict(model_weights(arrays), where=str(path))
    network.eval()
    return network, config


def to_torch(network: nn.Sequential, config: TrainConfig) -> torch.nn.Module:
    """The same network as PyTorch's ``mlp`` (weights transposed: torch keeps [out, in])."""
    from chainrule.mnist.models import build_model

    model = build_model(config)
    weights = {
        name: torch.from_numpy(value.T.copy() if value.ndim == 2 else value.copy())
        for name, value in network.state_dict().items()
    }
    model.load_state_dict(weights)
    return model.eval()


def load_as_torch(path: Path | str) -> tuple[torch.nn.Module, TrainConfig]:
    """An ``.npz`` checkpoint as the PyTorch model ``evaluate`` and ``predict`` run."""
    network, config = load_network(path)
    return to_torch(network, config), config
