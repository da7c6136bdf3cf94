r"""The numbers a verdict compares: the truth's, the learner's, and what follows from the learner's.

Two passes run over the learner's graph. The true one evaluates it at the
exercise's point. The learner's one recomputes every value from the learner's
own values of its arguments, and every gradient from the learner's own upstream
gradients and forward values: :class:`Facts` holds both, with the numbers the
learner stated and what each derivative line is about.

>>> from chainrule.grade import check
>>> report = check("x*y", {"x": 2, "y": 5}, "p = x*y = 11\n∂p/∂x = 5")
>>> [(line.verdict, line.expected, line.expected_from_yours) for line in report.lines]
[('wrong', 10.0, 10.0), ('correct', 5.0, 5.0)]
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from chainrule.core.backends import ScalarMath, numpy_math
from chainrule.core.graph import Graph, Node
from chainrule.grade.decompose import Decomposition
from chainrule.grade.statements import Part, Skipped, Statement, Unreadable
from chainrule.grade.verdicts import LineKind


@dataclass(frozen=True)
class Tolerance:
    """When a learner's number counts as equal to the expected one.

    Relative to the expected number; a number within ``absolute`` of zero may be
    written as 0 (and an expected 0 accepts such a number), since ``exp(-20)`` is 0
    to a learner with a pencil.

    >>> t = Tolerance()
    >>> t.close(7.68, 7.68115), t.close(0, 2e-9), t.close(-8e-9, 8e-9), t.close(1, 1.01)
    (True, True, False, False)
    """

    relative: float = 1e-3
    absolute: float = 1e-6

    def close(self, given: float, expected: float) -> bool:
        if not (math.isfinite(given) and math.isfinite(expected)):
            return False
        if given == 0 or expected == 0:
            return abs(given - expected) <= self.absolute
        return abs(given - expected) <= self.relative * abs(expected)


def local_derivative(node: Node, arg: int, values: Sequence[float], out: float) -> float:
    """d node / d (node ``arg``) where the node's value is ``out``, summed over both places
    ``arg`` fills (x*x); NaN where it is undefined (a learner's numbers may leave the domain).
    """
    assert node.op is not None
    args = [values[a] for a in node.args]
    try:
        partials = node.op.partials(ScalarMath, out, *args)
    except (ArithmeticError, ValueError):
        with np.errstate(all="ignore"):
            ieee = node.op.partials(numpy_math(), np.float64(out), *map(np.float64, args))
        partials = tuple(float(p) for p in ieee)
    return float(sum(p for a, p in zip(node.args, partials, strict=True) if a == arg))


def _forward(node: Node, values: Sequence[float]) -> float:
    assert node.op is not None
    try:
        return float(node.op.forward(ScalarMath, *(values[a] for a in node.args)))
    except (ArithmeticError, ValueError):
        return math.nan


@dataclass
class Pass:
    """Values and gradients of every node: the truth's, or the learner's."""

    values: list[float]
    grads: list[float]

    def local(self, graph: Graph, consumer: int, arg: int) -> float:
        return local_derivative(graph.nodes[consumer], arg, self.values, self.values[consumer])

    def backward(self, graph: Graph, stated: Mapping[int, float]) -> list[float]:
        """Backpropagate over these values, taking the ``stated`` gradients where given.

        Returns each gradient as computed from the upstream ones (before ``stated``
        replaces it); nodes the output does not depend on get 0.
        """
        computed = [0.0] * len(graph.nodes)
        for index in range(len(graph.nodes) - 1, -1, -1):
            if index == graph.output:
                total = 1.0
            else:
                total = sum(
                    self.grads[c] * self.local(graph, c, index) for c in graph.consumers[index]
                )
            computed[index] = total
            self.grads[index] = stated.get(index, total)
        return computed


class Facts:
    """Everything the verdicts on one answer file are computed from."""

    def __init__(
        self,
        decomposition: Decomposition,
        statements: Sequence[Statement | Unreadable | Skipped],
        at: Mapping[str, float],
        tolerance: Tolerance,
    ) -> None:
        self.d = decomposition
        self.graph = decomposition.graph
        self.statements = statements
        self.at = {name: float(value) for name, value in at.items()}
        self.tolerance = tolerance
        self.derivative_kinds: dict[int, tuple[LineKind, int, int] | str] = {}
        for statement in statements:
            if isinstance(statement, Statement) and statement.kind == "derivative":
                self.derivative_kinds[statement.line] = self._derivative_kind(statement)
        self.truth = self._true_pass()
        self.stated_values, self.stated_grads = self._stated_numbers()
        self.from_yours, self.yours = self._learner_pass()

    # ------------------------------------------------------------ the two passes

    def _true_pass(self) -> Pass:
        """The exercise's point through the learner's graph (NaN outside a domain)."""
        values = [math.nan] * len(self.graph.nodes)
        for index, node in enumerate(self.graph.nodes):
            if node.kind == "constant":
                values[index] = float(node.constant or 0.0)
            elif node.kind == "input":
                values[index] = self.at.get(node.name, math.nan)
            else:
                values[index] = _forward(node, values)
        truth = Pass(values, [0.0] * len(values))
        truth.backward(self.graph, {})
        return truth

    def _stated_numbers(self) -> tuple[dict[int, float], dict[int, float]]:
        """The first number the learner states for each node's value and gradient."""
        values: dict[int, float] = {}
        grads: dict[int, float] = {}
        for statement in self.statements:
            if not isinstance(statement, Statement):
                continue
            part = statement.value_part
            if part is None or not part.is_number:
                continue
            number = part.number()
            target = self._value_target(statement)
            if statement.kind in ("definition", "value") and isinstance(target, int):
                values.setdefault(target, number)
            kind = self.derivative_kinds.get(statement.line)
            if isinstance(kind, tuple) and kind[0] == "gradient":
                grads.setdefault(kind[2], number)
        return values, grads

    def _learner_pass(self) -> tuple[Pass, Pass]:
        """(computed from the learner's numbers, the learner's numbers where stated)."""
        nodes = self.graph.nodes
        computed = [math.nan] * len(nodes)
        yours = [math.nan] * len(nodes)
        for index, node in enumerate(nodes):
            if node.kind == "constant":
                computed[index] = yours[index] = float(node.constant or 0.0)
            elif node.kind == "input":
                computed[index] = self.at.get(node.name, math.nan)
                yours[index] = self.stated_values.get(index, computed[index])
            else:
                computed[index] = _forward(node, yours)
                yours[index] = self.stated_values.get(index, computed[index])
        computed_pass = Pass(computed, [0.0] * len(nodes))
        yours_pass = Pass(yours, [0.0] * len(nodes))
        computed_pass.grads = yours_pass.backward(self.graph, self.stated_grads)
        return computed_pass, yours_pass

    # ------------------------------------------------------------ what a line is about

    def _node(self, name: str) -> int | None:
        if name == self.d.output_name:
            return self.graph.output
        return self.d.names.get(name)

    def _value_target(self, statement: Statement) -> int | str:
        """The node a definition or value line states the value of, or why none."""
        if statement.kind == "definition":
            node = self.d.node_of_line.get(statement.line)
            return node if node is not None else "no valid definition"
        node = self._node(statement.name)
        if node is None:
            return f"`{statement.name}` is neither an input nor one of your variables"
        return node

    def _derivative_kind(self, statement: Statement) -> tuple[LineKind, int, int] | str:
        """("gradient"|"local", of, by), or why the derivative names nothing known."""
        of, by = self._node(statement.name), self._node(statement.by or "")
        if by is None:
            return f"`{statement.by}` is neither an input nor one of your variables"
        local = "local" in statement.section.lower()  # under a heading "Local derivatives"
        if of == self.graph.output and not (local and by in self.graph.nodes[of].args):
            return ("gradient", of, by)
        if of is None:
            return f"`{statement.name}` is neither your output nor one of your variables"
        if by in self.graph.nodes[of].args:
            return ("local", of, by)
        equation = self.graph.equation(self.graph.nodes[of])
        return (
            f"`{statement.by}` is no argument of {equation}: write its local derivative by an "
            f"argument, or the gradient ∂{self.d.output_name}/∂{statement.by}"
        )

    # ------------------------------------------------------------ the numbers of a line

    def evaluate_part(self, part: Part) -> float | str:
        """A stated number, or a formula over the learner's numbers; or why it has none."""
        if part.is_number:
            return part.number()
        assert part.graph is not None
        values: dict[str, float] = {}
        for name in part.names:
            number = self._named_number(part, name)
            if isinstance(number, str):
                return number
            values[name] = number
        return part.number(values)

    def _named_number(self, part: Part, name: str) -> float | str:
        if name in part.derivatives:
            of, by = part.derivatives[name]
            fake = Statement(0, "", "derivative", of, (), by)
            kind = self._derivative_kind(fake)
            if isinstance(kind, str):
                return kind
            what, of_index, by_index = kind
            if what == "gradient":
                return self.yours.grads[by_index]
            return self.yours.local(self.graph, of_index, by_index)
        node = self._node(name)
        if node is None:
            return f"`{name}` is neither an input nor one of your variables"
        return self.yours.values[node]
