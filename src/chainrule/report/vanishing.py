"""Section 1.3: the sigmoid chain, vanishing and exploding gradients, and a deep network.

Three parts: the chain itself (σ' derived by sympy, the chain-rule gradient, the
vanishing and exploding examples: :mod:`chainrule.vanishing.chain` and
:mod:`chainrule.vanishing.facts`), the plots (sweeps over depth and weight scale),
and the deep-network experiment on MNIST, which is the slow one and has its own
cache entry.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from chainrule.report.budget import Budget
from chainrule.report.document import Block, Figure, Heading, Math, Paragraph, Table
from chainrule.report.parts import Part, PartContext, PartOutput
from chainrule.show.notation import latex_number, percent, short

SHEET_DEPTH = 5
"""The sheet's chain: input x, four hidden one-node layers and the output, a_1 .. a_5."""

EXAMPLE_X = 0.5
"""Where the sheet's chain is evaluated (the sheet leaves x and the weights open)."""

GROWTH_DEPTHS = (5, 10, 20)
"""Depths at which the vanishing and exploding examples are compared."""

CHAIN_MODULES = ("chainrule.report.vanishing",)
PLOT_MODULES = ("chainrule.vanishing.plots",)  # facts only: presented on every run
DEEPNET_MODULES = ("chainrule.vanishing.deepnet", "chainrule.vanishing.plots")  # facts only

PLOTS = (
    ("activation_derivatives", "Each activation and its derivative; the maximum of the "
     "derivative is marked where sympy found it."),
    ("exploding_window", "Where one sigmoid layer amplifies: |w σ'(w a)| over the weight and the "
     "layer's input (left), and the width of the window of inputs where it exceeds 1 (right)."),
    ("depth_sweep", "|dy/dx| against depth for chains with random weights w_i ~ N(0, s²): median "
     "and 25-75% band over random chains, per weight scale s."),
    ("heatmap", "log10 of the median |dy/dx| over depth and weight scale: blue vanishes, red "
     "explodes."),
)
"""The figures of :func:`chainrule.vanishing.plots.write_all`, with the report's captions."""


def intro() -> list[Block]:
    """The sheet's network in one paragraph."""
    return [Paragraph(
        f"The network has an input $x$, {SHEET_DEPTH - 1} hidden layers of one node and an "
        "output $y$: "
        f"$a_i = \\sigma(w_i a_{{i-1}})$ for $i = 1, \\ldots, {SHEET_DEPTH}$, with $a_0 = x$ and "
        f"$y = a_{SHEET_DEPTH}$. chainrule builds it as a computational graph "
        "($z_i = w_i a_{i-1}$, $a_i = \\sigma(z_i)$) and backpropagates through it like any "
        "other expression."
    )]


def parts(budget: Budget) -> list[Part]:
    """The parts of section 1.3, in order (the answers come from :mod:`answers`)."""
    plots = dict(budget.plot_overrides)
    deepnet = dict(budget.deepnet_overrides)
    return [
        Part("1.3-chain", "1.3 the sigmoid chain: σ', the chain rule, vanishing and exploding",
             lambda ctx: chain_part(), {"depth": SHEET_DEPTH, "x": EXAMPLE_X,
                                        "depths": list(GROWTH_DEPTHS)},
             CHAIN_MODULES, budget.estimates["chain"]),
        Part(f"1.3-plots-{budget.name}", "1.3 plots: σ', the exploding window, depth sweeps",
             lambda ctx: plots_part(ctx, plots), plots, PLOT_MODULES, budget.estimates["plots"],
             present=present_plots),
        Part(f"1.3-deepnet-{budget.name}", "1.3 deep networks on MNIST: gradient norm per layer",
             lambda ctx: deepnet_part(ctx, deepnet), deepnet, DEEPNET_MODULES,
             budget.estimates["deepnet"], present=present_deepnet),
    ]


def _svg(path: Path) -> str:
    return path.with_suffix(".svg").read_text(encoding="utf-8")


def plots_part(ctx: PartContext, options: Mapping[str, Any]) -> PartOutput:
    """The sweeps and figures of :mod:`chainrule.vanishing.plots`, as SVG text."""
    from chainrule.vanishing.plots import write_all

    written = {path.stem for path in write_all(ctx.workdir, **options)}
    return PartOutput([], {"svg": {stem: _svg(ctx.workdir / stem) for stem in sorted(written)}})


