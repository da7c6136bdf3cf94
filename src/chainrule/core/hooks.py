"""Where the views plug into the core: the core calls, a view answers.

Jupyter asks a :class:`~chainrule.core.graph.Graph` or a
:class:`~chainrule.core.evaluate.Result` for ``_repr_mimebundle_``; the core has
no pictures of its own, so it hands the object to whatever view was plugged in
here (``chainrule/__init__.py`` plugs in :mod:`chainrule.show.notebook`).

>>> mimebundle_of("x", None, None) if mimebundle is None else {"text/plain": "'x'"}
{'text/plain': "'x'"}
"""

from __future__ import annotations

from collections.abc import Callable, Container
from typing import Any

MimeBundle = Callable[[Any, Container[str] | None, Container[str] | None], dict[str, str]]

mimebundle: MimeBundle | None = None
"""The notebook view: (object, include, exclude) -> {MIME type: data}."""


def mimebundle_of(
    subject: Any, include: Container[str] | None, exclude: Container[str] | None
) -> dict[str, str]:
    """The plugged-in view's bundle, or plain text when no view is plugged in."""
    if mimebundle is None:
        return {"text/plain": repr(subject)}
    return mimebundle(subject, include, exclude)
