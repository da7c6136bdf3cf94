r"""The worked solution of one expression, as a student would write it by hand.

:func:`explain` writes, for an evaluated graph:

1. the intermediate variables, one operation each;
2. the forward pass, each line with the numbers substituted,
   ``v1 = b · c = (−7)(4) = −28``;
3. the local derivatives of every operation, as formulas and numbers;
4. the backward pass from the output to every input, each line the chain rule
   with the sum over the node's consumers written out and evaluated,
   ``∂v3/∂c = ∂v3/∂v1 · ∂v1/∂c = (−1)(−7) = 7``;
5. the table of gradients;
6. the symbolic gradients (sympy, from the graph) and
7. the verification table (autodiff, symbolic, finite differences).

Every number is the engine's (``result.values``, ``result.grads``, and the ops'
own local derivatives at those values), shown with 6 significant digits. The
format is plain text, GitHub Markdown (math in ``$...$``, sympy's formulas in
```` ```math ```` blocks) or a LaTeX document (``article`` with ``amsmath``).

To call the output by its own name, name the nodes: ``parse(..., names=["v1",
"v2", "A"])`` gives ``∂A/∂c``.

>>> from chainrule import parse
>>> text = explain(parse("(a - b*c)*d").evaluate(a=2, b=-7, c=4, d=1))
>>> print(text[text.index("2. Forward") : text.index("3. Local")].strip())
2. Forward pass (from the inputs to the output)
  a = 2
  b = −7
  c = 4
  d = 1
  v1 = b · c = (−7)(4) = −28
  v2 = a − v1 = 2 − (−28) = 30
  v3 = v2 · d = (30)(1) = 30
>>> print([line for line in text.splitlines() if line.startswith("  ∂v3/∂c")][0])
  ∂v3/∂c = ∂v3/∂v1 · ∂v1/∂c = (−1)(−7) = 7
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, get_args

from chainrule.core.evaluate import Result, point_partials, point_value
from chainrule.core.graph import Graph
from chainrule.core.ops import Op
from chainrule.errors import ChainruleError
from chainrule.show import notation
from chainrule.show.notation import latex_name, pretty_infix, pretty_prefix
from chainrule.show.tables import aligned_table, markdown_table

if TYPE_CHECKING:
    import sympy

    from chainrule.verify.threeway import Verification

Format = Literal["text", "markdown", "latex"]
FORMATS: tuple[Format, ...] = get_args(Format)

SYMBOLIC_MAX_OPS = 60
"""Larger graphs are explained without sympy (local formulas, closed forms, its check)."""

DIGITS = notation.DIGITS
"""Significant digits of the numbers in the explanation (as in pictures and the report)."""

EXPLAIN_MAX_OPS = 1000
"""A longer worked solution is unreadable, and its finite-difference check (two forward
passes per input) grows with operations × inputs: refused, the tables remain."""


# ---------------------------------------------------------------- notation


@dataclass(frozen=True)
class Quantity:
    """Something written in an equation: a name (``v1``) or a number (``-7.0``)."""

    text: str  # as the notation writes it
    value: float | None = None  # None for a name

    @property
    def negative(self) -> bool:
        """A negative number, parenthesised inside operators: ``2 − (−28)``."""
        return self.value is not None and self.value < 0


class Notation:
    """How names, numbers, operations and derivatives are written (plain text)."""

    times = " · "

    def name(self, name: str) -> str:
        return name

    def number(self, value: float | None, digits: int = DIGITS) -> str:
        return "—" if value is None else notation.pretty(value, digits)

    def partial(self, of: str, by: str) -> str:
        return f"∂{self.name(of)}/∂{self.name(by)}"

    def factor(self, value: float) -> str:
        return f"({self.number(value)})"

    def apply(self, op: Op, args: Sequence[Quantity]) -> str:
        """The op applied to its arguments: ``b · c``, ``(−7)(4)``, ``sqrt(59)``."""
        if op.juxtaposed and all(a.value is not None for a in args):
            return "".join(f"({a.text})" for a in args)
        if op.form == "call":
            return op.format([a.text for a in args])
        shown = [f"({a.text})" if a.negative else a.text for a in args]
        if op.form == "prefix":
            return pretty_prefix(op.symbol, shown[0])
        return pretty_infix(op.symbol, shown[0], shown[1])

    def formula(self, expr: sympy.Expr) -> str:
        return str(expr)


class LatexNotation(Notation):
    """The same in LaTeX math: ``v_{1} = b \\cdot c``, ``\\partial v_{3} / \\partial c``."""

    times = r" \cdot "

    def name(self, name: str) -> str:
        return latex_name(name)

    def number(self, value: float | None, digits: int = DIGITS) -> str:
        return "—" if value is None else notation.latex_number(value, digits)

    def partial(self, of: str, by: str) -> str:
        # the slash form: \frac is tiny in tables and inline Markdown math
        return rf"\partial {self.name(of)} / \partial {self.name(by)}"

    def apply(self, op: Op, args: Sequence[Quantity]) -> str:
        if op.juxtaposed and all(a.value is not None for a in args):
            return "".join(f"({a.text})" for a in args)
        shown = [
            f"({a.text})" if a.negative and f"{{{{{{{i}}}}}}}" not in op.latex else a.text
            for i, a in enumerate(args)
        ]
        return op.latex.format(*shown)

    def formula(self, expr: sympy.Expr) -> str:
        import sympy

        names = {symbol: latex_name(str(symbol)) for symbol in expr.free_symbols}
        text: str = sympy.latex(expr, symbol_names=names)
        return text


# ---------------------------------------------------------------- content


@dataclass(frozen=True)
class Equation:
    """``lhs = rhs[0] = rhs[1] = ...``, one line of the worked solution."""

    lhs: str
    rhs: tuple[str, ...]

    def __post_init__(self) -> None:
        # "v1 = 2 + 3 = 2 + 3 = 5": a step that changes nothing is left out
        kept = [text for i, text in enumerate(self.rhs) if i == 0 or text != self.rhs[i - 1]]
        object.__setattr__(self, "rhs", tuple(kept))


@dataclass(frozen=True)
class Table:
    header: tuple[str, ...]
    rows: Sequence[tuple[str, ...]]


@dataclass(frozen=True)
class Section:
    """A titled part: equations, a table, sympy formulas or prose notes."""

    title: str
    intro: str = ""
    equations: tuple[Equation, ...] = ()
    table: Table | None = None
    formulas: tuple[Equation, ...] = ()  # arbitrary sympy LaTeX: display blocks
    notes: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        empty = self.table is None or not self.table.rows
        if empty and not (self.equations or self.formulas or self.notes):
            object.__setattr__(self, "table", None)
            object.__setattr__(self, "notes", ("(none)",))


def _scalar(value: Any, what: str) -> float:
    return point_value(value, what, "the explanation")


def _quantity(notation: Notation, graph: Graph, index: int, values: list[Any] | None) -> Quantity:
    """A node as a name, or with ``values`` as its number."""
    node = graph.nodes[index]
    if values is None:
        return Quantity(notation.name(node.name))
    value = _scalar(values[index], node.name)
    return Quantity(notation.number(value), value)


def intermediate_variables(graph: Graph, notation: Notation) -> Section:
    equations = tuple(
        Equation(
            notation.name(node.name),
            (notation.apply(node.op, [_quantity(notation, graph, a, None) for a in node.args]),),
        )
        for node in graph.equations
        if node.op is not None
    )
    return Section(
        "Intermediate variables", "one operation each; the last is the expression", equations
    )


def forward_pass(result: Result, notation: Notation) -> Section:
    graph = result.graph
    equations = [
        Equation(notation.name(name), (notation.number(_scalar(value, name)),))
        for name, value in result.inputs.items()
    ]
    for index, node in enumerate(graph.nodes):
        if node.op is None:
            continue
        by_name = [_quantity(notation, graph, a, None) for a in node.args]
        by_value = [_quantity(notation, graph, a, result.values) for a in node.args]
        equations.append(
            Equation(
                notation.name(node.name),
                (
                    notation.apply(node.op, by_name),
                    notation.apply(node.op, by_value),
                    notation.number(_scalar(result.values[index], node.name)),
                ),
            )
        )
    return Section("Forward pass", "from the inputs to the output", tuple(equations))


def local_partials(result: Result, index: int) -> dict[int, float]:
    """d node / d argument for each distinct non-constant argument (x*x: both summed)."""
    graph = result.graph
    partials = point_partials(result, index, "the explanation")
    summed: dict[int, float] = {}
    for arg, partial in zip(graph.nodes[index].args, partials, strict=True):
        if graph.nodes[arg].kind != "constant":
            summed[arg] = summed.get(arg, 0.0) + partial
    return summed


def local_formulas(graph: Graph) -> dict[tuple[int, int], sympy.Expr]:
    """d node / d argument as a formula in the argument names, for every edge."""
    import sympy

    from chainrule.core.backends import sympy_math
    from chainrule.verify.symbolic import exact_constant

    formulas: dict[tuple[int, int], sympy.Expr] = {}
    for index, node in enumerate(graph.nodes):
        if node.op is None:
            continue
        args = [
            exact_constant(graph.nodes[a])
            if graph.nodes[a].constant is not None
            else sympy.Symbol(graph.nodes[a].name, real=True)
            for a in node.args
        ]
        out = node.op.forward(sympy_math(), *args)
        for arg, symbol in zip(node.args, args, strict=True):
            if isinstance(symbol, sympy.Symbol):
                formula = sympy.diff(out, symbol)
                kink = node.op.kink
                if kink is not None and kink.derivative_at is not None:
                    # the engine's convention at the kink (relu'(0) = 0), not sympy's H(0) = 1/2
                    at_kink = sympy.Heaviside(symbol, sympy.Rational(kink.derivative_at))
                    formula = formula.subs(sympy.Heaviside(symbol), at_kink)
                formulas[index, arg] = formula
    return formulas


def _with_formula(notation: Notation, formula: sympy.Expr | None, number: float) -> tuple[str, ...]:
    """``c = 4`` (formula, then its value), or just ``4`` when the formula is a number."""
    if formula is None or formula.is_number:
        return (notation.number(number),)
    return (notation.formula(formula), notation.number(number))


def local_derivatives(
    result: Result, notation: Notation, formulas: dict[tuple[int, int], sympy.Expr] | None
) -> Section:
    graph = result.graph
    equations = []
    for index, node in enumerate(graph.nodes):
        if node.op is None:
            continue
        for arg, partial in local_partials(result, index).items():
            formula = formulas.get((index, arg)) if formulas is not None else None
            equations.append(
                Equation(
                    notation.partial(node.name, graph.nodes[arg].name),
                    _with_formula(notation, formula, partial),
                )
            )
    return Section(
        "Local derivatives", "of each operation with respect to its arguments", tuple(equations)
    )


def backward_pass(
    result: Result, notation: Notation, formulas: dict[tuple[int, int], sympy.Expr] | None
) -> Section:
    graph = result.graph
    grads = result.node_grads()
    out_index = graph.output
    out = graph.nodes[out_index].name
    equations = [Equation(notation.partial(out, out), ("1",))]
    for index in range(len(graph.nodes) - 1, -1, -1):
        node = graph.nodes[index]
        if index == out_index or node.kind == "constant":
            continue
        consumers = graph.consumers[index]
        total = notation.number(_scalar(grads[index], node.name))
        lhs = notation.partial(out, node.name)
        if consumers == [out_index]:  # the output uses it directly: just the local derivative
            formula = formulas.get((out_index, index)) if formulas is not None else None
            local = local_partials(result, out_index)[index]
            equations.append(Equation(lhs, (*_with_formula(notation, formula, local)[:-1], total)))
            continue
        symbols, numbers = [], []
        for consumer in consumers:
            name = graph.nodes[consumer].name
            symbols.append(
                notation.partial(out, name) + notation.times + notation.partial(name, node.name)
            )
            numbers.append(
                notation.factor(_scalar(grads[consumer], name))
                + notation.factor(local_partials(result, consumer)[index])
            )
        equations.append(Equation(lhs, (" + ".join(symbols), " + ".join(numbers), total)))
    return Section(
        "Backward pass",
        "the chain rule from the output back to every input; a node that several "
        "operations use gets one term per operation",
        tuple(equations),
    )


def gradient_table(result: Result, notation: Notation) -> Section:
    out = result.graph.nodes[result.graph.output].name
    rows = [
        (notation.partial(out, name), notation.number(_scalar(g, name)))
        for name, g in result.gradients.items()
    ]
    return Section("Gradients", table=Table(("gradient", "value"), rows))


def symbolic_section(
    graph: Graph, notation: Notation, closed: dict[str, sympy.Expr] | None, why_not: str
) -> Section:
    out = graph.nodes[graph.output].name
    if closed is None:
        return Section("Symbolic gradients", notes=(why_not,))
    formulas = tuple(
        Equation(notation.partial(out, name), (notation.formula(expr),))
        for name, expr in closed.items()
    )
    return Section(
        "Symbolic gradients",
        "differentiated by sympy from the graph, simplified",
        formulas=formulas,
    )


def verification_section(table: Verification, notation: Notation) -> Section:
    rows = [
        (
            notation.name(row.input),
            notation.number(row.autodiff, 10),
            notation.number(row.symbolic, 10),
            notation.number(row.finite_difference, 10),
            notation.number(row.symbolic_error, 2),
            notation.number(row.finite_difference_error, 2),
            "yes" if row.agree else "NO",
        )
        for row in table.rows
    ]
    header = (
        "input",
        "autodiff",
        "symbolic",
        "finite difference",
        "error (sym.)",
        "error (f.d.)",
        "agree",
    )
    return Section(
        "Verification",
        "the backpropagated gradient against sympy's closed form and a central finite "
        "difference; errors are |x − autodiff| / max(|autodiff|, 1)",
        table=Table(header, rows),
        notes=tuple(f"warning: {w}" for w in table.warnings),
    )


def sections(result: Result, notation: Notation, *, symbolic: bool = True) -> list[Section]:
    """Every part of the worked solution, in order."""
    from chainrule.verify.threeway import verification_table

    graph = result.graph
    small = symbolic and len(graph.equations) <= SYMBOLIC_MAX_OPS
    formulas = local_formulas(graph) if small else None
    closed, why_not = None, f"not computed for graphs of more than {SYMBOLIC_MAX_OPS} operations"
    if not symbolic:
        why_not = "not requested"
    if small:
        from chainrule.verify.symbolic import symbolic_gradients

        try:
            closed = symbolic_gradients(graph)
        except ChainruleError as problem:
            why_not = str(problem)
    table = verification_table(result, closed, use_symbolic=False)
    parts = [
        intermediate_variables(graph, notation),
        forward_pass(result, notation),
        local_derivatives(result, notation, formulas),
        backward_pass(result, notation, formulas),
        gradient_table(result, notation),
        symbolic_section(graph, notation, closed, why_not),
        verification_section(table, notation),
    ]
    if result.warnings:
        parts.append(Section("Warnings", notes=tuple(result.warnings)))
    return parts


# ---------------------------------------------------------------- layout


def _heading(parts: list[Section]) -> str:
    return "Worked solution" if len(parts) > 1 else "Computational graph"


def _text(graph: Graph, parts: list[Section]) -> str:
    lines = [f"{_heading(parts)}: {graph.title}"]
    for number, part in enumerate(parts, 1):
        lines += ["", f"{number}. {part.title}" + (f" ({part.intro})" if part.intro else "")]
        lines += [f"  {' = '.join((eq.lhs, *eq.rhs))}" for eq in (*part.equations, *part.formulas)]
        if part.table is not None:
            lines += aligned_table(part.table.header, [list(r) for r in part.table.rows])
        lines += [f"  {note}" for note in part.notes]
    return "\n".join(lines)


def _markdown(graph: Graph, parts: list[Section]) -> str:
    lines = [f"### {_heading(parts)}: `{graph.title.replace('`', '')}`"]
    for number, part in enumerate(parts, 1):
        lines += ["", f"#### {number}. {part.title}", ""]
        if part.intro:
            lines += [_markdown_prose(part.intro[0].upper() + part.intro[1:] + "."), ""]
        lines += [f"- ${' = '.join((eq.lhs, *eq.rhs))}$" for eq in part.equations]
        for eq in part.formulas:
            lines += ["```math", f"{' = '.join((eq.lhs, *eq.rhs))}", "```"]
        if part.table is not None:
            rows = [[_markdown_cell(c) for c in row] for row in part.table.rows]
            lines += markdown_table(part.table.header, rows)
        lines += [f"- {_markdown_prose(note)}" for note in part.notes]
    return "\n".join(lines) + "\n"


_PROSE_CELLS = ("yes", "NO", "—")  # every other table cell is math: a name or a number


def _markdown_cell(text: str) -> str:
    """A table cell: LaTeX (a name like v_{1}, a number like -4) goes in ``$...$``."""
    return text if text in _PROSE_CELLS else f"${text}$"


def _markdown_prose(text: str) -> str:
    """Prose with Markdown's special characters escaped (names like x_1, a*b)."""
    return re.sub(r"([\\`*_\[\]<>|$])", r"\\\1", text)


