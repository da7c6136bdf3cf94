"""Sweeps over random chains: ``|dy/dx|`` against depth and weight scale.

Every number comes from the engine: the chain graph of each depth
(:func:`chainrule.vanishing.chain.build_chain`) is evaluated once with numpy arrays that
hold the weights of all seeds and all weight scales, and backpropagation gives
``dy/dx`` at every point at once. Nothing here re-derives the gradient by formula.

Weights are drawn ``w_i ~ N(0, s²)`` and the input ``x ~ N(0, 1)``, one chain
per seed; the chain of depth ``n`` uses the first ``n`` weights of each seed,
so the curves over depth follow the same chains.

A one-node ReLU chain is dead (``dy/dx = 0`` exactly) unless every
pre-activation is positive, which happens with probability ``2^-n``. Its sweep
samples the chains that are alive: ``|w_i|`` and ``|x|`` have exactly the
conditional distribution given that event (by symmetry), so the curves show the
typical gradient of a chain that still carries one.

>>> sweep = depth_sweep("sigmoid", scales=[1.0], depths=[1, 5], seeds=64)
>>> sweep.gradients.shape
(1, 64, 2)
>>> bool((sweep.median()[0, 1] < sweep.median()[0, 0]).all())
True
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from chainrule.vanishing.activations import activation as lookup
from chainrule.vanishing.chain import build_chain

Array = NDArray[np.float64]

DEPTHS = tuple(range(1, 51))
"""Depths of the standard sweep."""

SCALES = (0.5, 1.0, 2.0, 4.0, 8.0)
"""Weight scales ``s`` of the depth sweep."""

HEATMAP_SCALES = tuple(float(s) for s in np.logspace(-1, 2, 31))
"""Weight scales of the heat map, 0.1 to 100, evenly spaced in log."""


@dataclass(frozen=True)
class Sweep:
    """``|dy/dx|`` of random chains, shape ``(scales, seeds, depths)``."""

    activation: str
    scales: Array
    depths: tuple[int, ...]
    gradients: Array  # |dy/dx| from the engine's backpropagation
    alive_only: bool  # relu: sampled conditioned on every unit being active (Activation.dies)

    def median(self) -> Array:
        """Median over seeds, shape ``(scales, depths)``."""
        return np.asarray(np.median(self.gradients, axis=1))

    def quantiles(self, low: float = 0.25, high: float = 0.75) -> tuple[Array, Array]:
        """Spread over seeds: the ``low`` and ``high`` quantiles, each ``(scales, depths)``."""
        lo, hi = np.quantile(self.gradients, [low, high], axis=1)
        return np.asarray(lo), np.asarray(hi)

    def log10_median(self, floor: float = -300.0) -> Array:
        """``log10`` of the median; exact zeros (underflow, dead units) clipped at ``floor``."""
        with np.errstate(divide="ignore"):
            return np.maximum(np.log10(self.median()), floor)


def chain_gradients(activation: str, weights: Array, x: Array) -> Array:
    """``dy/dx`` of chains with ``weights[..., i]`` for layer ``i + 1``, all at once.

    >>> w = np.array([[1.0, 1.0], [2.0, -3.0]])
    >>> chain_gradients("sigmoid", w, np.array([0.5, 0.0])).round(6)
    array([ 0.053408, -0.22372 ])
    """
    depth = weights.shape[-1]
    graph = build_chain(depth, activation)
    given = {"x": x, **{f"w{i + 1}": weights[..., i] for i in range(depth)}}
    result = graph.evaluate(given, keep_intermediates=False)
    return np.asarray(result.gradients["x"], dtype=np.float64)


def depth_sweep(
    activation: str,
    scales: Sequence[float] = SCALES,
    depths: Sequence[int] = DEPTHS,
    seeds: int = 500,
    seed: int = 0,
) -> Sweep:
    """``|dy/dx|`` for ``seeds`` random chains per weight scale and depth."""
    rng = np.random.default_rng(seed)
    scale = np.asarray(scales, dtype=np.float64)
    weights = rng.standard_normal((len(scale), seeds, max(depths))) * scale[:, None, None]
    x = np.broadcast_to(rng.standard_normal(seeds), (len(scale), seeds))
    alive_only = lookup(activation).dies
    if alive_only:
        weights, x = np.abs(weights), np.abs(x)
    gradients = np.empty((len(scale), seeds, len(depths)))
    for k, depth in enumerate(depths):
        gradients[:, :, k] = np.abs(chain_gradients(activation, weights[..., :depth], x))
    return Sweep(activation, scale, tuple(depths), gradients, alive_only)
