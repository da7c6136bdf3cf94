"""LaTeX to SVG at build time, so the report shows math without a network connection.

matplotlib's mathtext (already a dependency) typesets the LaTeX subset the report
uses (fractions, roots, partial derivatives, products, Greek letters) in Computer
Modern and writes the glyphs as SVG paths: no fonts, no scripts, no browser
rendering step. The same LaTeX goes into the Markdown unchanged, for GitHub.

>>> svg = render(r"\\frac{\\partial y}{\\partial x}")
>>> svg.text.startswith("<svg") and svg.height > svg.depth > 0
True
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, cast

from chainrule.errors import ChainruleError

FONT_SIZE_PT = 12.0
"""Size the math is typeset at; writers scale it relative to the text's font size."""

_STYLE: dict[str, Any] = {
    "mathtext.fontset": "dejavuserif",
    "svg.fonttype": "path",  # glyphs as outlines: no font needed where it is shown
    "svg.hashsalt": "chainrule",  # stable ids, so the same input gives the same file
    "savefig.transparent": True,
}
_METADATA = re.compile(r"<metadata>.*?</metadata>\s*", re.DOTALL)
_PROLOG = re.compile(r"^.*?(?=<svg)", re.DOTALL)
_COMMENT = re.compile(r"<!--.*?-->\s*", re.DOTALL)
_SIZE = re.compile(r'<svg[^>]*?width="([\d.]+)pt" height="([\d.]+)pt"')


@dataclass(frozen=True)
class MathSvg:
    """Typeset math: the SVG document and its box in points (depth: below the baseline)."""

    text: str
    width: float
    height: float
    depth: float


@lru_cache(maxsize=4096)
def render(latex: str) -> MathSvg:
    """Typeset one formula (without dollar signs); a ChainruleError if mathtext cannot."""
    from matplotlib import mathtext, rc_context
    from matplotlib.font_manager import FontProperties

    buffer = io.BytesIO()
    try:
        with rc_context(cast(Any, _STYLE)):
            depth = mathtext.math_to_image(
                f"${latex}$", buffer, prop=FontProperties(size=FONT_SIZE_PT), format="svg"
            )
    except ValueError as problem:
        first_line = str(problem).strip().splitlines()[0] if str(problem).strip() else "error"
        raise ChainruleError(f"cannot typeset ${latex}$: {first_line}") from None
    text = buffer.getvalue().decode("utf-8")
    text = _COMMENT.sub("", _METADATA.sub("", _PROLOG.sub("", text, count=1)))
    size = _SIZE.search(text)
    assert size is not None, "matplotlib's SVG has a width and a height in pt"
    return MathSvg(text, float(size[1]), float(size[2]), float(depth))
