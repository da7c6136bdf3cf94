"""Pictures of graphs: DOT text, both renderers, the layout's guarantees, the CLI."""

from __future__ import annotations

import itertools
import math
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ElementTree
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chainrule import OPS, ChainruleError, Graph, GraphBuilder, parse
from chainrule.cli import main
from chainrule.show.dot import run_dot, to_dot
from chainrule.show.drawing import _advance, scene
from chainrule.show.layout import Box, closest_ordered, layered_layout, total_span
from chainrule.show.picture import picture
from chainrule.show.render import DOT_SPAN_LIMIT, render, to_pdf, to_png, to_svg, using

SHEET = {
    "A": r"(a - (b \cdot c)) \cdot d",
    "B": r"\sqrt{a + b + c^3} + \log\left(\frac{a}{d}\right)",
    "C": r"d - \exp^{(a+b) \cdot c}",
}
POINT = {"a": 2, "b": -7, "c": 4, "d": 1}
HAS_DOT = shutil.which("dot") is not None
ENGINES = ["builtin", pytest.param("dot", marks=pytest.mark.skipif(not HAS_DOT, reason="no dot"))]
SVG = "{http://www.w3.org/2000/svg}"
MAGIC = {"png": b"\x89PNG\r\n\x1a\n", "pdf": b"%PDF-"}

HEADER = """\
digraph chainrule {
  graph [rankdir=LR, newrank=true, ranksep=0.35, nodesep=0.25, fontname="Helvetica", \
fontsize=14, labelloc=t, label=<%s>];
  node [fontname="Helvetica", fontsize=12, style=filled, penwidth=1.2];
  edge [fontname="Helvetica", fontsize=10, color="#4b5563", fontcolor="#6b21a8", arrowsize=0.7];
"""
INPUT = 'shape=ellipse, fillcolor="#dbeafe", color="#1d4ed8"'
OP = 'shape=box, style="rounded,filled", fillcolor="#fefce8", color="#854d0e"'
OUTPUT = 'shape=box, style="rounded,filled", fillcolor="#dcfce7", color="#15803d", penwidth=2.4'

A_STRUCTURE = (
    HEADER % "v3 = (a − b · c) · d"
    + f"""\
  n0 [label=<<b>a</b>>, {INPUT}];
  n1 [label=<<b>b</b>>, {INPUT}];
  n2 [label=<<b>c</b>>, {INPUT}];
  n3 [label=<<b>v1 = b · c</b>>, {OP}];
  n4 [label=<<b>v2 = a − v1</b>>, {OP}];
  n5 [label=<<b>d</b>>, {INPUT}];
  n6 [label=<<b>v3 = v2 · d</b>>, {OUTPUT}];
  {{ rank=min; n0; n1; n2; n5; }}
  n1 -> n3;
  n2 -> n3;
  n0 -> n4;
  n3 -> n4;
  n4 -> n6;
  n5 -> n6;
}}
"""
)


def _lines(value: str, grad: str) -> str:
    return (
        f'<br/><font point-size="10" color="#1e3a8a">value = {value}</font>'
        f'<br/><font point-size="10" color="#b91c1c">{grad}</font>'
    )


