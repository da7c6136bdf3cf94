"""Layers for networks of chainrule tensors: Linear, activations, Sequential, weights as .npz.

The layout mirrors ``torch.nn``: a network is a :class:`Module`, its weights are
its :meth:`~Module.parameters`, and :func:`mlp` builds the exercise sheet's
network layer for layer as :func:`chainrule.mnist.models.mlp` does in PyTorch
(same parameter names, ``1.weight``, ``3.bias``...). One difference: a
:class:`Linear` weight is stored [inputs, outputs], so the layer is ``x @ W + b``
and its gradient reads ∂L/∂W = xᵀ · ∂L/∂y.

>>> net = mlp((16,), rng=np.random.default_rng(0))
>>> [(name, p.shape) for name, p in net.named_parameters()]
[('1.weight', (784, 16)), ('1.bias', (16,)), ('3.weight', (16, 10)), ('3.bias', (10,))]
>>> net(Tensor(np.zeros((2, 1, 28, 28)))).shape
(2, 10)
"""

from __future__ import annotations

import itertools
import math
import os
import zipfile
from collections.abc import Iterator, Sequence
from typing import Any, Literal

import numpy as np

from chainrule.errors import ChainruleError
from chainrule.files import atomic_path
from chainrule.tensor import functional as F
from chainrule.tensor.tensor import Array, Tensor

Init = Literal["default", "xavier", "kaiming"]
INITS: tuple[Init, ...] = ("default", "xavier", "kaiming")


# ---------------------------------------------------------------- initialisers


def default_uniform(fan_in: int, shape: tuple[int, ...], rng: np.random.Generator) -> Array:
    """PyTorch's default for ``nn.Linear``: U(−1/√fan_in, 1/√fan_in) (weights and biases)."""
    bound = 1.0 / math.sqrt(fan_in)
    return rng.uniform(-bound, bound, shape)


def xavier_uniform(fan_in: int, fan_out: int, rng: np.random.Generator) -> Array:
    """Glorot & Bengio (2010): U(±√(6 / (fan_in + fan_out))), for tanh and sigmoid layers."""
    bound = math.sqrt(6.0 / (fan_in + fan_out))
    return rng.uniform(-bound, bound, (fan_in, fan_out))


def kaiming_normal(fan_in: int, fan_out: int, rng: np.random.Generator) -> Array:
    """He et al. (2015): N(0, 2 / fan_in), which keeps ReLU activations' variance constant."""
    return rng.normal(0.0, math.sqrt(2.0 / fan_in), (fan_in, fan_out))


# ---------------------------------------------------------------- modules


class Module:
    """A layer or a network: callable on a tensor, with named parameters."""

    training = True

    def __call__(self, x: Tensor) -> Tensor:
        return self.forward(x)

    def forward(self, x: Tensor) -> Tensor:
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"

    def children(self) -> list[tuple[str, Module]]:
        """The modules inside this one, by name."""
        return [(name, value) for name, value in vars(self).items() if isinstance(value, Module)]

    def own_parameters(self) -> list[tuple[str, Tensor]]:
        return [
            (name, value)
            for name, value in vars(self).items()
            if isinstance(value, Tensor) and value.requires_grad
        ]

    def modules(self) -> Iterator[tuple[str, Module]]:
        """This module and every one inside it, with dotted names (an explicit stack)."""
        stack: list[tuple[str, Module]] = [("", self)]
        while stack:
            prefix, module = stack.pop()
            yield prefix, module
            for name, child in reversed(module.children()):
                stack.append((f"{prefix}{name}.", child))

    def named_parameters(self) -> list[tuple[str, Tensor]]:
        return [
            (prefix + name, p)
            for prefix, module in self.modules()
            for name, p in module.own_parameters()
        ]

    def parameters(self) -> list[Tensor]:
        return [p for _, p in self.named_parameters()]

    def train(self, mode: bool = True) -> Module:
        for _, module in self.modules():
            module.training = mode
        return self

    def eval(self) -> Module:
        return self.train(False)

    def state_dict(self) -> dict[str, Array]:
        """Parameter name -> its array (copies)."""
        return {name: p.data.copy() for name, p in self.named_parameters()}

    def load_state_dict(self, state: dict[str, Any], where: str = "weights") -> None:
        """Copy arrays into the parameters; names and shapes must match exactly."""
        mine = dict(self.named_parameters())
        missing, unknown = sorted(set(mine) - set(state)), sorted(set(state) - set(mine))
        if missing or unknown:
            what = (
                f"missing {', '.join(missing)}" if missing else f"unexpected {', '.join(unknown)}"
            )
            raise ChainruleError(f"{where}: do not fit the network ({what})")
        for name, p in mine.items():
            value = np.asarray(state[name])
            if value.shape != p.shape:
                raise ChainruleError(
                    f"{where}: {name} has shape {value.shape}, the network needs {p.shape}"
                )
            p.data[...] = value