def present_plots(facts: Mapping[str, Any]) -> list[Block]:
    """The figures, with the report's captions."""
    blocks: list[Block] = [
        Heading("Plots: the derivative, the exploding window, depth and weight scale", 3,
                "chain-plots"),
        Paragraph("Every curve is chainrule's engine evaluating the chain's graph on arrays of "
                  "points (thousands of random chains at once), not a separate formula."),
    ]
    return blocks + [Figure(f"chain-{stem}", caption, svg=facts["svg"][stem])
                     for stem, caption in PLOTS if stem in facts["svg"]]


def _network(report: Any) -> dict[str, Any]:
    """What the report shows of one deep-network run."""
    return {
        "label": report.config.label(), "first": report.at_init[0],
        "last_hidden": report.at_init[-2], "spread": report.spread_at_init(),
        "accuracy": report.test_accuracy, "diverged_at": report.diverged_at,
        "clip": report.config.clip, "clipped_steps": report.clipped_steps,
        "steps": report.steps, "max_norm": report.max_total_grad_norm,
        "init_gain": report.config.init_gain,
    }


def deepnet_part(ctx: PartContext, overrides: Mapping[str, Any]) -> PartOutput:
    """The Glorot & Bengio experiment: per-layer gradient norms of deep MLPs on MNIST."""
    from chainrule.vanishing.deepnet import (
        GradientConfig,
        plot_comparison,
        run_suite,
        suite_configs,
    )

    base = replace(GradientConfig(), progress=ctx.show_progress, **overrides)
    reports = run_suite(suite_configs(base))
    comparison = plot_comparison(reports, ctx.workdir / "comparison")
    reports[0].plot(ctx.workdir / "sigmoid")
    networks = [_network(report) for report in reports]
    facts: dict[str, Any] = {
        "base": {key: getattr(base, key) for key in ("depth", "width", "train_size", "epochs",
                                                     "lr", "probe_size")},
        "networks": networks, "depth": base.depth,
        "sigmoid_ratio": 10 ** networks[0]["spread"],
        "accuracies": {network["label"]: network["accuracy"] for network in networks},
        "comparison_svg": _svg(comparison[0]), "sigmoid_svg": _svg(ctx.workdir / "sigmoid"),
    }
    exploding = [n for n in networks if n["init_gain"] != 1.0]
    if len(exploding) == 2:
        wild, tamed = exploding
        facts["exploding"] = {
            "label": wild["label"], "diverged_at": wild["diverged_at"],
            "max_norm": wild["max_norm"], "accuracy": wild["accuracy"],
            "clipped_label": tamed["label"], "clipped_accuracy": tamed["accuracy"],
            "clipped_steps": tamed["clipped_steps"], "steps": tamed["steps"],
        }
    return PartOutput([], facts)


def _deepnet_rows(networks: list[Mapping[str, Any]]) -> tuple[tuple[str, ...], ...]:
    rows = []
    for network in networks:
        note = (f"diverged at step {network['diverged_at']}"
                if network["diverged_at"] is not None else "")
        if network["clip"] is not None:
            note = f"clipped {network['clipped_steps']} of {network['steps']} steps"
        rows.append((network["label"], f"${latex_number(network['first'], 3)}$",
                     f"${latex_number(network['last_hidden'], 3)}$", short(network["spread"], 2),
                     percent(network["accuracy"]), note))
    return tuple(rows)


def present_deepnet(facts: Mapping[str, Any]) -> list[Block]:
    """The experiment's table and figures."""
    base = facts["base"]
    header = ("network", "layer 1 at init", "last hidden at init", "orders of magnitude between",
              "test accuracy", "note")
    return [
        Heading("A real deep network", 3, "deepnet"),
        Paragraph(
            f"Multilayer perceptrons with {base['depth']} hidden layers of {base['width']} "
            f"units, trained on {base['train_size']:,} MNIST images for {short(base['epochs'])} "
            f"epoch{'' if base['epochs'] == 1 else 's'} with plain SGD (learning rate "
            f"{short(base['lr'])}); the gradient norm of "
            f"every layer's weights is measured on {base['probe_size']:,} training images at "
            "initialisation and during training, as in Glorot and Bengio (2010)."
        ),
        Table(header, _deepnet_rows(facts["networks"]),
              "Gradient norm of the first and the last hidden layer at initialisation, their "
              "ratio in orders of magnitude, and the test accuracy after training."),
        Figure("deepnet-comparison", "The gradient norm of each layer's weights at "
               "initialisation and after training, one line per network, and the loss during "
               "training.",
               svg=facts["comparison_svg"]),
        Figure("deepnet-sigmoid", f"The {facts['networks'][0]['label']} network: gradient norm "
               "per layer at every measurement during training (dark: initialisation).",
               svg=facts["sigmoid_svg"]),
    ]


