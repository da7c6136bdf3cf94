"""The report as data: a list of blocks that every writer (HTML, Markdown, PDF) reads.

Sections build blocks; writers never compute anything. Text in paragraphs, list
items, table cells and captions uses a small inline markup that GitHub Markdown
reads as it is: ``$x^2$`` is math, ``**bold**`` is bold and ```code``` is code.

Blocks round-trip through JSON, which is how the cache stores a finished part:

>>> blocks = [Heading("Expression A", 3), Paragraph("Here $a = 2$."), Math(r"\\frac{a}{d}")]
>>> from_json(to_json(blocks)) == blocks
True
>>> inline_tokens("**Answer.** with $x^2$ and `x*x`")
[('bold', 'Answer.'), ('text', ' with '), ('math', 'x^2'), ('text', ' and '), ('code', 'x*x')]
"""

from __future__ import annotations

import base64
import dataclasses
import re
from dataclasses import dataclass, field
from typing import Any, Literal

from chainrule.report.group import Group

InlineKind = Literal["text", "math", "bold", "code"]
NoteKind = Literal["info", "warning", "error"]


@dataclass(frozen=True)
class Heading:
    """A section heading; level 2 is a sheet section (1.2), 3 a part of it."""

    text: str
    level: int
    anchor: str = ""  # id for links; derived from the text when empty


@dataclass(frozen=True)
class Paragraph:
    """Running text in inline markup."""

    text: str


@dataclass(frozen=True)
class BulletList:
    """A list of inline-markup items."""

    items: tuple[str, ...]
    ordered: bool = False


@dataclass(frozen=True)
class Math:
    """One line of display math (LaTeX in the subset matplotlib and GitHub both read)."""

    latex: str


@dataclass(frozen=True)
class Equations:
    """Display equations aligned on their equals signs: rows of (left side, right side).

    The right side starts with its relation (``= 2 + 3``); an empty left side continues
    the row above.
    """

    rows: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Table:
    """A table whose cells are inline markup; numeric columns align right."""

    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    caption: str = ""


@dataclass(frozen=True)
class Code:
    """Preformatted text (console output, a configuration)."""

    text: str


@dataclass(frozen=True)
class Figure:
    """A picture: SVG text (inlined in HTML) or PNG bytes (embedded as a data URI)."""

    name: str  # file stem of the Markdown asset, unique in the report
    caption: str
    svg: str | None = None
    png: bytes | None = None
    width: float = 1.0  # fraction of the text width


@dataclass(frozen=True)
class Note:
    """A remark set apart from the text: information, a warning, or a failed part."""

    text: str
    kind: NoteKind = "info"


@dataclass(frozen=True)
class Answer:
    """The answer to one of the sheet's questions, e.g. 1.3 (iv)."""

    label: str  # "1.3 (iv)"
    question: str
    text: str  # inline markup; may hold several paragraphs separated by blank lines


Block = Heading | Paragraph | BulletList | Math | Equations | Table | Code | Figure | Note | Answer
BLOCK_TYPES: dict[str, type[Block]] = {
    cls.__name__: cls
    for cls in (Heading, Paragraph, BulletList, Math, Equations, Table, Code, Figure, Note, Answer)
}


@dataclass
class Document:
    """The whole report: a title, the lines under it, the group handing it in, the blocks."""

    title: str
    subtitle: list[str] = field(default_factory=list)
    blocks: list[Block] = field(default_factory=list)
    group: Group | None = None  # shown under the title, on the first page

    def headings(self, max_level: int = 3) -> list[Heading]:
        """The headings for a table of contents."""
        return [b for b in self.blocks if isinstance(b, Heading) and b.level <= max_level]


def anchor(heading: Heading) -> str:
    """The heading's link target: its anchor, or a slug of its text.

    >>> anchor(Heading("1.2 Computational graphs", 2))
    'sec-1-2-computational-graphs'
    """
    if heading.anchor:
        return heading.anchor
    slug = re.sub(r"[^a-z0-9]+", "-", heading.text.lower()).strip("-")
    return f"sec-{slug}"


def unique_anchors(blocks: list[Block]) -> list[Block]:
    """The blocks with every heading given an anchor no other heading has.

    >>> [h.anchor for h in unique_anchors([Heading("Verification", 4), Heading("Verification", 4)])]
    ['sec-verification', 'sec-verification-2']
    """
    seen: dict[str, int] = {}
    out: list[Block] = []
    for block in blocks:
        if isinstance(block, Heading):
            base = anchor(block)
            seen[base] = seen.get(base, 0) + 1
            unique = base if seen[base] == 1 else f"{base}-{seen[base]}"
            block = Heading(block.text, block.level, unique)
        out.append(block)
    return out


_INLINE = re.compile(r"\$(?P<math>[^$]+)\$|\*\*(?P<bold>[^*]+)\*\*|`(?P<code>[^`]+)`")


def inline_tokens(text: str) -> list[tuple[InlineKind, str]]:
    """Split inline markup into (kind, text) pieces, in order."""
    tokens: list[tuple[InlineKind, str]] = []
    position = 0
    for match in _INLINE.finditer(text):
        if match.start() > position:
            tokens.append(("text", text[position : match.start()]))
        kind: InlineKind = "math" if match["math"] else "bold" if match["bold"] else "code"
        tokens.append((kind, match[kind]))
        position = match.end()
    if position < len(text):
        tokens.append(("text", text[position:]))
    return tokens


def to_json(blocks: list[Block]) -> list[dict[str, Any]]:
    """Blocks as JSON-ready dicts (PNG bytes as base64)."""
    out = []
    for block in blocks:
        fields = dataclasses.asdict(block)
        if isinstance(block, Figure) and block.png is not None:
            fields["png"] = base64.b64encode(block.png).decode("ascii")
        out.append({"type": type(block).__name__, **fields})
    return out


def from_json(data: list[dict[str, Any]]) -> list[Block]:
    """The inverse of :func:`to_json`."""
    blocks: list[Block] = []
    for item in data:
        fields = dict(item)
        cls = BLOCK_TYPES[fields.pop("type")]
        if cls is Figure and fields.get("png") is not None:
            fields["png"] = base64.b64decode(fields["png"])
        for name, value in fields.items():
            if isinstance(value, list):  # JSON has no tuples
                fields[name] = tuple(tuple(v) if isinstance(v, list) else v for v in value)
        blocks.append(cls(**fields))
    return blocks
