r"""Grading a learner's hand-computed forward and backward pass, line by line.

``check(expression, at, answers)`` reads the learner's answer file (their own
variable names, one statement per line), checks that the definitions are single
operations that together compute the expression, judges every forward value and
gradient against the truth *and* against the learner's own earlier numbers, and
names the mistake of each wrong line from the catalogue in
:mod:`chainrule.grade.mistakes`.

>>> answers = '''
... p = b·c = (−7)(4) = −28
... q = a − p = 2 − 28 = −26      # the sign of p lost
... A = q·d = −26
... ∂A/∂q = d = 1
... ∂A/∂p = ∂A/∂q · ∂q/∂p = (1)(−1) = −1
... '''
>>> report = check("(a - b*c)*d", {"a": 2, "b": -7, "c": 4, "d": 1}, answers)
>>> for line in report.lines:
...     print(line.line, line.verdict, line.mistake or "-")
2 correct -
3 wrong sign
4 carried -
5 correct -
6 correct -
>>> report.missing
('∂A/∂a', '∂A/∂b', '∂A/∂c', '∂A/∂d')
"""

from __future__ import annotations

from collections.abc import Mapping

from chainrule.core.graph import Graph
from chainrule.core.parser import parse
from chainrule.errors import ChainruleError
from chainrule.grade.decompose import decompose
from chainrule.grade.judge import grade
from chainrule.grade.passes import Tolerance
from chainrule.grade.statements import read
from chainrule.grade.verdicts import LineVerdict, Report

__all__ = ["LineVerdict", "Report", "Tolerance", "check"]


def check(
    expression: str | Graph,
    at: Mapping[str, float],
    answers: str,
    *,
    rel_tol: float = 1e-3,
    abs_tol: float = 1e-6,
) -> Report:
    """Grade the answer file ``answers`` for ``expression`` at the point ``at``.

    Raises :class:`~chainrule.errors.ParseError` if the expression does not parse
    and :class:`~chainrule.errors.ChainruleError` if ``at`` lacks an input; a line of
    ``answers`` that cannot be read is an ``invalid`` verdict, the others still judged.
    """
    graph = parse(expression) if isinstance(expression, str) else expression
    missing = [name for name in graph.inputs if name not in at]
    if missing:
        raise ChainruleError(f"no value given for {', '.join(missing)} (--at)")
    if not (rel_tol >= 0 and abs_tol >= 0):
        raise ChainruleError("the tolerances must be numbers >= 0")
    point = {name: float(value) for name, value in at.items()}
    statements = read(answers)
    decomposition = decompose(graph, statements, point)
    return grade(graph, decomposition, statements, point, Tolerance(rel_tol, abs_tol))
