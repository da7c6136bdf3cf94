"""chainrule: from the chain rule to a trained digit recognizer.

>>> import chainrule
>>> g = chainrule.parse("(a - b*c)*d")
>>> r = g.evaluate(a=2, b=-7, c=4, d=1)
>>> r.value, r.gradients["c"]
(30.0, 7.0)
"""

from collections.abc import Container, Mapping
from typing import TYPE_CHECKING, Any

from chainrule.core import hooks
from chainrule.core.evaluate import Result, Step
from chainrule.core.graph import Graph, GraphBuilder, Node
from chainrule.core.ops import OPS, Op
from chainrule.core.parser import parse
from chainrule.errors import ChainruleError, EvaluationError, ParseError

if TYPE_CHECKING:
    from chainrule.grade.verdicts import Report


def _notebook_view(
    subject: Any, include: Container[str] | None, exclude: Container[str] | None
) -> dict[str, str]:
    # Imported on first display, so that importing chainrule stays light.
    from chainrule.show.notebook import mimebundle

    return mimebundle(subject, include, exclude)


hooks.mimebundle = _notebook_view


def check(
    expr: str | Graph,
    at: Mapping[str, float],
    text: str,
    *,
    rel_tol: float = 1e-3,
    abs_tol: float = 1e-6,
) -> "Report":
    r"""Grade a learner's hand-computed forward and backward pass (see :mod:`chainrule.grade`).

    >>> report = check("x*y", {"x": 2, "y": 5}, "p = x*y = 10\n∂p/∂x = 2")
    >>> [line.verdict for line in report.lines], report.missing
    (['correct', 'wrong'], ('∂p/∂y',))
    """
    # Imported on first use, so that importing chainrule stays light.
    from chainrule.grade import check as grade_answers

    return grade_answers(expr, at, text, rel_tol=rel_tol, abs_tol=abs_tol)

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
    "check",
    "parse",
]
__version__ = "0.1.0"