# Escapes that need only the default OT1 fonts (no textcomp glyphs).
_TEX_SPECIAL = {c: "\\" + c for c in "&%$#_{}"} | {
    "~": r"\~{}",
    "^": r"\^{}",
    "\\": r"$\backslash$",
    "<": "$<$",
    ">": "$>$",
    "|": "$|$",
}


def tex_escape(text: str) -> str:
    r"""Prose for LaTeX: special characters escaped, Unicode math signs spelled out.

    >>> tex_escape("v2 = log(v1): argument -0.25 is outside log's domain (0, inf) & 50%")
    "v2 = log(v1): argument -0.25 is outside log's domain (0, inf) \\& 50\\%"
    """
    text = "".join(_TEX_SPECIAL.get(c, c) for c in text)
    for unicode, tex in (("−", "-"), ("—", "---"), ("∂", r"$\partial$"), ("·", r"$\cdot$")):
        text = text.replace(unicode, tex)
    return text


def _latex(graph: Graph, parts: list[Section], document: bool) -> str:
    title = graph.title
    lines = [rf"\section*{{{_heading(parts)}}}"]
    if r"\end{verbatim}" in title:
        lines.append(rf"\texttt{{{tex_escape(title)}}}")
    else:
        lines += [r"\begin{verbatim}", title, r"\end{verbatim}"]
    for part in parts:
        lines += ["", rf"\subsection*{{{part.title}}}"]
        if part.intro:
            lines += [tex_escape(part.intro[0].upper() + part.intro[1:]) + "."]
        equations = part.equations + part.formulas
        if equations:
            rows = [_latex_row(eq) for eq in equations]
            lines += [r"\begin{align*}", " \\\\\n".join(rows), r"\end{align*}"]
        if part.table is not None:
            lines += _latex_table(part.table)
        if part.notes:
            lines += [r"\begin{itemize}"]
            # $\bullet$: the default bullet needs textcomp fonts, generated on first use
            lines += [rf"  \item[$\bullet$] {tex_escape(note)}" for note in part.notes]
            lines += [r"\end{itemize}"]
    body = "\n".join(lines)
    if not document:
        return body + "\n"
    return (
        "\\documentclass{article}\n\\usepackage{amsmath}\n\\usepackage[utf8]{inputenc}\n"
        "\\allowdisplaybreaks\n\\begin{document}\n" + body + "\n\\end{document}\n"
    )


