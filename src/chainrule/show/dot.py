r"""Pictures in Graphviz's DOT language, and drawn by Graphviz's ``dot`` program.

:func:`dot_text` writes a :class:`~chainrule.show.picture.Picture` as DOT (text,
deterministic, nothing else needed); :func:`run_dot` runs ``dot`` on it as a
subprocess with a timeout, for SVG, PNG or PDF. Which renderer draws a picture is
:mod:`chainrule.show.render`'s choice.

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

import html
import shutil
import subprocess

from chainrule.core.evaluate import Result
from chainrule.core.graph import Graph
from chainrule.errors import ChainruleError
from chainrule.show.picture import (
    DETAIL_FONT_SIZE,
    EDGE_COLOR,
    EDGE_LABEL_COLOR,
    PNG_DPI,
    ROLE_COLORS,
    STYLES,
    TITLE_FONT_SIZE,
    Picture,
    PictureNode,
    TextLine,
    picture,
    style_of,
)

DOT_TIMEOUT_S = 60.0


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



def dot_program() -> str | None:
    """The path of Graphviz's ``dot`` program, or None when it is not installed."""
    return shutil.which("dot")



def run_dot(dot: str, fmt: str) -> str | bytes:
    """Run Graphviz's ``dot`` on DOT text; SVG comes back as text, PNG and PDF as bytes."""
    program = dot_program()
    if program is None:
        raise ChainruleError.naming(
            "Graphviz's dot program is not installed: apt-get install graphviz, "
            "brew install graphviz or conda install graphviz (or use {engine} builtin)"
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
        raise ChainruleError.naming(
            "dot took longer than {limit:g} s; try {engine} builtin", limit=DOT_TIMEOUT_S
        ) from None
    if done.returncode != 0:
        why = done.stderr.decode("utf-8", "replace").strip().splitlines() or ["no message"]
        raise ChainruleError(f"dot failed (exit {done.returncode}): {why[0]}")
    return done.stdout.decode("utf-8") if fmt == "svg" else done.stdout
