"""Section 1.2: one expression worked through as the sheet asks.

For each expression: (i) the intermediate variables, (ii) the drawn graph with
values and gradients, (iii) the forward pass and (iv) the backward pass written
out, then the symbolic gradients and the three-way verification. Without values
(the sheet's example, which gives none) the structure and the symbolic gradients
are shown.

>>> spec = ExpressionSpec("A", "Expression A", "(a - b*c)*d", {"a": 2, "b": -7, "c": 4, "d": 1})
>>> out = work_expression(spec)
>>> out.facts["value"], out.facts["gradients"]["c"]
(30.0, 7.0)
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from chainrule.core.evaluate import Result
from chainrule.core.graph import Graph
from chainrule.core.parser import detect_syntax, parse
from chainrule.errors import ChainruleError
from chainrule.report import mathsvg
from chainrule.report.document import (
    Block,
    BulletList,
    Equations,
    Figure,
    Heading,
    Math,
    Note,
    Paragraph,
    Table,
)
from chainrule.report.parts import Part, PartOutput
from chainrule.show.notation import latex_number

MODULES = ("chainrule.report.graphs",)
"""The code an expression's part runs (its cache key hashes it and all it imports)."""


@dataclass(frozen=True)
class ExpressionSpec:
    """One expression of section 1.2 and the point it is evaluated at (None: no values)."""

    label: str  # "A", or "1" for the first user expression; also the anchor's suffix
    title: str  # "Expression A"
    text: str  # the expression as typed (plain or LaTeX)
    values: Mapping[str, float] | None
    names: str = "v"  # naming of intermediate variables ("letters" for the sheet's example)
    symbol: str = ""  # LaTeX name of the whole expression, e.g. \mathcal{A}

    def graph(self) -> Graph:
        """The parsed graph (a ChainruleError for bad input)."""
        return parse(self.text, names=self.names)

    def point(self, graph: Graph) -> dict[str, float] | None:
        """The values of this expression's inputs, or None when not all are given."""
        if self.values is None or not set(graph.inputs) <= set(self.values):
            return None
        return {name: float(self.values[name]) for name in graph.inputs}


def expression_part(spec: ExpressionSpec, estimate: float) -> Part:
    """The cacheable part that works ``spec`` through."""
    point = spec.point(spec.graph())
    return Part(
        f"1.2-{spec.label}",
        f"1.2 {spec.title}: variables, graph, forward and backward pass, verification",
        lambda ctx: work_expression(spec),
        {"text": spec.text, "names": spec.names, "values": point, "symbol": spec.symbol},
        MODULES,
        estimate,
    )


def work_expression(spec: ExpressionSpec) -> PartOutput:
    """All the blocks of one expression, and the facts other parts quote."""
    graph = spec.graph()
    point = spec.point(graph)
    result = graph.evaluate(point) if point is not None else None
    blocks: list[Block] = [
        Heading(spec.title, 3, f"expr-{spec.label}"),
        Math(expression_latex(spec, graph)),
    ]
    facts: dict[str, Any] = {
        "label": spec.label, "title": spec.title, "operations": len(graph.equations),
        "output": graph.nodes[graph.output].name, "inputs": list(graph.inputs),
    }
    if result is None or point is None:
        blocks.append(Paragraph(
            "No values are given for this expression, so it is shown with its structure and "
            f"its symbolic gradients (give values with `--at`: inputs {', '.join(graph.inputs)})."
        ))
        variables, symbolic = structure_only(graph)
        blocks += [*variables, *drawn_graph(spec, graph, None), *symbolic]
        return PartOutput(blocks, facts)
    pairs = ", ".join(f"{name} = {latex_number(value)}" for name, value in point.items())
    blocks.append(Paragraph(f"Evaluated at ${pairs}$." if point else
                            "The expression has no inputs: it is a constant."))
    variables, rest, torch_agree = worked_solution(result)
    blocks += [*variables, *drawn_graph(spec, graph, result), *rest]
    facts["value"] = float(result.value)
    facts["gradients"] = {name: float(g) for name, g in result.gradients.items()}
    facts["torch_agree"] = torch_agree
    return PartOutput(blocks, facts)


def typesets(latex: str) -> bool:
    """Whether the report's math renderer can typeset ``latex``."""
    try:
        mathsvg.render(latex)
    except ChainruleError:
        return False
    return True


def expression_latex(spec: ExpressionSpec, graph: Graph) -> str:
    """The expression as display math: the user's LaTeX when it typesets, else sympy's."""
    lhs = f"{spec.symbol} = " if spec.symbol else ""
    if detect_syntax(spec.text) == "latex" and typesets(lhs + spec.text):
        return lhs + spec.text
    import sympy

    from chainrule.verify.symbolic import to_sympy

    latex: str = sympy.latex(to_sympy(graph))
    return lhs + latex


TITLES = {
    "Intermediate variables": "(i) Intermediate variables",
    "Forward pass": "(iii) Forward propagation",
    "Local derivatives": "(iv) Backpropagation: the local derivatives",
    "Backward pass": "(iv) Backpropagation: the chain rule, node by node",
    "Gradients": "The gradients",
}
"""The explanation's section titles, numbered as the sheet's tasks."""