A_VALUES = (
    HEADER
    % ('v3 = (a − b · c) · d<br/><font point-size="11">at a = 2, b = −7, c = 4, d = 1</font>')
    + f"""\
  n0 [label=<<b>a</b>{_lines("2", "∂v3/∂a = 1")}>, {INPUT}];
  n1 [label=<<b>b</b>{_lines("−7", "∂v3/∂b = −4")}>, {INPUT}];
  n2 [label=<<b>c</b>{_lines("4", "∂v3/∂c = 7")}>, {INPUT}];
  n3 [label=<<b>v1 = b · c</b>{_lines("−28", "∂v3/∂v1 = −1")}>, {OP}];
  n4 [label=<<b>v2 = a − v1</b>{_lines("30", "∂v3/∂v2 = 1")}>, {OP}];
  n5 [label=<<b>d</b>{_lines("1", "∂v3/∂d = 30")}>, {INPUT}];
  n6 [label=<<b>v3 = v2 · d</b>{_lines("30", "∂v3/∂v3 = 1")}>, {OUTPUT}];
  {{ rank=min; n0; n1; n2; n5; }}
  n1 -> n3 [label=<∂v1/∂b = 4>];
  n2 -> n3 [label=<∂v1/∂c = −7>];
  n0 -> n4 [label=<∂v2/∂a = 1>];
  n3 -> n4 [label=<∂v2/∂v1 = −1>];
  n4 -> n6 [label=<∂v3/∂v2 = 1>];
  n5 -> n6 [label=<∂v3/∂d = 30>];
}}
"""
)


def sheet(name: str) -> tuple[Graph, object]:
    graph = parse(SHEET[name])
    return graph, graph.evaluate(POINT)


# ---------------------------------------------------------------- DOT text


def test_dot_of_sheet_expression_a_structure_only() -> None:
    assert to_dot(parse(SHEET["A"])) == A_STRUCTURE


def test_dot_of_sheet_expression_a_with_values_and_gradients() -> None:
    graph, result = sheet("A")
    assert to_dot(graph, result) == A_VALUES  # type: ignore[arg-type]


def _edge_lines(name: str) -> list[str]:
    graph, result = sheet(name)
    return [line for line in to_dot(graph, result).splitlines() if "->" in line]  # type: ignore[arg-type]


def test_dot_edges_of_sheet_expression_b() -> None:
    assert _edge_lines("B") == [
        "  n0 -> n2 [label=<∂v1/∂a = 1>];",
        "  n1 -> n2 [label=<∂v1/∂b = 1>];",
        "  n3 -> n5 [label=<∂v2/∂c = 48>];",
        "  n4 -> n5 [weight=8];",  # the constant 3: no derivative, kept close
        "  n2 -> n6 [label=<∂v3/∂v1 = 1>];",
        "  n5 -> n6 [label=<∂v3/∂v2 = 1>];",
        "  n6 -> n7 [label=<∂v4/∂v3 = 0.0650945>];",
        "  n0 -> n9 [label=<∂v5/∂a = 1>];",
        "  n8 -> n9 [label=<∂v5/∂d = −2>];",
        "  n9 -> n10 [label=<∂v6/∂v5 = 0.5>];",
        "  n7 -> n11 [label=<∂v7/∂v4 = 1>];",
        "  n10 -> n11 [label=<∂v7/∂v6 = 1>];",
    ]


def test_dot_edges_of_sheet_expression_c() -> None:
    assert _edge_lines("C") == [
        "  n1 -> n3 [label=<∂v1/∂a = 1>];",
        "  n2 -> n3 [label=<∂v1/∂b = 1>];",
        "  n3 -> n5 [label=<∂v2/∂v1 = 4>];",
        "  n4 -> n5 [label=<∂v2/∂c = −5>];",
        "  n5 -> n6 [label=<∂v3/∂v2 = 2.06115e−09>];",
        "  n0 -> n7 [label=<∂v4/∂d = 1>];",
        "  n6 -> n7 [label=<∂v4/∂v3 = −1>];",
    ]


def test_an_argument_used_twice_is_one_edge_with_both_partials_summed() -> None:
    graph = parse("x*x - x")
    drawing = picture(graph, graph.evaluate(x=3))
    labels = {(e.source, e.target): e.label for e in drawing.edges}
    assert labels == {(0, 1): "∂v1/∂x = 3 + 3 = 6", (1, 2): "∂v2/∂v1 = 1", (0, 2): "∂v2/∂x = −1"}
    same = parse("x - x")
    assert picture(same, same.evaluate(x=1)).edges[0].label == "∂v1/∂x = 1 + (−1) = 0"


