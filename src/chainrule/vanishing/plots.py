"""Figures of vanishing and exploding gradients (matplotlib, Agg; PNG and SVG).

:func:`write_all` writes every figure of ``docs/vanishing_gradients.md``
(``chainrule chain --plot DIR`` calls it):

- ``activation_derivatives``: σ, tanh, relu and their derivatives, the maximum
  of each derivative marked where :func:`chainrule.vanishing.facts.derivative_facts` found it.
- ``exploding_window``: where one sigmoid layer's factor ``|w σ'(w a)|`` exceeds 1.
- ``depth_sweep``: median ``|dy/dx|`` (log scale) against depth for several weight scales.
- ``heatmap``: ``log10`` of the median ``|dy/dx|`` over (depth, weight scale).

Every curve is the engine's evaluation of a chainrule graph on numpy arrays.

>>> import tempfile
>>> [p.name for p in plot_activation_derivatives(Path(tempfile.mkdtemp()))]
['activation_derivatives.png', 'activation_derivatives.svg']
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from chainrule.files import atomic_path
from chainrule.vanishing.activations import NAMES, activation
from chainrule.vanishing.chain import build_chain
from chainrule.vanishing.facts import derivative_facts, exploding_facts
from chainrule.vanishing.sweeps import HEATMAP_SCALES, SCALES, Sweep, depth_sweep

if TYPE_CHECKING:
    from matplotlib.figure import Figure

FORMATS = ("png", "svg")
LOG10_RANGE = 30.0  # the heat map's colours saturate beyond 10^±30


def new_figure(width: float, height: float, columns: int = 1) -> tuple[Figure, Any]:
    """A figure on the Agg backend (no display needed) with ``columns`` axes in a row."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width, height), layout="constrained")
    axes = figure.subplots(1, columns, squeeze=False)[0]
    return figure, axes


def save_figure(figure: Figure, stem: Path, formats: Sequence[str] = FORMATS) -> list[Path]:
    """Write ``stem.png`` and ``stem.svg`` atomically; reproducible bytes for the SVG."""
    import matplotlib

    paths = []
    for extension in formats:
        path = stem.with_suffix(f".{extension}")
        metadata = {"Date": None} if extension == "svg" else {"Software": None}
        with matplotlib.rc_context({"svg.hashsalt": "chainrule"}), atomic_path(path) as tmp:
            figure.savefig(tmp, format=extension, dpi=150, metadata=metadata)
        paths.append(path)
    return paths


