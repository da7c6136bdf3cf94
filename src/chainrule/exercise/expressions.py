r"""A graph written back as one expression, in the sheet's style, plain and LaTeX.

Everything comes from the registry (:data:`chainrule.core.ops.OPS`): each operation
is written in its ``form`` (infix, prefix, call) with its ``format`` (plain) or
``latex`` template, and parentheses go where its ``precedence`` and ``grouping``
need them for the parser to read the same graph back. Nodes are visited in graph
order (arguments before their users), so nothing recurses.

>>> from chainrule import parse
>>> g = parse("(a - b*c)*d + sqrt(a + b + c^3)")
>>> plain(g)
'(a - b * c) * d + sqrt(a + b + c^3)'
>>> latex(g)
'(a - b \\cdot c) \\cdot d + \\sqrt{a + b + c^{3}}'

:func:`fingerprint` is the same for two graphs that differ only by the names of
their inputs or the order of a commutative operation's arguments:

>>> fingerprint(parse("x*y + sin(z)")) == fingerprint(parse("sin(a) + b*c"))
True
>>> fingerprint(parse("a - b")) == fingerprint(parse("b - a")), fingerprint(parse("a - a*b"))
(True, '(sub x2 (mul x1 x2))')
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence
from functools import cache

from chainrule.core.backends import ScalarMath
from chainrule.core.graph import Graph, Node
from chainrule.core.ops import CALL, POWER, Op
from chainrule.core.ops import OPS as OPS  # for the examples
from chainrule.core.parser import parse as parse  # for the examples
from chainrule.show import notation

ATOM = CALL
"""Binding strength of a name, a number or a function call: never parenthesised."""

_RENAMINGS_CHECKED = 720
"""Most orderings of equally placed inputs that :func:`fingerprint` compares."""


def strength(op: Op, style: str) -> int:
    """How tightly the operation's text binds: the registry's precedence (SUM ... CALL)."""
    if style == "latex" and not any(_exposed(op, i) for i in range(op.arity)):
        return ATOM  # \frac{..}{..}, \sqrt{..}: the template encloses every argument
    return op.precedence


def _exposed(op: Op, position: int) -> bool:
    """Whether the LaTeX template leaves argument ``position`` bare (needing parentheses)."""
    slot = "{" + str(position) + "}"
    enclosed = ("{{" + slot + "}}", r"\left(" + slot + r"\right)", r"\left|" + slot + r"\right|")
    return not any(form in op.latex for form in enclosed)


def _needs_parentheses(parent: Op, position: int, child: Node, child_strength: int,
                       style: str) -> bool:
    r"""Whether an argument's text needs parentheses for the parser to read the same graph.

    Stricter than the parser in two places, for the reader: a prefix operation is
    parenthesised as an operand, ``a - (-b)``, ``(-a) * b``; and the left operand of a
    right-grouping operation (the base of a power) is a name, ``(a + b)^2``,
    ``(\sqrt{a})^{2}`` (a call keeps its own parentheses in plain text: ``sqrt(a)^2``).
    """
    if child.op is None or (style == "latex" and not _exposed(parent, position)):
        return False
    if parent.form == "call":
        return False  # the call's own parentheses enclose it
    if parent.form == "prefix" or child.op.form == "prefix":
        return child_strength < ATOM or child.op.form == "prefix"
    if parent.grouping == "right" and position == 0:
        return style == "latex" or child_strength < ATOM
    own = strength(parent, style)
    # Whatever the grouping, an equally strong right operand keeps its parentheses:
    # a + (b + c) is another graph than a + b + c, which the parser reads as (a + b) + c.
    return child_strength < own or (position > 0 and child_strength == own)


def _apply(op: Op, args: Sequence[str], style: str) -> str:
    if style == "latex":
        return op.latex.format(*args)
    if op.form == "infix" and op.precedence == POWER:
        return f"{args[0]}{op.symbol}{args[1]}"  # tight, as the sheet's c^3
    return op.format(list(args))


def _leaf_text(node: Node, style: str) -> str:
    if node.constant is None:
        return node.name
    if style == "latex" and node.name == "pi":
        return r"\pi"
    return node.name if node.name in ("pi", "e") else notation.plain(node.constant)


def written(graph: Graph, style: str) -> str:
    """The whole expression as text in ``style`` (``plain`` or ``latex``)."""
    texts: list[str] = []
    strengths: list[int] = []
    for node in graph.nodes:
        if node.op is None:
            texts.append(_leaf_text(node, style))
            strengths.append(ATOM)
            continue
        args = []
        for position, arg in enumerate(node.args):
            text = texts[arg]
            child = graph.nodes[arg]
            if _needs_parentheses(node.op, position, child, strengths[arg], style):
                text = f"({text})"
            args.append(text)
        texts.append(_apply(node.op, args, style))
        strengths.append(strength(node.op, style))
    return texts[graph.output]


def plain(graph: Graph) -> str:
    """The expression in the plain syntax that :func:`chainrule.parse` reads."""
    return written(graph, "plain")


def latex(graph: Graph) -> str:
    """The expression in LaTeX, with the registry's templates (``\\sqrt{..}``, ``\\frac``)."""
    return written(graph, "latex")


