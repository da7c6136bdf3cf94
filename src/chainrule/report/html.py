"""The report as one self-contained HTML file: no scripts, no links to anything outside.

Pictures made as SVG are inlined (their ids prefixed so that several can share
the page), PNG pictures and typeset math are data URIs. The same file prints to
the PDF, so the style sheet also lays out A4 pages with page numbers.

>>> from chainrule.report.document import Document, Heading, Paragraph
>>> page = to_html(Document("Demo", ["by me"], [Heading("1.1 Basics", 2), Paragraph("$x^2$")]))
>>> page.startswith("<!DOCTYPE html>") and 'id="sec-1-1-basics"' in page
True
"""

from __future__ import annotations

import base64
import html
import re
from collections.abc import Callable
from itertools import count
from typing import Any
from urllib.parse import quote

from chainrule.errors import ChainruleError
from chainrule.report import mathsvg
from chainrule.report.document import (
    Answer,
    Block,
    BulletList,
    Code,
    Document,
    Equations,
    Figure,
    Heading,
    Math,
    Note,
    Paragraph,
    Table,
    anchor,
    inline_tokens,
)
from chainrule.report.group import Group

DISPLAY_SCALE = 1.15
"""Display math is set a little larger than inline math, as LaTeX does."""

_NUMBER = re.compile(r"^([−+-]?(\d[\d,]*\.?\d*(e[−+-]?\d+)?|inf|nan|\.\d+)\s*%?|n/a)$",
                     re.IGNORECASE)
_SVG_ID = re.compile(r'\bid="([^"]+)"')
_SVG_REF = re.compile(r'(url\(#|href="#)([^")]+)')
_WHITESPACE = re.compile(r"\s+")

STYLE = """
:root { --ink: #1d1d1f; --muted: #5b6270; --rule: #d5d9e0; --accent: #1f4e8c; }
* { box-sizing: border-box; }
body { margin: 0; color: var(--ink); background: #fff;
  font: 16px/1.5 "DejaVu Serif", Georgia, "Times New Roman", serif; }
main { max-width: 52rem; margin: 0 auto; padding: 2rem 1.5rem 4rem; }
header.title { text-align: center; margin: 1rem 0 2rem; }
header.title h1 { font-size: 1.9rem; margin: 0 0 .5rem; line-height: 1.25; }
header.title p { margin: .15rem 0; color: var(--muted); }
section.group { display: inline-block; margin: .4rem auto 1rem; padding: .4rem 1.4rem .6rem;
  border: 2px solid var(--accent); border-radius: 6px; font-family: "DejaVu Sans", sans-serif; }
section.group div.number { margin: .2rem 0; font-size: 1.35rem; font-weight: bold; }
section.group table { margin: .3rem auto 0; font-size: 1rem; }
section.group td, section.group th { padding: .15rem .9rem; }
h2 { font-size: 1.5rem; color: var(--accent); border-bottom: 2px solid var(--accent);
  padding-bottom: .2rem; margin: 2.5rem 0 1rem; }
h3 { font-size: 1.2rem; margin: 2rem 0 .6rem; }
h4 { font-size: 1.02rem; margin: 1.3rem 0 .4rem; }
h2, h3, h4 { font-family: "DejaVu Sans", Helvetica, Arial, sans-serif; break-after: avoid; }
p, li { text-align: justify; hyphens: auto; }
nav.toc { border: 1px solid var(--rule); border-radius: 6px; padding: .6rem 1.2rem;
  margin-bottom: 2rem; }
nav.toc h2 { border: 0; margin: .3rem 0; font-size: 1.15rem; }
nav.toc ul { list-style: none; padding-left: 0; margin: .2rem 0; }
nav.toc ul ul { padding-left: 1.4rem; }
nav.toc a { color: var(--ink); text-decoration: none; }
img.math { vertical-align: middle; }
div.math { text-align: center; margin: .55rem 0; overflow-x: auto; break-inside: avoid; }
table.equations { margin: .5rem auto; font-size: 1rem; }
table.equations td { border: 0; padding: .12rem 0; }
table.equations td.lhs { text-align: right; padding-right: .12em; }
table.equations td.rhs { text-align: left; }
table { border-collapse: collapse; margin: .8rem auto; font-size: .92rem;
  break-inside: avoid; }
caption { caption-side: bottom; color: var(--muted); font-size: .88rem; padding-top: .35rem; }
th, td { padding: .25rem .7rem; border-bottom: 1px solid var(--rule); text-align: left; }
thead th { border-bottom: 2px solid var(--ink); font-family: "DejaVu Sans", sans-serif;
  font-size: .85rem; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
code, pre { font-family: "DejaVu Sans Mono", Menlo, Consolas, monospace; font-size: .86em; }
pre { background: #f5f6f8; border: 1px solid var(--rule); border-radius: 4px;
  padding: .6rem .8rem; overflow-x: auto; white-space: pre-wrap; break-inside: avoid; }
figure { margin: 1.2rem auto; text-align: center; break-inside: avoid; }
figure svg, figure img { max-width: 100%; height: auto; }
figcaption { color: var(--muted); font-size: .88rem; margin-top: .35rem; }
aside.note { border-left: 4px solid var(--accent); background: #f2f6fb;
  padding: .5rem .9rem; margin: .9rem 0; break-inside: avoid; }
aside.warning { border-color: #b7791f; background: #fdf7ec; }
aside.error { border-color: #b42318; background: #fdf0ef; }
div.answer { border: 1px solid var(--rule); border-radius: 6px; padding: .5rem 1rem;
  margin: 1rem 0; break-inside: avoid; }
div.answer p.question { font-weight: bold; margin: .2rem 0 .4rem; text-align: left; }
@page { size: A4; margin: 18mm 17mm 20mm;
  @bottom-center { content: counter(page) " / " counter(pages);
    font: 9pt "DejaVu Sans", sans-serif; color: #5b6270; } }
@media print {
  body { font-size: 10.5pt; }
  main { max-width: none; padding: 0; }
  h2 { break-before: page; }
  nav.toc h2 { break-before: auto; }
  nav.toc { break-after: page; }
  a { color: inherit; text-decoration: none; }
}
"""