def _sigma(latex: str, symbol: Any) -> str:
    """sympy's LaTeX of an expression in ``s = σ(x)``, written with σ(x)."""
    return latex.replace(f"{symbol}", r"\sigma(x)")


def derivative_blocks() -> tuple[list[Block], dict[str, Any]]:
    """(ii): σ' derived by sympy, its maximum from σ'' = 0, its infimum."""
    import sympy

    from chainrule.vanishing.facts import sigmoid_derivative_facts

    facts = sigmoid_derivative_facts()
    points = ", ".join(sympy.latex(p) for p in facts.critical_points)
    by_output = _sigma(sympy.latex(facts.by_output), facts.output_symbol)
    blocks: list[Block] = [
        Heading("(ii) The derivative of the sigmoid", 4),
        Math(f"\\sigma(x) = {sympy.latex(facts.function)}"),
        Math(f"\\sigma'(x) = {sympy.latex(facts.derivative)} = {by_output}"),
        Paragraph(
            "since $1 - \\sigma(x) = \\frac{e^{-x}}{1 + e^{-x}}$. Its extremes: where "
            "$\\sigma''(x) = 0$,"
        ),
        Math(f"\\sigma''(x) = {sympy.latex(facts.second_derivative)} = 0 "
             f"\\quad\\Leftrightarrow\\quad x = {points}"),
        Math(f"\\max_x \\sigma'(x) = \\sigma'({sympy.latex(facts.argmax)}) = "
             f"{sympy.latex(facts.max_value)}, \\qquad "
             f"\\inf_x \\sigma'(x) = {sympy.latex(facts.infimum)}"),
        Paragraph(
            f"The maximum is ${sympy.latex(facts.max_value)}$ at $x = "
            f"{sympy.latex(facts.argmax)}$. There is no minimum: $\\sigma'(x) > 0$ everywhere "
            f"and tends to its infimum ${sympy.latex(facts.infimum)}$ as $|x| \\to \\infty$ "
            "without reaching it, so "
            f"$0 < \\sigma'(x) \\leq {sympy.latex(facts.max_value)}$."
        ),
    ]
    return blocks, {
        "max": facts.max_float, "max_exact": str(facts.max_value), "argmax": str(facts.argmax),
        "infimum": float(facts.infimum), "infimum_attained": facts.infimum_attained,
    }


def _layer_table(analysis: Any, caption: str) -> Table:
    rows = tuple(
        (str(layer.index), short(layer.weight), short(layer.input), short(layer.pre_activation),
         short(layer.activation), short(layer.derivative), short(layer.factor), short(layer.grad))
        for layer in analysis.layers
    )
    header = ("$i$", "$w_i$", "$a_{i-1}$", "$z_i = w_i a_{i-1}$", "$a_i = \\sigma(z_i)$",
              "$\\sigma'(z_i)$", "$w_i\\sigma'(z_i)$", "$\\partial y / \\partial a_i$")
    return Table(header, rows, caption)


def chain_rule_blocks() -> tuple[list[Block], dict[str, Any]]:
    """(iii): dy/dx by the chain rule, evaluated and checked on the sheet's chain."""
    import sympy

    from chainrule.vanishing.chain import analyse

    n = SHEET_DEPTH
    analysis = analyse([1.0] * n, EXAMPLE_X)
    facts = analysis.facts  # σ' as sympy derived it: its maximum and its form in σ
    peak = sympy.latex(facts.max_value)
    in_a = sympy.latex(facts.by_output).replace(str(facts.output_symbol), "a_i")
    factors = " ".join(
        f"\\frac{{\\partial a_{i}}}{{\\partial a_{i - 1}}}" for i in range(n, 0, -1)
    )
    same = len(set(analysis.weights)) == 1
    weights = (f"all {n} weights $w_i = {latex_number(analysis.weights[0])}$" if same
               else f"weights ${', '.join(latex_number(w) for w in analysis.weights)}$")
    blocks: list[Block] = [
        Heading("(iii) The gradient by the chain rule", 4),
        Paragraph("Each layer depends only on the one before it, so the chain rule is a product "
                  "with one factor per layer:"),
        Math(f"\\frac{{\\partial y}}{{\\partial x}} = {factors}"),
        Math("\\frac{\\partial a_i}{\\partial a_{i-1}} = w_i\\,\\sigma'(w_i a_{i-1}) = "
             f"w_i\\, {in_a}"),
        Math(f"\\frac{{\\partial y}}{{\\partial x}} = \\prod_{{i=1}}^{{{n}}} w_i\\,"
             f"\\sigma'(w_i a_{{i-1}}) = \\prod_{{i=1}}^{{{n}}} w_i\\, {in_a}, \\qquad "
             f"\\left|\\frac{{\\partial y}}{{\\partial x}}\\right| \\leq "
             f"\\left({peak}\\right)^{{{n}}} \\prod_{{i=1}}^{{{n}}} |w_i|"),
        Paragraph(
            f"With {weights} and $x = {latex_number(EXAMPLE_X)}$, "
            "chainrule's backpropagation through the graph gives "
            f"$\\partial y / \\partial x = {latex_number(analysis.backprop)}$, and the product "
            f"formula gives ${latex_number(analysis.closed_form)}$ "
            f"({'they agree' if analysis.agree else 'they DISAGREE'}: relative difference "
            f"${latex_number(analysis.relative_difference, 2)}$). The bound is "
            f"$\\left({peak}\\right)^{{{n}}} \\prod_i |w_i| = {latex_number(analysis.bound)}$."
        ),
        _layer_table(analysis, "The chain layer by layer: the value of every node, the local "
                     "factor of every layer and the gradient of y with respect to every node."),
    ]
    return blocks, {
        "example_x": EXAMPLE_X, "example_weights": analysis.weights,
        "example_dy_dx": analysis.backprop, "example_closed_form": analysis.closed_form,
        "example_agree": analysis.agree, "example_bound": analysis.bound, "depth": n,
        "example_factors": [layer.factor for layer in analysis.layers],
    }


