"""The built-in renderer: pictures of a graph without Graphviz.

One :class:`Scene` (a :class:`~chainrule.show.picture.Picture` measured and laid out by
:mod:`chainrule.show.layout`) is written out twice: as SVG text directly, and as PNG
or PDF by matplotlib drawing the same shapes at the same coordinates. Text is
measured with matplotlib's own DejaVu Sans, so the boxes fit their labels in both.
Units are points (1/72 inch).

>>> from chainrule import parse
>>> from chainrule.show.picture import picture
>>> g = parse("(a - b*c)*d")
>>> svg = draw(picture(g, g.evaluate(a=2, b=-7, c=4, d=1)), "svg")
>>> assert isinstance(svg, str)
>>> svg.count('class="node"'), svg.count('class="edge"')
(7, 6)
"""

from __future__ import annotations

import functools
import io
import math
from dataclasses import dataclass
from typing import Any
from xml.sax.saxutils import escape, quoteattr

from chainrule.errors import ChainruleError
from chainrule.show.layout import Box, Layout, Point, Route, layered_layout
from chainrule.show.picture import (
    DETAIL_FONT_SIZE,
    EDGE_COLOR,
    EDGE_LABEL_COLOR,
    PNG_DPI,
    ROLE_COLORS,
    TITLE_FONT_SIZE,
    Picture,
    PictureNode,
    TextLine,
    style_of,
)

FONT = "DejaVu Sans"  # ships with matplotlib, so it is always there to measure and draw
SVG_FONTS = "DejaVu Sans, Verdana, Helvetica, Arial, sans-serif"
LINE_SPACING = 1.3
ARROW_LENGTH, ARROW_HALF_WIDTH = 7.0, 3.0
MAX_PIXELS = 40e6  # a huge graph's PNG gets a lower resolution instead of exhausting memory


@dataclass(frozen=True)
class Scene:
    """A picture with every box placed: what both writers draw."""

    picture: Picture
    layout: Layout
    width: float
    height: float
    dx: float  # the layout's offset in the canvas (room for the title)
    dy: float


def _font_size(node: PictureNode, line: TextLine) -> float:
    return style_of(node).font_size if line.role == "title" else DETAIL_FONT_SIZE


def text_width(text: str, size: float, bold: bool = False) -> float:
    """Width in points of ``text`` set in DejaVu Sans at ``size`` points.

    The sum of the characters' advances (kerning ignored: it moves DejaVu Sans
    labels by well under a point), so long graphs measure fast.
    """
    return size * sum(_advance(character, bold) for character in text)


@functools.lru_cache(maxsize=4096)
def _advance(character: str, bold: bool) -> float:
    """Advance width of one character at 1 point."""
    try:
        from matplotlib.font_manager import FontProperties
        from matplotlib.textpath import text_to_path
    except ImportError:
        raise ChainruleError(
            "drawing without Graphviz needs matplotlib: pip install matplotlib "
            "(or install Graphviz: apt-get install graphviz)"
        ) from None
    font = FontProperties(family=FONT, size=100, weight="bold" if bold else "normal")
    # "x" on both sides keeps a space's advance (a lone space measures 0)
    width, _, _ = text_to_path.get_text_width_height_descent(f"x{character}x", font, ismath=False)
    x_width, _, _ = text_to_path.get_text_width_height_descent("xx", font, ismath=False)
    return float(width - x_width) / 100


def _line_width(node: PictureNode, line: TextLine) -> float:
    size = _font_size(node, line)
    return text_width(line.bold, size, True) + text_width(line.plain, size)


def _text_height(node: PictureNode) -> float:
    return sum(_font_size(node, line) * LINE_SPACING for line in node.lines)


def node_size(node: PictureNode) -> tuple[float, float]:
    """The box around the node's text; an ellipse is the box's circumscribed ellipse."""
    width = max(_line_width(node, line) for line in node.lines)
    height = _text_height(node)
    shape = style_of(node).shape
    if shape == "ellipse":
        return max(48.0, (width + 6) * math.sqrt(2)), max(28.0, (height + 2) * math.sqrt(2))
    if shape == "box":  # constants: small
        return max(20.0, width + 8), max(18.0, height + 4)
    return max(44.0, width + 16), max(28.0, height + 10)


def _title_lines(drawing: Picture) -> list[tuple[str, float]]:
    lines = [(drawing.title, float(TITLE_FONT_SIZE))]
    if drawing.subtitle:
        lines.append((drawing.subtitle, DETAIL_FONT_SIZE + 1.0))
    return lines


