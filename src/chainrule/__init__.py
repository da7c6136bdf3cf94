"""chainrule: from the chain rule to a trained digit recognizer.

>>> import chainrule
>>> g = chainrule.parse("(a - b*c)*d")
>>> r = g.evaluate(a=2, b=-7, c=4, d=1)
>>> r.value, r.gradients["c"]
(30.0, 7.0)
"""

from collections.abc import Container
from typing import Any

from chainrule.core import hooks
from chainrule.core.evaluate import Result, Step
from chainrule.core.graph import Graph, GraphBuilder, Node
from chainrule.core.ops import OPS, Op
from chainrule.core.parser import parse
from chainrule.errors import ChainruleError, EvaluationError, ParseError


def _notebook_view(
    subject: Any, include: Container[str] | None, exclude: Container[str] | None
) -> dict[str, str]:
    # Imported on first display, so that importing chainrule stays light.
    from chainrule.show.notebook import mimebundle

    return mimebundle(subject, include, exclude)


hooks.mimebundle = _notebook_view

__all__ = [
    "OPS",
    "ChainruleError",
    "EvaluationError",
    "Graph",
    "GraphBuilder",
    "Node",
    "Op",
    "ParseError",
    "Result",
    "Step",
    "parse",
]
__version__ = "0.1.0"