# ---------------------------------------------------------------- sameness


@cache
def commutes(op: Op) -> bool:
    """Whether a binary operation gives the same value with its arguments swapped.

    Read from the operation itself, at two points, so a new registry entry needs no flag.

    >>> [name for name, op in OPS.items() if op.arity == 2 and commutes(op)]
    ['add', 'mul', 'max', 'min']
    """
    if op.arity != 2:
        return False
    points = ((0.3, 1.7), (1.3, 2.9))
    return all(
        math.isclose(op.forward(ScalarMath, x, y), op.forward(ScalarMath, y, x), rel_tol=0,
                     abs_tol=0)
        for x, y in points
    )


def node_shapes(graph: Graph) -> list[str]:
    """Each node as a canonical S-expression with its inputs' names, commutative arguments
    sorted: two nodes compute the same thing the same way when their shapes are equal.

    >>> node_shapes(parse("b*a + a*b"))[-1]
    '(add (mul a b) (mul a b))'
    """
    return _shapes(graph, lambda index: graph.nodes[index].name)


def _shapes(graph: Graph, name_of: Callable[[int], str]) -> list[str]:
    """A canonical S-expression per node; commutative arguments sorted."""
    shapes: list[str] = []
    for index, node in enumerate(graph.nodes):
        if node.op is None:
            shapes.append(name_of(index) if node.constant is None else node.name)
            continue
        args = [shapes[arg] for arg in node.args]
        if commutes(node.op):
            args.sort()
        shapes.append(f"({node.op.name} {' '.join(args)})")
    return shapes


def _input_signatures(graph: Graph) -> dict[int, str]:
    """What an input's place looks like with every input's name hidden."""
    anonymous = _shapes(graph, lambda index: "x")
    places: dict[int, list[str]] = {i: [] for i, n in enumerate(graph.nodes) if n.kind == "input"}
    for index, node in enumerate(graph.nodes):
        if node.op is None:
            continue
        for position, arg in enumerate(node.args):
            if arg in places:
                where = "*" if commutes(node.op) else str(position)
                places[arg].append(f"{anonymous[index]}@{where}")
    return {index: "|".join(sorted(found)) for index, found in places.items()}


def fingerprint(graph: Graph) -> str:
    """The graph's shape up to renaming inputs and commuting arguments.

    Inputs are ordered by where they stand (their places with names hidden); inputs
    that stand alike are tried in every order (up to 720) and the smallest text wins.
    """
    signatures = _input_signatures(graph)
    order = sorted(signatures, key=lambda index: signatures[index])
    groups = [list(group) for _, group in itertools.groupby(order, key=signatures.__getitem__)]
    best: str | None = None
    for tried, arrangement in enumerate(itertools.product(*map(itertools.permutations, groups))):
        if tried >= _RENAMINGS_CHECKED:
            break
        ranked = [index for group in arrangement for index in group]
        label = {index: f"x{rank}" for rank, index in enumerate(ranked, 1)}
        text = _shapes(graph, label.__getitem__)[graph.output]
        best = text if best is None or text < best else best
    assert best is not None, "product() of no groups yields one empty arrangement"
    return best
