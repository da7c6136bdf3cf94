"""The plan of the report: its parts in the order they run, and the sheet's sections.

Sections follow the sheet's numbering. Parts run in an order where every fact is
computed before it is quoted: the expressions of 1.2, the chain of 1.3, the
networks of 1.4, and last the answers to the conceptual questions, which cite
numbers from all of them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from chainrule.errors import ChainruleError
from chainrule.report import answers, digits, vanishing
from chainrule.report.budget import Budget
from chainrule.report.document import Block, Heading, Paragraph
from chainrule.report.graphs import ExpressionSpec, expression_part
from chainrule.report.parts import Part
from chainrule.sheet import SHEET_EXPRESSIONS, SHEET_VALUES
from chainrule.show.notation import latex_number

SHEET_EXAMPLE = r"4(xyz + \max(z, w))"
"""The sheet's example of a computational graph (section 1.2)."""


@dataclass(frozen=True)
class Section:
    """One of the sheet's sections: its heading, a few lines of intro, its parts in order."""

    number: str  # "1.2"
    title: str
    intro: Callable[[], list[Block]]
    parts: list[str] = field(default_factory=list)

    def heading(self) -> Heading:
        return Heading(f"{self.number} {self.title}", 2, f"sec-{self.number.replace('.', '-')}")


@dataclass(frozen=True)
class Plan:
    """What to compute and where each part goes."""

    parts: list[Part]
    sections: list[Section]


def expression_specs(user: list[str], at: Mapping[str, float]) -> list[ExpressionSpec]:
    """The sheet's example and A, B, C at the sheet's values (``at`` overrides), or ``user``'s."""
    values = {**SHEET_VALUES, **at}
    if user:
        return [
            ExpressionSpec(str(n), f"Expression {n}", text, values,
                           symbol="f" if len(user) == 1 else f"f_{{{n}}}")
            for n, text in enumerate(user, 1)
        ]
    sheet = [
        ExpressionSpec(label, f"Expression {label}", text, values, symbol=f"\\mathcal{{{label}}}")
        for label, text in SHEET_EXPRESSIONS.items()
    ]
    example = ExpressionSpec("example", "The sheet's example", SHEET_EXAMPLE, values,
                             names="letters", symbol="f")
    return [example, *sheet]


def check_inputs(specs: list[ExpressionSpec], at: Mapping[str, float], user: bool) -> None:
    """Bad input fails here, before anything runs: a one-line error naming the problem."""
    from chainrule.show.explain import EXPLAIN_MAX_OPS

    used: set[str] = set()
    for spec in specs:
        graph = spec.graph()
        used.update(graph.inputs)
        if len(graph.equations) > EXPLAIN_MAX_OPS:
            raise ChainruleError(
                f"--expr: {spec.title} has {len(graph.equations)} operations; the report works "
                f"through expressions of up to {EXPLAIN_MAX_OPS} (chainrule graph shows any size)"
            )
        point = spec.point(graph)
        if point is None and (user or spec.label != "example"):
            missing = sorted(set(graph.inputs) - set(spec.values or {}))
            raise ChainruleError(
                f"{spec.title} ({spec.text}): no value for {', '.join(missing)}; "
                f"give it with --at {missing[0]}=NUMBER"
            )
        if point is not None:
            graph.evaluate(point)  # domain errors (log of a negative number) are bad input too
    unused = sorted(set(at) - used)
    if unused:
        raise ChainruleError(f"--at: no expression uses {', '.join(unused)}")


def _graphs_intro(specs: list[ExpressionSpec], user: bool) -> Callable[[], list[Block]]:
    def intro() -> list[Block]:
        if user:
            return [Paragraph(
                "The expressions given on the command line, worked through as the sheet asks "
                "for its expressions A, B and C."
            )]
        values = dict(specs[1].values or {})
        pairs = ", ".join(f"{name} = {latex_number(values[name])}" for name in sorted(values))
        return [Paragraph(
            "First the sheet's example, with the sheet's names for its intermediate variables; "
            "then the expressions $\\mathcal{A}$, $\\mathcal{B}$ and $\\mathcal{C}$ at "
            f"${pairs}$. The sheet asks for the forward and backward passes of any two of "
            "them; all three are done here. Every number below was computed by chainrule's "
            "engine for this report."
        )]

    return intro


def plan(budget: Budget, user: list[str], at: Mapping[str, float]) -> Plan:
    """Every part of the report and the section each belongs to."""
    specs = expression_specs(user, at)
    check_inputs(specs, at, bool(user))
    expression_parts = [expression_part(s, budget.estimates["expression"]) for s in specs]
    chain_parts = vanishing.parts(budget)
    digit_parts = digits.parts(budget)
    expression_ids = [p.id for p in expression_parts]
    basics = answers.basics_part(budget, expression_ids, [p.id for p in chain_parts],
                                 [p.id for p in digit_parts])
    first_answer, chain_answers = answers.vanishing_parts(budget, [p.id for p in chain_parts])
    chain, *figures = [p.id for p in chain_parts]
    sections = [
        Section("1.1", "Basics", answers.basics_intro, [basics.id]),
        Section("1.2", "Computational graphs", _graphs_intro(specs, bool(user)), expression_ids),
        Section("1.3", "Vanishing and exploding gradients", vanishing.intro,
                [first_answer.id, chain, chain_answers.id, *figures]),
        Section("1.4", "Handwritten digit recognition", digits.intro,
                [p.id for p in digit_parts]),
    ]
    parts = [*expression_parts, *chain_parts, *digit_parts, first_answer, chain_answers, basics]
    return Plan(parts, sections)