def _title_baselines(drawing: Picture) -> list[tuple[str, float, float]]:
    """(text, font size, y of the baseline) of each title line, from the top."""
    placed, line_top = [], 8.0
    for text, size in _title_lines(drawing):
        line_top += size * 1.45
        placed.append((text, size, line_top - 0.3 * size))
    return placed


def scene(drawing: Picture) -> Scene:
    """Measure and lay out ``drawing``."""
    sizes = [node_size(node) for node in drawing.nodes]
    labels = [
        (text_width(edge.label, DETAIL_FONT_SIZE) + 6, DETAIL_FONT_SIZE * LINE_SPACING + 1)
        if edge.label
        else None
        for edge in drawing.edges
    ]
    first = [i for i, node in enumerate(drawing.nodes) if node.kind == "input"]
    layout = layered_layout(
        sizes, [(e.source, e.target) for e in drawing.edges], labels, first=first
    )
    titles = _title_lines(drawing)
    title_width = max(text_width(text, size) for text, size in titles) + 24
    title_height = sum(size * 1.45 for _, size in titles) + 10
    width = max(layout.width, title_width)
    return Scene(
        drawing,
        layout,
        width,
        layout.height + title_height,
        (width - layout.width) / 2,
        title_height,
    )


def draw(drawing: Picture, fmt: str) -> str | bytes:
    """``drawing`` as SVG text, or PNG or PDF bytes."""
    laid_out = scene(drawing)
    if fmt == "svg":
        return to_svg(laid_out)
    if fmt in ("png", "pdf"):
        return with_matplotlib(laid_out, fmt)
    raise ChainruleError(f"the built-in renderer writes svg, png and pdf, not {fmt!r}")


# ---------------------------------------------------------------- geometry shared by both


def _shift(box: Box, scene_: Scene) -> Box:
    return Box(box.x + scene_.dx, box.y + scene_.dy, box.width, box.height)


def _on_ellipse(box: Box, y: float, side: float) -> float:
    """x where the horizontal line at ``y`` meets the ellipse in ``box`` (side -1/+1)."""
    ratio = min(1.0, abs(y - box.y) / (box.height / 2))
    return box.x + side * box.width / 2 * math.sqrt(1 - ratio * ratio)


def edge_path(route: Route, scene_: Scene) -> tuple[list[Point], Point]:
    """The route's points in the canvas, ending at the arrowhead's base; and its tip."""
    points = [(x + scene_.dx, y + scene_.dy) for x, y in route.points]
    nodes = scene_.layout.boxes
    source, target = (_shift(nodes[route.source], scene_), _shift(nodes[route.target], scene_))
    if style_of(scene_.picture.nodes[route.source]).shape == "ellipse":
        points[0] = (_on_ellipse(source, points[0][1], +1), points[0][1])
    tip_y = points[-1][1]
    tip_x = points[-1][0]
    if style_of(scene_.picture.nodes[route.target]).shape == "ellipse":
        tip_x = _on_ellipse(target, tip_y, -1)
    base = tip_x - ARROW_LENGTH
    points[-1] = (base, tip_y)
    points[-2] = (min(points[-2][0], base), tip_y)
    return points, (tip_x, tip_y)


def _curve_controls(start: Point, end: Point) -> tuple[Point, Point]:
    half = (end[0] - start[0]) / 2
    return (start[0] + half, start[1]), (end[0] - half, end[1])


def _arrowhead(tip: Point) -> list[Point]:
    x, y = tip
    return [
        (x, y),
        (x - ARROW_LENGTH, y - ARROW_HALF_WIDTH),
        (x - ARROW_LENGTH, y + ARROW_HALF_WIDTH),
    ]


def _baselines(node: PictureNode, box: Box) -> list[float]:
    """Baseline of each text line, the block centred in the box."""
    top = box.y - _text_height(node) / 2
    baselines = []
    for line in node.lines:
        size = _font_size(node, line)
        baselines.append(top + size * LINE_SPACING / 2 + 0.36 * size)  # caps centred
        top += size * LINE_SPACING
    return baselines


# ---------------------------------------------------------------- SVG


def _f(value: float) -> str:
    return f"{value:.2f}".rstrip("0").rstrip(".")


def _svg_shape(node: PictureNode, box: Box) -> str:
    style = style_of(node)
    paint = f'fill="{style.fill}" stroke="{style.stroke}" stroke-width="{_f(style.stroke_width)}"'
    if style.shape == "ellipse":
        return (
            f'<ellipse cx="{_f(box.x)}" cy="{_f(box.y)}" rx="{_f(box.width / 2)}" '
            f'ry="{_f(box.height / 2)}" {paint}/>'
        )
    radius = 7 if style.shape == "rounded" else 0
    return (
        f'<rect x="{_f(box.left)}" y="{_f(box.top)}" width="{_f(box.width)}" '
        f'height="{_f(box.height)}" rx="{radius}" {paint}/>'
    )