class Linear(Module):
    """y = x @ W + b, with W [inputs, outputs]."""

    def __init__(
        self,
        inputs: int,
        outputs: int,
        *,
        rng: np.random.Generator,
        init: Init = "default",
        dtype: Any = np.float32,
    ) -> None:
        if init == "xavier":
            weight = xavier_uniform(inputs, outputs, rng)
        elif init == "kaiming":
            weight = kaiming_normal(inputs, outputs, rng)
        else:
            weight = default_uniform(inputs, (inputs, outputs), rng)
        bias = default_uniform(inputs, (outputs,), rng) if init == "default" else np.zeros(outputs)
        self.weight = Tensor(weight, dtype=dtype, requires_grad=True, name="W")
        self.bias = Tensor(bias, dtype=dtype, requires_grad=True, name="b")

    def forward(self, x: Tensor) -> Tensor:
        return x @ self.weight + self.bias

    def __repr__(self) -> str:
        inputs, outputs = self.weight.shape
        return f"Linear({inputs} → {outputs}: x @ {self.weight.name} + {self.bias.name})"


class ReLU(Module):
    def forward(self, x: Tensor) -> Tensor:
        return F.relu(x)


class Sigmoid(Module):
    def forward(self, x: Tensor) -> Tensor:
        return F.sigmoid(x)


class Tanh(Module):
    def forward(self, x: Tensor) -> Tensor:
        return F.tanh(x)


class Flatten(Module):
    """[N, ...] -> [N, everything else]."""

    def forward(self, x: Tensor) -> Tensor:
        return x.reshape(x.shape[0], -1)


class Dropout(Module):
    """Dropout with probability ``p`` while training; the identity in eval mode."""

    def __init__(self, p: float, rng: np.random.Generator) -> None:
        self.p = p
        self.rng = rng

    def forward(self, x: Tensor) -> Tensor:
        return F.dropout(x, self.p, self.rng, self.training)

    def __repr__(self) -> str:
        return f"Dropout(p={self.p})"


class Sequential(Module):
    """Layers applied in order; their parameters are named by position (``1.weight``)."""

    def __init__(self, *layers: Module) -> None:
        self.layers = list(layers)

    def children(self) -> list[tuple[str, Module]]:
        return [(str(i), layer) for i, layer in enumerate(self.layers)]

    def forward(self, x: Tensor) -> Tensor:
        for layer in self.layers:
            x = layer(x)
        return x

    def __repr__(self) -> str:
        """One layer a line, as PyTorch prints a Sequential.

        >>> print(mlp((8,), rng=np.random.default_rng(0)))
        Sequential(
          (0): Flatten()
          (1): Linear(784 → 8: x @ W1 + b1)
          (2): ReLU()
          (3): Linear(8 → 10: x @ W2 + b2)
        )
        """
        inner = "".join(f"  ({i}): {layer!r}\n" for i, layer in enumerate(self.layers))
        return f"Sequential(\n{inner})"


def mlp(
    hidden: Sequence[int],
    *,
    rng: np.random.Generator,
    dropout: float = 0.0,
    init: Init = "default",
    dtype: Any = np.float32,
    inputs: int = 28 * 28,
    classes: int = 10,
) -> Sequential:
    """Flatten, fully connected ReLU layers, ``classes`` outputs (the sheet's network)."""
    sizes = (inputs, *hidden)
    layers: list[Module] = [Flatten()]
    for n_in, n_out in itertools.pairwise(sizes):
        layers += [Linear(n_in, n_out, rng=rng, init=init, dtype=dtype), ReLU()]
    if dropout:
        layers.append(Dropout(dropout, rng))
    layers.append(Linear(sizes[-1], classes, rng=rng, init=init, dtype=dtype))
    linears = [layer for layer in layers if isinstance(layer, Linear)]
    for number, layer in enumerate(linears, 1):  # W1, b1, W2... in pictures and explanations
        layer.weight.name, layer.bias.name = f"W{number}", f"b{number}"
    return Sequential(*layers)


# ---------------------------------------------------------------- .npz files


def save(module: Module, path: str | os.PathLike[str]) -> None:
    """Write the parameters to an ``.npz`` file (atomically: never half a file).

    >>> import tempfile, pathlib
    >>> net = mlp((4,), rng=np.random.default_rng(0))
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "weights.npz"
    >>> save(net, path)
    >>> other = mlp((4,), rng=np.random.default_rng(1))
    >>> load(other, path)
    >>> bool((other.layers[1].weight.data == net.layers[1].weight.data).all())
    True
    """
    write_npz(path, module.state_dict())


def load(module: Module, path: str | os.PathLike[str]) -> None:
    """Read parameters saved by :func:`save` into ``module`` (names and shapes must match)."""
    module.load_state_dict(read_npz(path), where=str(path))


def write_npz(path: str | os.PathLike[str], arrays: dict[str, Array]) -> None:
    """Arrays (and text, as 0-d string arrays) into one ``.npz`` file, atomically."""
    with atomic_path(path) as tmp, open(tmp, "wb") as stream:
        np.savez(stream, **arrays)  # type: ignore[arg-type]


def read_npz(path: str | os.PathLike[str]) -> dict[str, Array]:
    """Every array of an ``.npz`` file; no pickles (no code runs), one-line errors."""
    try:
        with np.load(path, allow_pickle=False) as archive:
            return {name: archive[name] for name in archive.files}
    except FileNotFoundError:
        raise ChainruleError(f"{path}: no such file") from None
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as error:
        reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise ChainruleError(f"{path}: not a readable .npz file ({reason[:200]})") from None