def test_titles_are_the_formula_and_the_point() -> None:
    graph = parse(r"4(xyz + \max(z, w))", names="letters")
    drawing = picture(graph, graph.evaluate(x=1, y=2, z=3, w=4))
    assert drawing.title == "e = 4 · (x · y · z + max(z, w))"
    assert drawing.subtitle == "at x = 1, y = 2, z = 3, w = 4"
    assert picture(parse("-(a-b)^2/(c-d)")).title == "v5 = −(a − b)^2 / (c − d)"


def test_labels_are_escaped_for_dot_and_svg() -> None:
    builder = GraphBuilder()
    odd = builder.input('a<b&"c>')
    graph = builder.build(builder.apply("mul", odd, builder.constant(2.0)))
    dot = to_dot(graph, graph.evaluate({'a<b&"c>': 1.5}))
    assert "<b>a&lt;b&amp;&quot;c&gt;</b>" in dot and "∂v1/∂a&lt;b&amp;&quot;c&gt; = 2" in dot
    svg = render(graph, graph.evaluate({'a<b&"c>': 1.5}), "svg", engine="builtin")
    assert isinstance(svg, str)
    ElementTree.fromstring(svg.encode())  # well-formed despite the name


def test_picture_of_many_points_is_refused() -> None:
    graph = parse("a*b")
    result = graph.evaluate(a=np.array([1.0, 2.0]), b=3.0)
    with pytest.raises(ChainruleError, match="one point"):
        to_dot(graph, result)


# ---------------------------------------------------------------- SVG, PNG, PDF


def _node_groups(svg: str) -> list[ElementTree.Element]:
    root = ElementTree.fromstring(svg.encode("utf-8"))
    return [g for g in root.iter(f"{SVG}g") if g.get("class") == "node"]


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("name", sorted(SHEET))
def test_svg_is_well_formed_with_one_group_per_node(engine: str, name: str) -> None:
    graph, result = sheet(name)
    for values in (result, None):
        svg = render(graph, values, "svg", engine=engine)  # type: ignore[arg-type]
        assert isinstance(svg, str)
        assert len(_node_groups(svg)) == len(graph.nodes)
        assert "∂v" in svg if values is not None else "∂v" not in svg


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("fmt", ["png", "pdf"])
def test_binary_pictures_start_with_their_magic_bytes(engine: str, fmt: str) -> None:
    graph, result = sheet("A")
    data = render(graph, result, fmt, engine=engine)  # type: ignore[arg-type]
    assert isinstance(data, bytes) and data.startswith(MAGIC[fmt]) and len(data) > 5000


def test_builtin_png_has_the_layout_size_at_150_dpi() -> None:
    from PIL import Image

    graph, result = sheet("B")
    with using("builtin"):
        data = to_png(graph, result)  # type: ignore[arg-type]
        laid_out = scene(picture(graph, result))  # type: ignore[arg-type]
        assert to_pdf(graph).startswith(b"%PDF-")
        assert to_svg(graph).startswith("<?xml")
    import io

    width, height = Image.open(io.BytesIO(data)).size
    assert abs(width - laid_out.width / 72 * 150) <= 2
    assert abs(height - laid_out.height / 72 * 150) <= 2


def test_builtin_renderer_without_matplotlib_says_how_to_install_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _advance.cache_clear()
    for module in ("matplotlib", "matplotlib.font_manager", "matplotlib.textpath"):
        monkeypatch.setitem(sys.modules, module, None)  # None makes the import fail
    try:
        with pytest.raises(ChainruleError, match="pip install matplotlib"):
            render(parse("a*b"), fmt="svg", engine="builtin")
    finally:
        _advance.cache_clear()


@pytest.mark.skipif(not HAS_DOT, reason="no dot")
def test_dot_failures_are_one_line_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ChainruleError, match="dot failed"):
        run_dot("digraph {", "svg")
    monkeypatch.setattr("chainrule.show.dot.DOT_TIMEOUT_S", 1e-6)
    with pytest.raises(ChainruleError, match="longer than"):
        run_dot(to_dot(parse("a*b")), "svg")


