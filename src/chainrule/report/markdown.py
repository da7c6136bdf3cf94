"""The report as GitHub Markdown: math as ``$...$``, pictures as files beside it.

>>> from chainrule.report.document import Document, Figure, Math, Table
>>> doc = Document("Demo", [], [Math("x^2"), Table(("x", "y"), (("1", "a|b"),)),
...                             Figure("g", "A graph.", svg="<svg/>")])
>>> text, assets = to_markdown(doc)
>>> print(text)
# Demo
<BLANKLINE>
$$x^2$$
<BLANKLINE>
| x | y |
|---|---|
| 1 | a\\|b |
<BLANKLINE>
![A graph.](assets/g.svg)
<BLANKLINE>
*Figure 1. A graph.*
<BLANKLINE>
>>> sorted(assets)
['assets/g.svg']
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from itertools import count
from pathlib import Path
from typing import Any

from chainrule.files import write_atomic
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
)
from chainrule.report.group import Group
from chainrule.show.tables import markdown_table

ASSETS = "assets"
"""Folder, beside report.md, that holds its pictures."""

_NOTE_LABEL = {"info": "Note", "warning": "Warning", "error": "Error"}


def to_markdown(document: Document) -> tuple[str, dict[str, bytes]]:
    """The Markdown text and its assets (relative path -> bytes)."""
    writer = _Writer()
    lines = [f"# {document.title}", ""]
    if document.group is not None:
        lines += [group_markdown(document.group), ""]
    for line in document.subtitle:
        lines += [line, ""]
    if document.subtitle:
        lines += [_contents(document), ""]
    for block in document.blocks:
        lines += [writer.block(block), ""]
    return "\n".join(lines), writer.assets


def write_markdown(out: Path, documents: Mapping[str, Document]) -> list[Path]:
    """Write each document as ``out/NAME.md``, their pictures in ``out/assets``; returns the
    files written. Pictures an earlier run left there that these documents lack are removed.

    >>> import tempfile
    >>> out = Path(tempfile.mkdtemp())
    >>> [p.name for p in write_markdown(out, {"notes": Document("Notes", [], [])})]
    ['notes.md']
    """
    texts = {name: to_markdown(document) for name, document in documents.items()}
    assets = {path: data for _, pictures in texts.values() for path, data in pictures.items()}
    folder = out / ASSETS
    if folder.is_dir():
        for old in folder.iterdir():
            if old.is_file() and f"{ASSETS}/{old.name}" not in assets:
                old.unlink()
    written = []
    for name, (text, _) in texts.items():
        write_atomic(out / f"{name}.md", text)
        written.append(out / f"{name}.md")
    for relative, data in assets.items():
        write_atomic(out / relative, data)
        written.append(out / relative)
    return written


_MARKUP = str.maketrans({c: f"\\{c}" for c in "\\`*_[]$#"})


def group_markdown(group: Group) -> str:
    """The group and its members, a bold line and a table (names escaped, they are no markup).

    >>> from chainrule.report.group import group_from_options
    >>> print(group_markdown(group_from_options("7", ["A_B:1"])))
    **Group 7**
    <BLANKLINE>
    | Name | Matriculation number |
    |---|---|
    | A\\_B | 1 |
    """
    rows = [(member.name.translate(_MARKUP), member.matriculation) for member in group.members]
    table = markdown_table(("Name", "Matriculation number"), rows)
    return "\n".join([f"**{group.title}**", "", *table])


def _contents(document: Document) -> str:
    """A nested list of links (GitHub makes the same anchors from ``<a id>``)."""
    entries = ["**Contents**", ""]
    for heading in document.headings(max_level=3):
        indent = "  " * (heading.level - 2)
        entries.append(f"{indent}- [{heading.text}](#{anchor(heading)})")
    return "\n".join(entries)


class _Writer:
    """Renders blocks and collects the files they refer to."""

    def __init__(self) -> None:
        self.assets: dict[str, bytes] = {}
        self._figures = count(1)
        self._renderers: dict[type, Callable[[Any], str]] = {
            Heading: lambda b: f'<a id="{anchor(b)}"></a>\n\n{"#" * b.level} {b.text}',
            Paragraph: lambda b: b.text,
            BulletList: self.bullets,
            Math: lambda b: f"$${b.latex}$$",
            Equations: self.equations,
            Table: self.table,
            Code: lambda b: f"```\n{b.text}\n```",
            Figure: self.figure,
            Note: lambda b: f"> **{_NOTE_LABEL[b.kind]}:** {b.text}",
            Answer: self.answer,
        }

    def block(self, block: Block) -> str:
        return self._renderers[type(block)](block)

    def equations(self, block: Equations) -> str:
        rows = " \\\\\n".join(f"{lhs} &{rhs}" for lhs, rhs in block.rows)
        return f"```math\n\\begin{{aligned}}\n{rows}\n\\end{{aligned}}\n```"

    def bullets(self, block: BulletList) -> str:
        return "\n".join(
            f"{n}. {item}" if block.ordered else f"- {item}"
            for n, item in enumerate(block.items, 1)
        )

    def table(self, block: Table) -> str:
        lines = markdown_table(block.header, block.rows)
        if block.caption:
            lines += ["", f"*{block.caption}*"]
        return "\n".join(lines)

    def figure(self, block: Figure) -> str:
        number = next(self._figures)
        if block.svg is not None:
            path = f"{ASSETS}/{block.name}.svg"
            self.assets[path] = block.svg.encode("utf-8")
        elif block.png is not None:
            path = f"{ASSETS}/{block.name}.png"
            self.assets[path] = block.png
        else:
            raise ValueError(f"figure {block.name!r} has neither SVG nor PNG")
        alt = block.caption.replace("[", "(").replace("]", ")").replace("$", "")
        return f"![{alt}]({path})\n\n*Figure {number}. {block.caption}*"

    def answer(self, block: Answer) -> str:
        paragraphs = [text.strip() for text in block.text.split("\n\n")]
        body = "\n>\n".join(f"> {text}" for text in paragraphs)
        return f"> **{block.label} {block.question}**\n>\n{body}"