def _svg_node(index: int, node: PictureNode, box: Box) -> str:
    parts = [
        f'<g class="node" id="node{index}"><title>{escape(node.lines[0].bold)}</title>',
        _svg_shape(node, box),
    ]
    for line, baseline in zip(node.lines, _baselines(node, box), strict=True):
        bold = f'<tspan font-weight="bold">{escape(line.bold)}</tspan>' if line.bold else ""
        parts.append(
            f'<text x="{_f(box.x)}" y="{_f(baseline)}" text-anchor="middle" '
            f'font-size="{_f(_font_size(node, line))}" fill="{ROLE_COLORS[line.role]}" '
            f'xml:space="preserve">{bold}{escape(line.plain)}</text>'
        )
    return "".join(parts) + "</g>"


def _svg_path(points: list[Point]) -> str:
    commands = [f"M{_f(points[0][0])},{_f(points[0][1])}"]
    for index in range(1, len(points)):
        x, y = points[index]
        if index % 2:  # a straight run through a column
            commands.append(f"L{_f(x)},{_f(y)}")
        else:  # an S-curve across the gap between columns
            (ax, ay), (bx, by) = _curve_controls(points[index - 1], points[index])
            commands.append(f"C{_f(ax)},{_f(ay)} {_f(bx)},{_f(by)} {_f(x)},{_f(y)}")
    return " ".join(commands)


def _svg_edge(index: int, route: Route, scene_: Scene) -> str:
    drawing = scene_.picture
    edge = drawing.edges[index]
    source, target = drawing.nodes[edge.source], drawing.nodes[edge.target]
    names = f"{source.lines[0].bold} → {target.lines[0].bold}"
    points, tip = edge_path(route, scene_)
    arrow = " ".join(f"{_f(x)},{_f(y)}" for x, y in _arrowhead(tip))
    parts = [
        f'<g class="edge" id="edge{index}"><title>{escape(names)}</title>',
        f'<path d="{_svg_path(points)}" fill="none" stroke="{EDGE_COLOR}" stroke-width="1"/>',
        f'<polygon points="{arrow}" fill="{EDGE_COLOR}" stroke="{EDGE_COLOR}"/>',
    ]
    if route.label is not None:
        label = _shift(route.label, scene_)
        parts.append(
            f'<text x="{_f(label.x)}" y="{_f(label.bottom - 3)}" text-anchor="middle" '
            f'font-size="{DETAIL_FONT_SIZE}" fill="{EDGE_LABEL_COLOR}" '
            f'xml:space="preserve">{escape(edge.label)}</text>'
        )
    return "".join(parts) + "</g>"


def to_svg(scene_: Scene) -> str:
    """The scene as a standalone SVG document, one ``<g class="node">`` per node."""
    width, height = scene_.width, scene_.height
    lines = [
        '<?xml version="1.0" encoding="UTF-8" standalone="no"?>',
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{_f(width)}pt" height="{_f(height)}pt" '
        f'viewBox="0 0 {_f(width)} {_f(height)}" font-family={quoteattr(SVG_FONTS)}>',
        f"<title>{escape(scene_.picture.title)}</title>",
        f'<rect x="0" y="0" width="{_f(width)}" height="{_f(height)}" fill="white"/>',
        '<g class="title">',
    ]
    for text, size, baseline in _title_baselines(scene_.picture):
        lines.append(
            f'<text x="{_f(width / 2)}" y="{_f(baseline)}" '
            f'text-anchor="middle" font-size="{_f(size)}" fill="#111827" '
            f'xml:space="preserve">{escape(text)}</text>'
        )
    lines.append("</g>")
    lines += [_svg_edge(i, route, scene_) for i, route in enumerate(scene_.layout.routes)]
    lines += [
        _svg_node(i, node, _shift(box, scene_))
        for i, (node, box) in enumerate(zip(scene_.picture.nodes, scene_.layout.boxes, strict=True))
    ]
    lines.append("</svg>")
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------- matplotlib