def _latex_row(equation: Equation) -> str:
    """``lhs &= r1 = r2``; sums of several terms continue on their own line."""
    first, *rest = equation.rhs
    if rest and " + " in first:
        return f"{equation.lhs} &= {first} \\\\\n  &= {' = '.join(rest)}"
    return f"{equation.lhs} &= {' = '.join(equation.rhs)}"


def _latex_table(table: Table) -> list[str]:
    """A small centred ``tabular``: header in text, cells in math (names, numbers)."""
    columns = len(table.header)
    lines = [r"\begin{center}\footnotesize\setlength{\tabcolsep}{4pt}"]
    lines += [rf"\begin{{tabular}}{{{'l' * columns}}}", r"\hline"]
    lines.append(" & ".join(tex_escape(h) for h in table.header) + r" \\ \hline")
    lines += [
        " & ".join(tex_escape(c) if c in _PROSE_CELLS else f"${c}$" for c in row) + r" \\"
        for row in table.rows
    ]
    return [*lines, r"\hline", r"\end{tabular}", r"\end{center}"]


_LAYOUTS: dict[Format, Callable[[Graph, list[Section]], str]] = {
    "text": _text,
    "markdown": _markdown,
    "latex": lambda graph, parts: _latex(graph, parts, True),
}


def explain(result: Result | Graph, format: Format = "text", *, symbolic: bool = True) -> str:
    """The worked solution of an evaluated graph in ``text``, ``markdown`` or ``latex``.

    Given a :class:`~chainrule.core.graph.Graph` (no point), only the intermediate
    variables. ``symbolic=False`` leaves out sympy (faster; no closed forms).
    """
    if format not in FORMATS:
        raise ChainruleError(f"explain: format {format!r} is not one of {', '.join(FORMATS)}")
    notation = LatexNotation() if format != "text" else Notation()
    graph = result if isinstance(result, Graph) else result.graph
    if len(graph.equations) > EXPLAIN_MAX_OPS:
        raise ChainruleError(
            f"the worked solution is for expressions of up to {EXPLAIN_MAX_OPS} operations, "
            f"this one has {len(graph.equations)} (its graph, values and gradients have no limit)"
        )
    if isinstance(result, Graph):
        return _LAYOUTS[format](result, [intermediate_variables(result, notation)])
    return _LAYOUTS[format](result.graph, sections(result, notation, symbolic=symbolic))
