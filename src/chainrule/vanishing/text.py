"""A chain's analysis as text and Markdown: the per-layer table, ``dy/dx`` both ways, the facts.

:func:`to_text` is what ``chainrule chain`` prints, :func:`to_markdown` the same
content as a Markdown table and list (the JSON form is ``ChainAnalysis.to_dict``).

>>> from chainrule.vanishing.chain import analyse
>>> print(to_text(analyse([1, 1], 0.5)).splitlines()[0])
chain: a_0 = x = 0.5, a_i = σ(w_i a_{i-1}), i = 1..2, y = a_2 = 0.650778
"""

from __future__ import annotations

from chainrule.show.notation import short
from chainrule.show.tables import aligned_table, markdown_table
from chainrule.vanishing.activations import activation as lookup
from chainrule.vanishing.chain import ChainAnalysis
from chainrule.vanishing.facts import derivative_facts, exploding_facts


def _header(activation: str) -> list[str]:
    f = lookup(activation).symbol
    slope = derivative_facts(activation).derivative_text().replace(f"{f}(x)", "a_i")
    return [
        "i",
        "w_i",
        "a_{i-1}",
        "z_i = w_i a_{i-1}",
        f"a_i = {f}(z_i)",
        f"{f}'(z_i) = {slope}" if "if" not in slope else f"{f}'(z_i)",
        f"w_i {f}'(z_i)",
        "dy/da_i",
    ]


def _rows(analysis: ChainAnalysis) -> list[list[str]]:
    return [
        [
            str(layer.index),
            short(layer.weight),
            short(layer.input),
            short(layer.pre_activation),
            short(layer.activation),
            short(layer.derivative),
            short(layer.factor),
            short(layer.grad),
        ]
        for layer in analysis.layers
    ]


def _summary_lines(analysis: ChainAnalysis) -> list[str]:
    f = lookup(analysis.activation).symbol
    explode = exploding_facts(analysis.activation)
    amplifying = explode.amplifying_layers(analysis.weights)
    agree = "agree" if analysis.agree else "DISAGREE"
    return [
        f"dy/dx by backpropagation: {analysis.backprop:.12g}",
        f"dy/dx = prod_i w_i {f}'(w_i a_{{i-1}}): {analysis.closed_form:.12g}"
        f" ({agree}: relative difference {analysis.relative_difference:.2g})",
        f"bound |dy/dx| <= {analysis.bound_formula()} = {short(analysis.bound)}"
        f" ({'holds' if analysis.bound_holds else 'VIOLATED'})",
        "",
        analysis.facts.summary(),
        f"exploding: a layer's factor |w_i {f}'(w_i a_{{i-1}})| can exceed 1 only if "
        f"|w_i| > {explode.threshold}; "
        + (
            f"layers that could: {', '.join(map(str, amplifying))}"
            if amplifying
            else "no layer here can (every |w_i| is at most that)"
        ),
    ]


def to_text(analysis: ChainAnalysis) -> str:
    """The per-layer table, ``dy/dx`` both ways, the bound and the derivative facts."""
    f = lookup(analysis.activation).symbol
    lines = [
        f"chain: a_0 = x = {short(analysis.x)}, a_i = {f}(w_i a_{{i-1}}), i = 1..{analysis.depth},"
        f" y = a_{analysis.depth} = {short(analysis.output)}",
        "",
        "graph",
        *(f"  {line}" for line in str(analysis.graph).splitlines()),
        "",
        *aligned_table(_header(analysis.activation), _rows(analysis)),
        "",
        *_summary_lines(analysis),
    ]
    if analysis.warnings:
        lines += ["", "warnings", *(f"  {w}" for w in analysis.warnings)]
    return "\n".join(lines)


def to_markdown(analysis: ChainAnalysis) -> str:
    """The same content as :func:`to_text`, as a Markdown table and list."""
    f = lookup(analysis.activation).symbol
    lines = [
        f"**Chain:** a₀ = x = {short(analysis.x)}, aᵢ = {f}(wᵢ aᵢ₋₁), i = 1..{analysis.depth}, "
        f"y = {short(analysis.output)}",
        "",
        *markdown_table([f"`{h}`" for h in _header(analysis.activation)], _rows(analysis)),
        "",
        *(f"- {line.strip()}" for line in _summary_lines(analysis) if line.strip()),
    ]
    return "\n".join(lines)