def with_matplotlib(scene_: Scene, fmt: str) -> bytes:
    """The scene drawn by matplotlib as PNG (150 dpi, less for huge graphs) or PDF."""
    try:
        import matplotlib
        from matplotlib.figure import Figure
    except ImportError:
        raise ChainruleError(
            "PNG and PDF without Graphviz need matplotlib: pip install matplotlib "
            "(or install Graphviz: apt-get install graphviz)"
        ) from None
    width, height = scene_.width, scene_.height
    # the user's matplotlibrc must not change the picture (usetex, fonts)
    with matplotlib.rc_context(
        {
            "text.usetex": False,
            "pdf.fonttype": 42,
            "font.family": FONT,
            "svg.fonttype": "none",
        }
    ):
        figure = Figure(figsize=(width / 72, height / 72))
        axes = figure.add_axes((0.0, 0.0, 1.0, 1.0))
        axes.set_xlim(0, width)
        axes.set_ylim(height, 0)
        axes.set_axis_off()
        _mpl_titles(axes, scene_)
        _mpl_edges(axes, scene_)
        for node, box in zip(scene_.picture.nodes, scene_.layout.boxes, strict=True):
            _mpl_node(axes, node, _shift(box, scene_))
        buffer = io.BytesIO()
        pixels = (width / 72 * PNG_DPI) * (height / 72 * PNG_DPI)
        dpi = PNG_DPI * min(1.0, math.sqrt(MAX_PIXELS / pixels))
        metadata = {"Software": "chainrule"} if fmt == "png" else {"Creator": "chainrule"}
        figure.savefig(buffer, format=fmt, dpi=dpi, facecolor="white", metadata=metadata)
    return buffer.getvalue()


def _mpl_titles(axes: Any, scene_: Scene) -> None:
    for text, size, baseline in _title_baselines(scene_.picture):
        axes.text(
            scene_.width / 2,
            baseline,
            text,
            fontsize=size,
            ha="center",
            va="baseline",
            color="#111827",
        )


def _mpl_node(axes: Any, node: PictureNode, box: Box) -> None:
    from matplotlib.patches import Ellipse, FancyBboxPatch, Rectangle

    style = style_of(node)
    paint: dict[str, Any] = {
        "facecolor": style.fill,
        "edgecolor": style.stroke,
        "linewidth": style.stroke_width,
    }
    if style.shape == "ellipse":
        axes.add_patch(Ellipse((box.x, box.y), box.width, box.height, **paint))
    elif style.shape == "box":
        axes.add_patch(Rectangle((box.left, box.top), box.width, box.height, **paint))
    else:
        axes.add_patch(
            FancyBboxPatch(
                (box.left, box.top),
                box.width,
                box.height,
                boxstyle="round,pad=0,rounding_size=7",
                **paint,
            )
        )
    for line, baseline in zip(node.lines, _baselines(node, box), strict=True):
        size = _font_size(node, line)
        x = box.x - _line_width(node, line) / 2
        color = ROLE_COLORS[line.role]
        if line.bold:
            axes.text(
                x,
                baseline,
                line.bold,
                fontsize=size,
                fontweight="bold",
                color=color,
                ha="left",
                va="baseline",
            )
        axes.text(
            x + text_width(line.bold, size, True),
            baseline,
            line.plain,
            fontsize=size,
            color=color,
            ha="left",
            va="baseline",
        )


def _flattened(points: list[Point], pieces: int = 10) -> list[Point]:
    """The route as a polyline: each S-curve cut into ``pieces`` straight pieces.

    matplotlib computes exact extents of every Bézier it is given, which is slow
    on graphs with thousands of bends; at print resolution ten pieces look smooth.
    """
    flat = [points[0]]
    for index in range(1, len(points)):
        if index % 2:
            flat.append(points[index])
            continue
        start, end = points[index - 1], points[index]
        (ax, ay), (bx, by) = _curve_controls(start, end)
        for step in range(1, pieces + 1):
            t = step / pieces
            u = 1 - t
            flat.append(
                (
                    u**3 * start[0] + 3 * u * u * t * ax + 3 * u * t * t * bx + t**3 * end[0],
                    u**3 * start[1] + 3 * u * u * t * ay + 3 * u * t * t * by + t**3 * end[1],
                )
            )
    return flat


def _mpl_edges(axes: Any, scene_: Scene) -> None:
    from matplotlib.collections import LineCollection, PolyCollection

    lines, arrows = [], []
    for index, route in enumerate(scene_.layout.routes):
        points, tip = edge_path(route, scene_)
        lines.append(_flattened(points))
        arrows.append(_arrowhead(tip))
        if route.label is not None:
            label = _shift(route.label, scene_)
            axes.text(
                label.x,
                label.bottom - 3,
                scene_.picture.edges[index].label,
                fontsize=DETAIL_FONT_SIZE,
                color=EDGE_LABEL_COLOR,
                ha="center",
                va="baseline",
            )
    axes.add_collection(
        LineCollection(lines, colors=EDGE_COLOR, linewidths=1.0, capstyle="butt", joinstyle="round")
    )
    axes.add_collection(
        PolyCollection(arrows, facecolors=EDGE_COLOR, edgecolors=EDGE_COLOR, linewidths=0.5)
    )