def _graph_curve(activation: str, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``f(x)`` and ``f'(x)`` from the engine: the one-layer chain with ``w = 1``."""
    result = build_chain(1, activation).evaluate(x=x, w1=np.ones_like(x))
    return np.asarray(result.value), np.asarray(result.gradients["x"])


def plot_activation_derivatives(out_dir: Path) -> list[Path]:
    """σ, tanh, relu with their derivatives; the maximum of each derivative marked."""
    figure, axes = new_figure(12, 3.6, columns=len(NAMES))
    x = np.linspace(-6, 6, 1201)
    for ax, name in zip(axes, NAMES, strict=True):
        entry = activation(name)
        f = entry.symbol
        value, slope = _graph_curve(name, x)
        facts = derivative_facts(name)
        ax.plot(x, value, color="0.35", label=f"{f}(x)")
        ax.plot(x, slope, color=entry.colour, lw=2.2, label=f"{f}'(x)")
        top = facts.max_float
        if isinstance(facts.argmax, str):  # relu: max on a half-line
            ax.plot([0, 6], [top, top], color="crimson", lw=4, alpha=0.35)
            text = f"max {f}' = {facts.max_value} for {facts.argmax}"
            ax.annotate(
                text,
                (3, top),
                (-5.5, top + 0.45),
                color="crimson",
                arrowprops={"arrowstyle": "->", "color": "crimson"},
            )
        else:
            where = float(facts.argmax)
            ax.plot([where], [top], "o", color="crimson", ms=8, zorder=5)
            ax.annotate(
                f"max {f}' = {facts.max_value} at x = {facts.argmax}",
                (where, top),
                (where + 0.6, top + 0.3 * max(1.0, top)),
                color="crimson",
                arrowprops={"arrowstyle": "->", "color": "crimson"},
            )
        ax.axhline(0, color="0.8", lw=0.8, zorder=0)
        rule = facts.derivative_text() if facts.by_output is not None else "1 if x > 0, else 0"
        ax.set(title=f"{f}'(x) = {rule}", xlabel="x", ylim=entry.plot_range)
        ax.legend(loc="upper left", frameon=False)
    return save_figure(figure, out_dir / "activation_derivatives")


def plot_exploding_window(out_dir: Path) -> list[Path]:
    """Where ``|w σ'(w a)| > 1``: needs ``|w| > 4`` and ``a`` in a narrow window around 0."""
    facts = exploding_facts("sigmoid")
    figure, (left, right) = new_figure(11, 4.2, columns=2)
    weights, inputs = np.meshgrid(np.linspace(0.05, 30, 400), np.linspace(-0.6, 0.6, 301))
    result = build_chain(1, "sigmoid").evaluate(x=inputs, w1=weights)
    factor = np.abs(np.asarray(result.gradients["x"]))  # d a_1 / d a_0 = w σ'(w a)
    mesh = left.pcolormesh(
        weights,
        inputs,
        np.log10(factor),
        cmap="RdBu_r",
        vmin=-3,
        vmax=3,
        shading="auto",
        rasterized=True,
    )
    left.contour(weights, inputs, factor, levels=[1.0], colors="k", linewidths=1.5)
    threshold = float(facts.threshold)
    left.axvline(threshold, color="k", ls="--", lw=1)
    left.text(threshold + 0.4, 0.5, f"|w| = {facts.threshold}", fontsize=9)
    figure.colorbar(mesh, ax=left, label="log10 |w σ'(w a)|  (black: = 1)")
    left.set(
        xlabel="|w|",
        ylabel="a (the layer's input)",
        title="one sigmoid layer: |∂a_i/∂a_{i-1}| = |w σ'(w a)|",
    )
    w = threshold + np.geomspace(1e-6, 30 - threshold, 600)  # dense where the width rises
    widths = [np.diff(facts.window(float(v)) or (0.0, 0.0))[0] for v in w]
    best_w, best_width = facts.widest_window()
    right.plot(w, widths, color=activation("sigmoid").colour, lw=2)
    right.plot([best_w], [best_width], "o", color="crimson")
    right.annotate(
        f"widest: {best_width:.3f} at |w| = {best_w:.2f}",
        (best_w, best_width),
        (best_w + 4, best_width * 0.9),
        color="crimson",
        arrowprops={"arrowstyle": "->", "color": "crimson"},
    )
    right.set(
        xlabel="|w|",
        ylabel="width of the set of a with |w σ'(w a)| > 1",
        title="the window where a layer amplifies",
        xlim=(0, 30),
        ylim=(0, 0.5),
    )
    return save_figure(figure, out_dir / "exploding_window")


def plot_depth_sweep(sweeps: Sequence[Sweep], out_dir: Path) -> list[Path]:
    """Median and interquartile range of ``|dy/dx|`` against depth, one panel per activation."""
    import matplotlib

    figure, axes = new_figure(13, 4.2, columns=len(sweeps))
    colours = matplotlib.colormaps["viridis"](np.linspace(0, 0.9, len(sweeps[0].scales)))
    for ax, sweep in zip(axes, sweeps, strict=True):
        depths = np.asarray(sweep.depths)
        median, (low, high) = sweep.median(), sweep.quantiles()
        for k, scale in enumerate(sweep.scales):
            ax.plot(depths, median[k], color=colours[k], lw=2, label=f"s = {scale:g}")
            ax.fill_between(depths, low[k], high[k], color=colours[k], alpha=0.18, lw=0)
        ax.axhline(1.0, color="k", lw=0.8, ls="--")
        ax.set_yscale("log")
        ax.set_ylim(1e-40, 1e25)
        title = f"{activation(sweep.activation).symbol} chain, w_i ~ N(0, s²)"
        if sweep.alive_only:
            title += "\n(alive chains; a dead one has dy/dx = 0)"
        ax.set(title=title, xlabel="depth n", ylabel="|dy/dx|  (median, 25–75 % band)")
        ax.legend(loc="lower left", frameon=False, fontsize=8)
    seeds = sweeps[0].gradients.shape[1]
    figure.suptitle(f"gradient through a chain of one-node layers, {seeds} random chains each")
    return save_figure(figure, out_dir / "depth_sweep")


def plot_heatmap(sweeps: Sequence[Sweep], out_dir: Path) -> list[Path]:
    """``log10`` median ``|dy/dx|`` over (depth, weight scale); black line: ``|dy/dx| = 1``."""
    figure, axes = new_figure(14, 4.4, columns=len(sweeps))
    meshes = []
    for ax, sweep in zip(axes, sweeps, strict=True):
        values = sweep.log10_median()
        depths = np.asarray(sweep.depths)
        mesh = ax.pcolormesh(
            depths,
            sweep.scales,
            values,
            cmap="RdBu_r",
            vmin=-LOG10_RANGE,
            vmax=LOG10_RANGE,
            shading="nearest",
            rasterized=True,
        )
        meshes.append(mesh)
        if values.max() > 0 > values.min():
            ax.contour(depths, sweep.scales, values, levels=[0.0], colors="k", linewidths=1.5)
        ax.set_yscale("log")
        title = f"{activation(sweep.activation).symbol}: log10 median |dy/dx|"
        if sweep.alive_only:
            title += "\n(chains with every unit active)"
        ax.set(title=title, xlabel="depth n", ylabel="weight scale s  (w_i ~ N(0, s²))")
    figure.colorbar(
        meshes[0], ax=list(axes), extend="both", label="log10 |dy/dx|: blue vanishes, red explodes"
    )
    return save_figure(figure, out_dir / "heatmap")


def write_all(out_dir: str | Path, seeds: int = 500, seed: int = 0) -> list[Path]:
    """Write every figure (PNG and SVG) into ``out_dir``; returns the paths written."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    depth = [depth_sweep(a, SCALES, seeds=seeds, seed=seed) for a in NAMES]
    heat = [depth_sweep(a, HEATMAP_SCALES, seeds=seeds, seed=seed) for a in NAMES]
    return [
        *plot_activation_derivatives(out),
        *plot_exploding_window(out),
        *plot_depth_sweep(depth, out),
        *plot_heatmap(heat, out),
    ]