def _chain(length: int) -> Graph:
    """x·x·…·x: every product reuses x, so edges cross many layers."""
    builder = GraphBuilder()
    x = product = builder.input("x")
    for _ in range(length):
        product = builder.apply("mul", product, x)
    return builder.build(product)


@pytest.mark.slow
def test_a_200_node_graph_draws_quickly_with_the_builtin_renderer() -> None:
    graph = _chain(200)
    result = graph.evaluate(x=1.0)
    drawing = picture(graph, result)
    edges = [(e.source, e.target) for e in drawing.edges]
    # dot would take minutes here, so auto does not pick it
    assert total_span(len(graph.nodes), edges, [0]) > DOT_SPAN_LIMIT
    svg = render(graph, result, "svg")
    assert isinstance(svg, str) and len(_node_groups(svg)) == 201


# ---------------------------------------------------------------- the layout


@st.composite
def random_graphs(draw: st.DrawFn) -> Graph:
    """Small graphs from the operation registry, with shared inputs and constants."""
    builder = GraphBuilder()
    names = draw(st.lists(st.sampled_from("abcd"), min_size=1, max_size=4, unique=True))
    ids = [builder.input(name) for name in names]
    if draw(st.booleans()):
        ids.append(builder.constant(draw(st.sampled_from([2.0, 0.5, math.pi]))))
    for _ in range(draw(st.integers(1, 10))):
        op = OPS[draw(st.sampled_from(sorted(OPS)))]
        args = [ids[draw(st.integers(0, len(ids) - 1))] for _ in range(op.arity)]
        ids.append(builder.apply(op, *args))
    return builder.build(ids[-1])


def _inside(box: Box, x: float, y: float) -> bool:
    return box.left < x < box.right and box.top < y < box.bottom


def _samples(points: tuple[tuple[float, float], ...]) -> list[tuple[float, float]]:
    """Points along the drawn route: straight runs and S-curves alternate."""
    samples = []
    for index in range(1, len(points)):
        (x0, y0), (x1, y1) = points[index - 1], points[index]
        for step in range(1, 20):
            t = step / 20
            smooth = t if index % 2 else 3 * t * t - 2 * t**3  # y of the S-curve
            shift = t if index % 2 else 1.5 * t - 1.5 * t * t + t**3
            samples.append((x0 + (x1 - x0) * shift, y0 + (y1 - y0) * smooth))
    return samples


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(graph=random_graphs(), evaluated=st.booleans())
def test_builtin_layout_never_overlaps_and_edges_avoid_boxes(graph: Graph, evaluated: bool) -> None:
    result = graph.evaluate(dict.fromkeys(graph.inputs, 0.7), allow_nan=True) if evaluated else None
    layout = scene(picture(graph, result)).layout
    labels = [route.label for route in layout.routes if route.label is not None]
    boxes = [*layout.boxes, *labels]
    for i, first in enumerate(boxes):
        for second in boxes[i + 1 :]:
            assert not first.overlaps(second), (first, second)
    for node, layer in zip(graph.nodes, layout.layers, strict=True):
        assert (layer == 0) == (node.kind == "input") or node.kind == "constant"
    assert layout.layers[graph.output] == max(layout.layers)
    for route in layout.routes:
        source, target = layout.boxes[route.source], layout.boxes[route.target]
        assert route.points[0][0] == source.right and route.points[-1][0] == target.left
        xs = [x for x, _ in route.points]
        assert all(b >= a - 1e-9 for a, b in itertools.pairwise(xs))  # left to right
        others = [b for b in boxes if b not in (source, target, route.label)]
        for x, y in _samples(route.points):
            assert not any(_inside(box, x, y) for box in others), (route, x, y)