def to_html(document: Document) -> str:
    """The whole page."""
    writer = _Writer()
    body = "\n".join(writer.block(block) for block in document.blocks)
    subtitle = "".join(f"<p>{writer.inline(line)}</p>" for line in document.subtitle)
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{html.escape(document.title)}</title>\n<style>{STYLE}</style>\n</head>\n"
        f'<body>\n<main>\n<header class="title"><h1>{html.escape(document.title)}</h1>'
        f"{group_block(document.group)}{subtitle}</header>\n{_contents(document)}\n{body}\n"
        "</main>\n</body>\n</html>\n"
    )


def group_block(group: Group | None) -> str:
    """The group number and every member in a framed block under the title ("" without a group).

    Names are escaped text, never inline markup: a ``$`` in a name is a dollar sign.

    >>> from chainrule.report.group import group_from_options
    >>> block = group_block(group_from_options("7", ["Ada $Lovelace:123456"]))
    >>> "Group 7</div>" in block, "<td>Ada $Lovelace</td><td>123456</td>" in block
    (True, True)
    """
    if group is None:
        return ""
    rows = "".join(
        f"<tr><td>{html.escape(member.name)}</td><td>{html.escape(member.matriculation)}</td></tr>"
        for member in group.members
    )
    return (
        f'<section class="group"><div class="number">{html.escape(group.title)}</div>'
        "<table><thead><tr><th>Name</th><th>Matriculation number</th></tr></thead>"
        f"<tbody>{rows}</tbody></table>"
        "</section>"
    )


def _contents(document: Document) -> str:
    """A two-level table of contents with links to the headings."""
    items: list[str] = []
    open_sublist = False
    for heading in document.headings(max_level=3):
        link = f'<a href="#{anchor(heading)}">{html.escape(heading.text)}</a>'
        if heading.level == 3:
            if not open_sublist:
                items.append("<ul>")
                open_sublist = True
            items.append(f"<li>{link}</li>")
            continue
        if open_sublist:
            items.append("</ul>")
            open_sublist = False
        items.append(f"<li>{link}</li>")
    if open_sublist:
        items.append("</ul>")
    return f'<nav class="toc"><h2>Contents</h2><ul>{"".join(items)}</ul></nav>'


def math_image(latex: str, scale: float = 1.0) -> str:
    """An ``<img>`` of typeset math, sized in em so it follows the text, on its baseline.

    LaTeX that mathtext cannot set (a construct outside its subset) is shown as code.

    >>> math_image(r"\\begin{cases} a \\end{cases}")
    '<code class="latex">\\\\begin{cases} a \\\\end{cases}</code>'
    """
    try:
        svg = mathsvg.render(latex)
    except ChainruleError:
        return f'<code class="latex">{html.escape(latex)}</code>'
    em = mathsvg.FONT_SIZE_PT / scale
    style = f"height:{svg.height / em:.3f}em;vertical-align:{-svg.depth / em:.3f}em"
    return (
        f'<img class="math" src="{svg_data_uri(svg.text)}" alt="{html.escape(latex)}" '
        f'style="{style}">'
    )


def display_style(latex: str) -> str:
    """Outermost fractions in display size (``\\dfrac``), as LaTeX sets display math.

    mathtext sets every ``\\frac`` in text size; nested fractions stay that way.

    >>> display_style(r"\\frac{\\partial y}{\\partial x} = \\frac{1}{\\frac{a}{b}}")
    '\\\\dfrac{\\\\partial y}{\\\\partial x} = \\\\dfrac{1}{\\\\frac{a}{b}}'
    """
    out, depth, position = [], 0, 0
    while position < len(latex):
        if latex.startswith(r"\frac", position) and depth == 0:
            out.append(r"\dfrac")
            position += len(r"\frac")
            continue
        char = latex[position]
        depth += {"{": 1, "}": -1}.get(char, 0)
        out.append(char)
        position += 1
    return "".join(out)