def examples_blocks() -> tuple[list[Block], dict[str, Any]]:
    """A vanishing chain and an exploding one, compared as they get deeper."""
    import sympy

    from chainrule.vanishing.chain import exploding_example, vanishing_example
    from chainrule.vanishing.facts import exploding_facts, sigmoid_derivative_facts

    peak = sympy.latex(sigmoid_derivative_facts().max_value)
    explode = exploding_facts("sigmoid")
    threshold = float(explode.threshold)
    vanishing = {depth: vanishing_example(depth) for depth in GROWTH_DEPTHS}
    exploding = {depth: exploding_example(depth) for depth in GROWTH_DEPTHS}
    first, slow = exploding[GROWTH_DEPTHS[0]], vanishing[GROWTH_DEPTHS[0]]
    weight, factor = first.weights[0], first.layers[0].factor
    low, high = explode.window(weight) or (0.0, 0.0)
    rows = tuple(
        (str(depth), latex_number(vanishing[depth].backprop),
         latex_number(exploding[depth].backprop))
        for depth in GROWTH_DEPTHS
    )
    blocks: list[Block] = [
        Heading("Vanishing and exploding: two chains", 4),
        Paragraph(
            f"A layer's factor is at most $|w_i| \\max\\sigma' = {peak}\\,|w_i|$, so it can exceed "
            f"1 only if $|w_i| > {short(threshold)}$ (sympy solves ${peak}\\,|w| > 1$). Even then "
            "it does so "
            "only for inputs near the centre of the sigmoid: for "
            f"$w = {short(weight)}$ the factor exceeds 1 only while "
            f"${short(low, 3)} < a_{{i-1}} < {short(high, 3)}$. The exploding chain below uses "
            f"$w_i = {short(weight)}$ in every layer and starts at the fixed point "
            f"$x = {short(first.x)}$ of $a = \\sigma(w a)$, so every layer multiplies the gradient "
            f"by ${short(factor, 5)}$; the vanishing chain has "
            f"$w_i = {short(slow.weights[0])}$ and "
            f"$x = {short(slow.x)}$."
        ),
        Table(("depth", "vanishing: $\\partial y/\\partial x$",
               "exploding: $\\partial y/\\partial x$"),
              tuple((r[0], f"${r[1]}$", f"${r[2]}$") for r in rows),
              "The gradient shrinks or grows geometrically with the number of layers."),
    ]
    last = GROWTH_DEPTHS[-1]
    return blocks, {
        "threshold": threshold, "exploding_weight": weight, "exploding_factor": factor,
        "exploding_x": first.x, "window": [low, high],
        "vanishing": {str(d): vanishing[d].backprop for d in GROWTH_DEPTHS},
        "exploding": {str(d): exploding[d].backprop for d in GROWTH_DEPTHS},
        "last_depth": last,
    }


def chain_part() -> PartOutput:
    """The analysis of the sheet's chain."""
    blocks: list[Block] = [Heading("The sigmoid chain", 3, "chain")]
    facts: dict[str, Any] = {}
    for build in (derivative_blocks, chain_rule_blocks, examples_blocks):
        more, found = build()
        blocks += more
        facts.update(found)
    return PartOutput(blocks, facts)
