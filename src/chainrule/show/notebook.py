"""How graphs and results show themselves in Jupyter: the picture, Markdown, plain text.

:func:`mimebundle` answers the ``_repr_mimebundle_`` of
:class:`~chainrule.core.graph.Graph` and :class:`~chainrule.core.evaluate.Result`
(the protocol IPython, JupyterLab and VS Code ask for), plugged into the core by
``chainrule/__init__.py`` through :mod:`chainrule.core.hooks`. It offers three views:

- ``image/svg+xml``: the drawn graph (:func:`chainrule.show.render.to_svg`), with
  values and gradients for a result;
- ``text/markdown``: the same picture as an embedded image, then the
  intermediate variables (graph) or the forward and backward tables (result).
  Jupyter frontends rank Markdown above SVG, so the picture is embedded to be
  seen whichever view they pick;
- ``text/plain``: the equations (graph) or the text tables (result), for
  terminals.

A view that cannot be made (an array result has no single picture, a graph of
more than 250 nodes is not drawn) is left out.
Nothing heavy is imported until an object is actually displayed.

>>> from chainrule import parse
>>> bundle = parse("x*y").evaluate(x=2, y=3)._repr_mimebundle_()
>>> sorted(bundle)
['image/svg+xml', 'text/markdown', 'text/plain']
>>> bundle["image/svg+xml"].count("<svg") == 1
True
>>> print(parse("x*y")._repr_mimebundle_(include=["text/plain"]))
{'text/plain': 'v1 = x * y'}
"""

from __future__ import annotations

import base64
import functools
from collections.abc import Callable, Container
from typing import TYPE_CHECKING

from chainrule.errors import ChainruleError

if TYPE_CHECKING:
    from chainrule.core.evaluate import Result
    from chainrule.core.graph import Graph


def mimebundle(
    subject: Graph | Result,
    include: Container[str] | None = None,
    exclude: Container[str] | None = None,
) -> dict[str, str]:
    """The views Jupyter chooses from (``include``/``exclude`` filter by MIME type)."""
    from chainrule.core.evaluate import Result

    graph, result = (subject.graph, subject) if isinstance(subject, Result) else (subject, None)
    drawn = functools.cache(lambda: svg(graph, result))  # one layout for both views
    views: dict[str, Callable[[], str]] = {
        "image/svg+xml": drawn,
        "text/markdown": lambda: markdown(graph, result, drawn),
        "text/plain": lambda: plain_text(graph, result),
    }
    bundle: dict[str, str] = {}
    for mime, make in views.items():
        if (include is not None and mime not in include) or (exclude and mime in exclude):
            continue
        try:
            bundle[mime] = make()
        except ChainruleError:  # e.g. no picture of an array result
            continue
    return bundle


PICTURE_MAX_NODES = 250
"""Larger graphs are not drawn on display: unreadable, and seconds to lay out."""


def svg(graph: Graph, result: Result | None) -> str:
    """The drawn graph as an SVG document."""
    from chainrule.show.render import to_svg

    if len(graph.nodes) > PICTURE_MAX_NODES:
        raise ChainruleError(f"{len(graph.nodes)} nodes are too many to draw on display")

    return to_svg(graph, result)


def svg_image(svg_document: str, alt: str = "computational graph") -> str:
    """A Markdown image of an SVG document, embedded as a data URI.

    >>> svg_image("<svg/>")
    '![computational graph](data:image/svg+xml;base64,PHN2Zy8+)'
    """
    encoded = base64.b64encode(svg_document.encode("utf-8")).decode("ascii")
    return f"![{alt}](data:image/svg+xml;base64,{encoded})"


def markdown(
    graph: Graph, result: Result | None, drawn: Callable[[], str] | None = None
) -> str:
    """The picture, then the intermediate variables or the forward/backward tables.

    ``drawn`` gives the picture's SVG when the caller has it already.
    """
    from chainrule.show.explain import explain
    from chainrule.show.tables import to_markdown

    text = explain(graph, "markdown") if result is None else to_markdown(_one_point(result))
    try:
        picture = svg_image(drawn() if drawn else svg(graph, result))
    except ChainruleError:
        return text
    return f"{picture}\n\n{text}"


def plain_text(graph: Graph, result: Result | None) -> str:
    """The sheet's equations, or the forward and backward tables."""
    import numpy as np

    from chainrule.show.tables import to_text

    if result is None:
        return str(graph)
    try:
        return to_text(_one_point(result))
    except ChainruleError:
        points = np.size(result.value)
        return f"<Result of {graph!r} at {points} points; see .value and .gradients>"


def _one_point(result: Result) -> Result:
    import numpy as np

    if np.size(result.value) != 1:
        raise ChainruleError("the tables show one point, not arrays of points")
    return result