def display_math(latex: str) -> str:
    """Display math: outer fractions in display size, a little larger than the text."""
    return math_image(display_style(latex), DISPLAY_SCALE)


def svg_data_uri(svg: str) -> str:
    """SVG as a ``data:`` URI, percent-encoded (smaller than base64)."""
    compact = _WHITESPACE.sub(" ", svg).strip()
    return "data:image/svg+xml," + quote(compact, safe=" /:=;,.()-'+*!~_@$&[]?")


def png_data_uri(png: bytes) -> str:
    """PNG bytes as a ``data:`` URI."""
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def inline_svg(svg: str, prefix: str) -> str:
    """SVG text ready to sit inside HTML: no XML prolog, every id made unique by ``prefix``.

    >>> inline_svg('<?xml version="1.0"?><svg><g id="a" clip-path="url(#a)"/></svg>', "f1")
    '<svg><g id="f1-a" clip-path="url(#f1-a)"/></svg>'
    """
    start = svg.find("<svg")
    body = svg[start:] if start >= 0 else svg
    body = _SVG_ID.sub(lambda m: f'id="{prefix}-{m[1]}"', body)
    return _SVG_REF.sub(lambda m: f"{m[1]}{prefix}-{m[2]}", body)


def is_number(cell: str) -> bool:
    """Whether a table cell holds just a number (it is then right-aligned).

    >>> is_number("-28"), is_number("1.5e-07"), is_number("99.1 %"), is_number("b * c")
    (True, True, True, False)
    """
    return bool(_NUMBER.match(cell.strip()))


class _Writer:
    """Renders blocks, numbering figures and making SVG ids unique across the page."""

    def __init__(self) -> None:
        self._figures = count(1)
        self._renderers: dict[type, Callable[[Any], str]] = {
            Heading: self.heading,
            Paragraph: lambda b: f"<p>{self.inline(b.text)}</p>",
            BulletList: self.bullets,
            Math: lambda b: f'<div class="math">{display_math(b.latex)}</div>',
            Equations: self.equations,
            Table: self.table,
            Code: lambda b: f"<pre>{html.escape(b.text)}</pre>",
            Figure: self.figure,
            Note: lambda b: f'<aside class="note {b.kind}">{self.inline(b.text)}</aside>',
            Answer: self.answer,
        }

    def block(self, block: Block) -> str:
        return self._renderers[type(block)](block)

    def inline(self, text: str) -> str:
        parts = []
        for kind, piece in inline_tokens(text):
            if kind == "math":
                parts.append(math_image(piece))
            elif kind == "bold":
                parts.append(f"<strong>{html.escape(piece)}</strong>")
            elif kind == "code":
                parts.append(f"<code>{html.escape(piece)}</code>")
            else:
                parts.append(html.escape(piece))
        return "".join(parts)

    def equations(self, block: Equations) -> str:
        rows = "".join(
            f'<tr><td class="lhs">{display_math(lhs) if lhs else ""}</td>'
            f'<td class="rhs">{display_math(rhs)}</td></tr>'
            for lhs, rhs in block.rows
        )
        return f'<table class="equations"><tbody>{rows}</tbody></table>'

    def heading(self, block: Heading) -> str:
        level = min(max(block.level, 2), 6)
        return f'<h{level} id="{anchor(block)}">{html.escape(block.text)}</h{level}>'

    def bullets(self, block: BulletList) -> str:
        tag = "ol" if block.ordered else "ul"
        items = "".join(f"<li>{self.inline(item)}</li>" for item in block.items)
        return f"<{tag}>{items}</{tag}>"

    def table(self, block: Table) -> str:
        head = "".join(f"<th>{self.inline(cell)}</th>" for cell in block.header)
        rows = "".join(
            "<tr>"
            + "".join(
                f'<td class="num">{html.escape(cell.replace("-", "−"))}</td>' if is_number(cell)
                else f"<td>{self.inline(cell)}</td>"
                for cell in row
            )
            + "</tr>"
            for row in block.rows
        )
        caption = f"<caption>{self.inline(block.caption)}</caption>" if block.caption else ""
        return f"<table>{caption}<thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>"

    def figure(self, block: Figure) -> str:
        number = next(self._figures)
        style = f' style="width:{block.width * 100:.0f}%"'
        if block.svg is not None:
            picture = inline_svg(block.svg, f"fig{number}")
        elif block.png is not None:
            picture = (
                f'<img src="{png_data_uri(block.png)}" alt="{html.escape(block.caption)}">'
            )
        else:
            raise ValueError(f"figure {block.name!r} has neither SVG nor PNG")
        caption = f"<figcaption>Figure {number}. {self.inline(block.caption)}</figcaption>"
        return f'<figure id="fig-{block.name}"{style}>{picture}{caption}</figure>'

    def answer(self, block: Answer) -> str:
        paragraphs = "".join(
            f"<p>{self.inline(text.strip())}</p>" for text in block.text.split("\n\n")
        )
        question = f"{block.label} {block.question}"
        return f'<div class="answer"><p class="question">{self.inline(question)}</p>' \
               f"{paragraphs}</div>"