_PLAIN_CELL = re.compile(r"-?[\d.]+|yes|NO|—")


def _cell(text: str) -> str:
    if _PLAIN_CELL.fullmatch(text):
        return "**no**" if text == "NO" else text
    return f"${text}$"


LONG_EQUATION = 70
"""Characters of LaTeX beyond which a sum of chain-rule terms gets a row of its own."""


def aligned(equations: tuple[Any, ...]) -> Equations:
    """Equations of the explanation aligned on "="; a long sum continues on its own row."""
    rows: list[tuple[str, str]] = []
    for equation in equations:
        first, *rest = equation.rhs
        long = len(" = ".join(equation.rhs)) > LONG_EQUATION
        if rest and " + " in first and long:
            rows += [(equation.lhs, f"= {first}"), ("", f"= {' = '.join(rest)}")]
        else:
            rows.append((equation.lhs, f"= {' = '.join(equation.rhs)}"))
    return Equations(tuple(rows))


def explanation_blocks(section: Any) -> list[Block]:
    """An explanation section of :mod:`chainrule.show.explain` as report blocks."""
    blocks: list[Block] = [Heading(TITLES.get(section.title, section.title), 4)]
    if section.intro:
        blocks.append(Paragraph(section.intro[0].upper() + section.intro[1:] + ":"))
    if section.title == "Intermediate variables":
        blocks.append(BulletList(tuple(
            f"${' = '.join((eq.lhs, *eq.rhs))}$" for eq in section.equations
        )))
    elif section.equations:
        blocks.append(aligned(section.equations))
    if section.formulas:
        blocks.append(aligned(section.formulas))
    if any(r"\theta" in eq.rhs[-1] for eq in section.formulas):
        blocks.append(Paragraph("Here $\\theta$ is the Heaviside step function: 1 for a positive "
                                "argument, 0 for a negative one (the derivative of max)."))
    if section.table is not None:
        header = tuple(_cell(h) if "\\" in h else h for h in section.table.header)
        rows = tuple(tuple(_cell(c) for c in row) for row in section.table.rows)
        blocks.append(Table(header, rows))
    for note in section.notes:
        warning = section.title == "Warnings" or note.lower().startswith("warning:")
        text = note.split(":", 1)[1].strip() if note.lower().startswith("warning:") else note
        blocks.append(Note(text, "warning") if warning else Paragraph(text))
    return blocks


def _phrase(title: str) -> str:
    """A title inside a sentence: "the sheet's example", "Expression A"."""
    return title[0].lower() + title[1:] if title.startswith("The ") else title


def drawn_graph(spec: ExpressionSpec, graph: Graph, result: Result | None) -> list[Block]:
    """(ii): the picture, with values and gradients when there are any."""
    from chainrule.show.render import to_svg

    what = (
        "each node shows its value (forward pass) and its gradient, the derivative of the "
        "output with respect to it (backward pass); each edge is labelled with its local "
        "derivative"
        if result is not None
        else "inputs on the left, the output on the right"
    )
    return [
        Heading("(ii) Computational graph", 4),
        Figure(f"graph-{spec.label}", f"The computational graph of {_phrase(spec.title)}: {what}.",
               svg=to_svg(graph, result)),
    ]


def torch_check(result: Result) -> tuple[list[Block], bool]:
    """torch autograd in float64 on the same graph: a fourth, independent check."""
    from chainrule.verify.threeway import error, torch_gradients

    point = {name: float(value) for name, value in result.inputs.items()}
    _, by_torch = torch_gradients(result.graph, point)
    worst = max((error(by_torch[name], float(g)) for name, g in result.gradients.items()),
                default=0.0)
    agree = worst <= 1e-9
    text = (
        f"torch autograd, run on float64 tensors through the same operations, "
        f"{'gives the same gradients' if agree else 'gives DIFFERENT gradients'} "
        f"(largest relative difference ${latex_number(worst, 2)}$)."
    )
    return [Paragraph(text)], agree


def structure_only(graph: Graph) -> tuple[list[Block], list[Block]]:
    """(i), and the symbolic gradients, of an expression without values."""
    from chainrule.show import explain
    from chainrule.verify.symbolic import symbolic_gradients

    notation = explain.LatexNotation()
    try:
        closed, why_not = symbolic_gradients(graph), ""
    except ChainruleError as problem:
        closed, why_not = None, str(problem)
    return (
        explanation_blocks(explain.intermediate_variables(graph, notation)),
        explanation_blocks(explain.symbolic_section(graph, notation, closed, why_not)),
    )


def worked_solution(result: Result) -> tuple[list[Block], list[Block], bool]:
    """(i) on one side; (iii), (iv), the symbolic gradients and the checks on the other."""
    from chainrule.show import explain

    sections = explain.sections(result, explain.LatexNotation())
    first = explanation_blocks(sections[0])
    rest = [block for section in sections[1:] for block in explanation_blocks(section)]
    checks, torch_agree = torch_check(result)
    return first, rest + checks, torch_agree
