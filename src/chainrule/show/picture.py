r"""What a picture of a computational graph shows, whichever renderer draws it.

A :class:`Picture` has a node per graph node (its name, its operation, its forward
value and its gradient d output / d node) and an edge per (argument, operation)
pair, labelled with the local derivative ``∂v2/∂v1 = −1``. Without a
:class:`~chainrule.core.evaluate.Result` it shows the structure only. It reads
left to right like the exercise sheet's figure: inputs in the first column, the
output last. Inputs are light-blue ellipses, constants small grey boxes,
operations rounded boxes, and the output is green with a thick border; the
colours and sizes here are shared by :mod:`chainrule.show.dot` and the built-in
renderer :mod:`chainrule.show.drawing`.

An argument used twice (``x * x``) gets one edge whose label sums both local
derivatives, ``∂v1/∂x = 3 + 3 = 6``: the edge is the dependency, and the chain
rule adds up every way the argument reaches the node. Edges from constants carry
no derivative, since nothing is differentiated with respect to a constant.

Numbers in pictures have up to 6 significant digits (the tables of
:mod:`chainrule.show.tables` give full precision).

>>> from chainrule import parse
>>> g = parse("(a - b*c)*d")
>>> p = picture(g, g.evaluate(a=2, b=-7, c=4, d=1))
>>> p.title, p.subtitle
('v3 = (a − b · c) · d', 'at a = 2, b = −7, c = 4, d = 1')
>>> [line.bold + line.plain for line in p.nodes[3].lines]
['v1 = b · c', 'value = −28', '∂v3/∂v1 = −1']
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Literal

from chainrule.core.evaluate import Result, point_partials, point_value
from chainrule.core.graph import Graph, Node, NodeKind
from chainrule.core.ops import CALL
from chainrule.errors import ChainruleError
from chainrule.show.notation import plain, pretty, pretty_infix, pretty_prefix

PNG_DPI = 150  # pixels per inch of PNG pictures, from either renderer

LineRole = Literal["title", "value", "grad"]


@dataclass(frozen=True)
class TextLine:
    """One line of a node's label: a bold lead (the node's name), then plain text."""

    bold: str
    plain: str
    role: LineRole


@dataclass(frozen=True)
class PictureNode:
    """What one graph node shows."""

    kind: NodeKind
    output: bool
    lines: tuple[TextLine, ...]


@dataclass(frozen=True)
class PictureEdge:
    """An argument feeding an operation; ``label`` is empty without values."""

    source: int
    target: int
    label: str


@dataclass(frozen=True)
class Picture:
    """Everything a renderer draws, independent of the renderer."""

    title: str  # the formula, ``v3 = (a − b · c) · d``
    subtitle: str  # the point, ``at a = 2, b = −7, c = 4, d = 1``, or ""
    nodes: tuple[PictureNode, ...]
    edges: tuple[PictureEdge, ...]


@dataclass(frozen=True)
class Style:
    """How a kind of node looks, shared by the DOT and the built-in renderer."""

    shape: Literal["ellipse", "box", "rounded"]
    fill: str
    stroke: str
    stroke_width: float
    font_size: float


STYLES: dict[str, Style] = {
    "input": Style("ellipse", "#dbeafe", "#1d4ed8", 1.2, 12),
    "constant": Style("box", "#f3f4f6", "#6b7280", 1.0, 10),
    "op": Style("rounded", "#fefce8", "#854d0e", 1.2, 12),
}
OUTPUT_FILL, OUTPUT_STROKE, OUTPUT_STROKE_WIDTH = "#dcfce7", "#15803d", 2.4
ROLE_COLORS: dict[LineRole, str] = {"title": "#111827", "value": "#1e3a8a", "grad": "#b91c1c"}
DETAIL_FONT_SIZE = 10  # the value and gradient lines, and edge labels
TITLE_FONT_SIZE = 14
EDGE_COLOR, EDGE_LABEL_COLOR = "#4b5563", "#6b21a8"


def style_of(node: PictureNode) -> Style:
    """The node's style, with the output's colours where it is the output."""
    style = STYLES[node.kind]
    if not node.output:
        return style
    return Style(style.shape, OUTPUT_FILL, OUTPUT_STROKE, OUTPUT_STROKE_WIDTH, style.font_size)


def _expression(graph: Graph, node: Node) -> str:
    """The right-hand side as printed: ``a − v1``, ``b · c``, ``sqrt(v2)``."""
    assert node.op is not None
    names = [graph.nodes[arg].name for arg in node.args]
    if node.op.form == "infix":
        return pretty_infix(node.op.symbol, names[0], names[1])
    if node.op.form == "prefix":
        return pretty_prefix(node.op.symbol, names[0])
    return node.op.format(names)


def _scalar(value: Any, what: str) -> float:
    return point_value(value, what, "a picture")


def _node_lines(graph: Graph, index: int, result: Result | None) -> tuple[TextLine, ...]:
    node = graph.nodes[index]
    if node.kind == "constant":
        assert node.constant is not None
        named = node.name != plain(node.constant)  # pi, not 4
        value_shown = f" = {pretty(node.constant)}" if named else ""
        return (TextLine(node.name, value_shown, "title"),)
    first = TextLine(node.name, f" = {_expression(graph, node)}" if node.op else "", "title")
    if result is None:
        return (first,)
    grads = result.node_grads()
    output = graph.nodes[graph.output].name
    value = pretty(_scalar(result.values[index], node.name))
    grad = pretty(_scalar(grads[index], f"∂{output}/∂{node.name}"))
    return (
        first,
        TextLine("", f"value = {value}", "value"),
        TextLine("", f"∂{output}/∂{node.name} = {grad}", "grad"),
    )


def _edge_label(graph: Graph, source: int, target: int, partials: list[float]) -> str:
    node = graph.nodes[target]
    mine = [p for arg, p in zip(node.args, partials, strict=True) if arg == source]
    head = f"∂{node.name}/∂{graph.nodes[source].name} = "
    if len(mine) == 1:
        return head + pretty(mine[0])
    terms = [pretty(p) for p in mine]
    shown = " + ".join(t if not t.startswith("−") else f"({t})" for t in terms)
    return f"{head}{shown} = {pretty(sum(mine))}"


def _edges(graph: Graph, result: Result | None) -> Iterator[PictureEdge]:
    for index, node in enumerate(graph.nodes):
        if node.op is None:
            continue
        partials = point_partials(result, index, "a picture") if result is not None else []
        for source in dict.fromkeys(node.args):  # x * x: one edge, both partials summed
            label = ""
            if result is not None and graph.nodes[source].kind != "constant":
                label = _edge_label(graph, source, index, partials)
            yield PictureEdge(source, index, label)


_TITLE_LIMIT = 100  # characters; longer formulas are cut with an ellipsis


def _operand(text: str, strength: int, minimum: int) -> str:
    return text if strength >= minimum else f"({text})"


def _formula(graph: Graph) -> str | None:
    """The output as one formula, ``(a − b · c) · d``; None when it would be too long.

    Built in graph order, so deep graphs need no recursion; shared nodes are
    written out at every use, and the length cap keeps that from exploding.
    """
    texts: list[str | None] = []
    strengths: list[int] = []
    for node in graph.nodes:
        strength = node.op.precedence if node.op else CALL  # leaves never need parentheses
        args = [(texts[a], strengths[a]) for a in node.args]
        text: str | None = node.name
        if node.op is None:
            pass
        elif any(arg_text is None for arg_text, _ in args):
            text = None
        elif node.op.form == "prefix":
            text = pretty_prefix(node.op.symbol, _operand(str(args[0][0]), args[0][1], strength))
        elif node.op.form == "infix":
            (left, left_strength), (right, right_strength) = args
            # a − (b − c) and a / (b · c) need parentheses; (a^b)^c does too.
            right_needs = strength + (node.op.grouping == "left")
            left_needs = strength + (node.op.grouping == "right")
            text = pretty_infix(
                node.op.symbol,
                _operand(str(left), left_strength, left_needs),
                _operand(str(right), right_strength, right_needs),
            )
        else:
            text = node.op.format([str(arg_text) for arg_text, _ in args])
        texts.append(text if text is None or len(text) <= _TITLE_LIMIT else None)
        strengths.append(strength)
    return texts[graph.output]


def _title(graph: Graph) -> str:
    """``v3 = (a − b · c) · d``, or the source text (cut) when the formula is too long."""
    output = graph.nodes[graph.output]
    formula = _formula(graph)
    if formula is not None:
        return formula if output.op is None else f"{output.name} = {formula}"
    text = " ".join((graph.source if graph.source is not None else str(graph)).split())
    return text if len(text) <= _TITLE_LIMIT else text[: _TITLE_LIMIT - 1] + "…"


def _subtitle(graph: Graph, result: Result | None) -> str:
    """``at a = 2, b = −7`` (cut when long), or nothing without values."""
    if result is None or not graph.inputs:
        return ""
    pairs = [
        f"{name} = {pretty(_scalar(result.values[graph.index(name)], name))}"
        for name in graph.inputs
    ]
    text = "at " + ", ".join(pairs)
    return text if len(text) <= _TITLE_LIMIT else text[: _TITLE_LIMIT - 1] + "…"


def picture(graph: Graph, result: Result | None = None) -> Picture:
    """What to draw for ``graph``, with values and gradients from ``result`` if given.

    >>> from chainrule import parse
    >>> g = parse("x*x")
    >>> p = picture(g, g.evaluate(x=3))
    >>> [line.bold + line.plain for line in p.nodes[1].lines]
    ['v1 = x · x', 'value = 9', '∂v1/∂v1 = 1']
    >>> p.edges
    (PictureEdge(source=0, target=1, label='∂v1/∂x = 3 + 3 = 6'),)
    """
    if result is not None and result.graph is not graph:
        raise ChainruleError("the result belongs to another graph")
    nodes = tuple(
        PictureNode(node.kind, index == graph.output, _node_lines(graph, index, result))
        for index, node in enumerate(graph.nodes)
    )
    return Picture(_title(graph), _subtitle(graph, result), nodes, tuple(_edges(graph, result)))