@given(
    wanted=st.lists(st.floats(-100, 100), min_size=1, max_size=12),
    gap=st.floats(0, 20),
)
def test_closest_ordered_keeps_the_gaps_and_moves_nothing_it_need_not(
    wanted: list[float], gap: float
) -> None:
    placed = closest_ordered(wanted, [gap] * (len(wanted) - 1))
    assert all(b - a >= gap - 1e-9 for a, b in itertools.pairwise(placed))
    if all(b - a >= gap for a, b in itertools.pairwise(wanted)):
        assert placed == pytest.approx(wanted)
    assert sum(placed) == pytest.approx(sum(wanted))  # pooling keeps the mean


def test_layout_rejects_a_cycle() -> None:
    with pytest.raises(ValueError, match="cycle"):
        layered_layout([(10, 10), (10, 10)], [(0, 1), (1, 0)])


def test_an_expression_without_shared_parts_draws_without_crossings() -> None:
    graph = parse("(a + b) * (c - d) + exp(e) * f - g / sqrt(h)")
    layout = scene(picture(graph, graph.evaluate(dict.fromkeys(graph.inputs, 1.0)))).layout
    assert layout.crossings == 0
    shared = parse(SHEET["B"])  # a feeds two branches; the order search still finds none
    assert scene(picture(shared)).layout.crossings == 0


# ---------------------------------------------------------------- the CLI


def _one_line_error(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1
    return err


@pytest.mark.parametrize("engine", ENGINES)
def test_cli_writes_an_svg_file(engine: str, tmp_path: Path) -> None:
    path = tmp_path / "a.svg"
    argv = ["graph", SHEET["A"], "--at", "a=2,b=-7,c=4,d=1", "--format", "svg", "-o", str(path)]
    assert main([*argv, "--renderer", engine]) == 0
    assert len(_node_groups(path.read_text(encoding="utf-8"))) == 7


def test_cli_writes_png_and_pdf_and_prints_dot(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for fmt in ("png", "pdf"):
        path = tmp_path / f"b.{fmt}"
        assert main(["graph", SHEET["B"], "--format", fmt, "-o", str(path)]) == 0
        assert path.read_bytes().startswith(MAGIC[fmt])
    assert main(["graph", SHEET["C"], "--at", "a=2,b=-7,c=4,d=1", "--format", "dot"]) == 0
    assert "n5 -> n6 [label=<∂v3/∂v2 = 2.06115e−09>];" in capsys.readouterr().out


def test_cli_binary_format_needs_an_output_file(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["graph", "a*b", "--format", "png", "--renderer", "builtin"]) == 2
    assert "add -o FILE" in _one_line_error(capsys)


def test_cli_without_dot_installed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # no dot on it
    out = tmp_path / "x.svg"
    assert main(["graph", "a*b", "--format", "svg", "--renderer", "dot", "-o", str(out)]) == 2
    assert "apt-get install graphviz" in _one_line_error(capsys)
    assert not out.exists()
    # auto falls back to the built-in renderer; DOT text needs nothing at all
    assert main(["graph", "a*b", "--format", "svg", "-o", str(out)]) == 0
    assert len(_node_groups(out.read_text(encoding="utf-8"))) == 3
    assert main(["graph", "a*b", "--format", "dot"]) == 0
    assert capsys.readouterr().out.startswith("digraph chainrule {")


def test_unknown_renderer_is_refused() -> None:
    with pytest.raises(ChainruleError, match="unknown renderer"), using("gnuplot"):  # type: ignore[arg-type]
        pass


def test_the_graph_command_does_not_load_the_builtin_renderer_until_it_draws() -> None:
    # The built-in renderer's XML escaping pulls in urllib and http.client: text and
    # JSON output must not pay for them at start-up.
    code = (
        "import sys; import chainrule.cli, chainrule.commands.graph; "
        "print(sorted(m for m in ('chainrule.show.drawing', 'xml.sax.saxutils', 'http.client')"
        " if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60, check=True)
    assert done.stdout.strip() == "[]"
