"""Plain-text, Markdown and JSON views of a graph and its evaluation.

>>> from chainrule import parse
>>> print(to_text(parse("x*x").evaluate(x=3)))
expression: x*x
<BLANKLINE>
intermediate variables
  v1 = x * x
<BLANKLINE>
forward pass
  node  expression  value
  x     input       3
  v1    x * x       9
<BLANKLINE>
backward pass (d v1 / d node)
  node  gradient
  v1    1
  x     6
<BLANKLINE>
gradients
  d v1 / d x = 6
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from chainrule.core.evaluate import Result
from chainrule.core.graph import Graph
from chainrule.show.notation import json_value
from chainrule.show.notation import plain as number


def _rows(result: Result) -> tuple[list[list[str]], list[list[str]]]:
    """(forward rows, backward rows) for every node that is not a constant."""
    graph, grads = result.graph, result.node_grads()
    order = [i for i, node in enumerate(graph.nodes) if node.kind != "constant"]
    forward = [
        [graph.nodes[i].name, graph.expr(graph.nodes[i]) if graph.nodes[i].op else "input",
         number(result.values[i])]
        for i in order
    ]
    backward = [[graph.nodes[i].name, number(grads[i])] for i in reversed(order)]
    return forward, backward


def aligned_table(header: Sequence[str], rows: list[list[str]]) -> list[str]:
    """A plain-text table, columns padded, each line indented by two spaces.

    >>> aligned_table(["node", "value"], [["v1", "-28"]])
    ['  node  value', '  v1    -28']
    """
    widths = [max(len(r[c]) for r in [list(header), *rows]) for c in range(len(header))]
    return [
        "  " + "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
        for row in [list(header), *rows]
    ]


def structure_text(graph: Graph) -> str:
    """The intermediate variables only (no values given)."""
    lines = [f"expression: {graph.title}", "", "intermediate variables"]
    lines += [f"  {line}" for line in str(graph).splitlines()]
    lines += ["", f"inputs: {', '.join(graph.inputs) or '(none)'}"]
    return "\n".join(lines)


def to_text(result: Result) -> str:
    """Intermediate variables, forward table, backward table, gradients, warnings."""
    graph = result.graph
    out = graph.nodes[graph.output].name
    forward, backward = _rows(result)
    lines = [f"expression: {graph.title}", "", "intermediate variables"]
    lines += [f"  {line}" for line in str(graph).splitlines()]
    lines += ["", "forward pass", *aligned_table(["node", "expression", "value"], forward)]
    lines += ["", f"backward pass (d {out} / d node)"]
    lines += aligned_table(["node", "gradient"], backward)
    lines += ["", "gradients"]
    lines += [f"  d {out} / d {name} = {number(g)}" for name, g in result.gradients.items()]
    if not result.gradients:
        lines.append("  (no inputs: the expression is a constant)")
    if result.warnings:
        lines += ["", "warnings", *(f"  {w}" for w in result.warnings)]
    return "\n".join(lines)


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    """A GitHub Markdown table; ``|`` inside a cell is escaped, a line break is a space.

    >>> markdown_table(["node", "value"], [["v1", "-28"]])
    ['| node | value |', '|---|---|', '| v1 | -28 |']
    """
    def line(cells: Sequence[str]) -> str:
        return "| " + " | ".join(c.replace("|", "\\|").replace("\n", " ") for c in cells) + " |"

    return [line(header), "|" + "---|" * len(header), *map(line, rows)]


def to_markdown(result: Result) -> str:
    """The same content as :func:`to_text`, as GitHub Markdown tables."""
    graph = result.graph
    out = graph.nodes[graph.output].name
    forward, backward = _rows(result)
    lines = [f"**Expression:** `{graph.title}`", "", "**Intermediate variables**", ""]
    lines += [f"- `{line}`" for line in str(graph).splitlines()]
    lines += ["", "**Forward pass**", "", *markdown_table(["node", "expression", "value"],
                                                           [[f"`{r[0]}`", f"`{r[1]}`", r[2]]
                                                            for r in forward])]
    lines += ["", f"**Backward pass** (∂{out}/∂node)", "",
              *markdown_table(["node", "gradient"], [[f"`{r[0]}`", r[1]] for r in backward])]
    if result.warnings:
        lines += ["", "**Warnings**", "", *(f"- {w}" for w in result.warnings)]
    return "\n".join(lines)


def document(result: Result) -> dict[str, Any]:
    """The JSON document of ``chainrule graph --format json``, as a dict.

    Every number goes through :func:`~chainrule.show.notation.json_value`, so the
    document is strict JSON even where a value is infinite or NaN.

    >>> from chainrule import parse
    >>> doc = document(parse("a / b").evaluate(a=1, b=0, allow_nan=True))
    >>> list(doc)
    ['expression', 'inputs', 'steps', 'output', 'gradients', 'warnings']
    >>> doc["output"]
    {'name': 'v1', 'value': 'inf'}
    """
    graph = result.graph
    output = graph.nodes[graph.output]
    return {
        "expression": graph.source if graph.source is not None else str(graph),
        "inputs": {name: json_value(v) for name, v in result.inputs.items()},
        "steps": [
            {
                "name": step.name,
                "op": step.op,
                "args": list(step.args),
                "expr": step.expr,
                "value": json_value(step.value),
                "grad": json_value(step.grad),
            }
            for step in result.steps
        ],
        "output": {"name": output.name, "value": json_value(result.value)},
        "gradients": {name: json_value(v) for name, v in result.gradients.items()},
        "warnings": list(result.warnings),
    }


def to_json(result: Result) -> str:
    """RFC 8259 JSON; see :func:`document` for the keys."""
    return json.dumps(document(result), indent=2, allow_nan=False)
