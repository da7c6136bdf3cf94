r"""Judging each number against the truth and against the learner's own earlier numbers.

Two passes run over the learner's graph. The true one evaluates it at the
exercise's point. The learner's one recomputes every value from the learner's
own values of its arguments, and every gradient from the learner's own upstream
gradients and forward values. A number that matches the truth is ``correct``;
one that matches only the learner's pass is ``carried`` (an earlier mistake,
none new); one that matches neither is ``wrong``, and :mod:`chainrule.grade.diagnose`
says which mistake of the catalogue it is.

>>> from chainrule.grade import check
>>> report = check("(a - b*c)*d", {"a": 2, "b": -7, "c": 4, "d": 1},
...                "p = b*c = 28\nq = a - p = -26\nA = q*d = -26")
>>> [(line.name, line.verdict) for line in report.lines]
[('p', 'wrong'), ('q', 'carried'), ('A', 'carried')]
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from chainrule.core.graph import Graph, Node
from chainrule.core.ops import ScalarMath, VectorMath
from chainrule.grade import diagnose
from chainrule.grade.decompose import Decomposition
from chainrule.grade.statements import Part, Statement, Unreadable
from chainrule.grade.verdicts import LineKind, LineVerdict, Report, Verdict


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
            ieee = node.op.partials(VectorMath, np.float64(out), *map(np.float64, args))
        partials = tuple(float(p) for p in ieee)
    return float(sum(p for a, p in zip(node.args, partials, strict=True) if a == arg))


def _forward(node: Node, values: Sequence[float]) -> float:
    assert node.op is not None
    try:
        return float(node.op.forward(ScalarMath, *(values[a] for a in node.args)))
    except (ArithmeticError, ValueError):
        return math.nan


@dataclass
class _Pass:
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


class Judge:
    """Everything needed to judge the lines of one answer file."""

    def __init__(
        self,
        decomposition: Decomposition,
        statements: Sequence[Statement | Unreadable],
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

    def _true_pass(self) -> _Pass:
        """The exercise's point through the learner's graph (NaN outside a domain)."""
        values = [math.nan] * len(self.graph.nodes)
        for index, node in enumerate(self.graph.nodes):
            if node.kind == "constant":
                values[index] = float(node.constant or 0.0)
            elif node.kind == "input":
                values[index] = self.at.get(node.name, math.nan)
            else:
                values[index] = _forward(node, values)
        truth = _Pass(values, [0.0] * len(values))
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
            number = _number_of(part)
            target = self._value_target(statement)
            if statement.kind in ("definition", "value") and isinstance(target, int):
                values.setdefault(target, number)
            kind = self.derivative_kinds.get(statement.line)
            if isinstance(kind, tuple) and kind[0] == "gradient":
                grads.setdefault(kind[2], number)
        return values, grads

    def _learner_pass(self) -> tuple[_Pass, _Pass]:
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
        computed_pass = _Pass(computed, [0.0] * len(nodes))
        yours_pass = _Pass(yours, [0.0] * len(nodes))
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
        if of == self.graph.output:
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

    # ------------------------------------------------------------ verdicts

    def verdict(self, given: float, expected: float, from_yours: float) -> Verdict:
        if self.tolerance.close(given, expected):
            return "correct"
        if self.tolerance.close(given, from_yours):
            return "carried"
        return "wrong"

    def evaluate_part(self, part: Part) -> float | str:
        """A stated number, or a formula over the learner's numbers; or why it has none."""
        if part.is_number:
            return _number_of(part)
        assert part.graph is not None
        values: dict[str, float] = {}
        for name in part.names:
            number = self._named_number(part, name)
            if isinstance(number, str):
                return number
            values[name] = number
        with np.errstate(all="ignore"):
            return float(part.graph.evaluate(values, allow_nan=True, gradients=False).value)

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

    def judge(self, statement: Statement | Unreadable) -> LineVerdict:
        if isinstance(statement, Unreadable):
            return LineVerdict(
                statement.line, statement.text, None, "", "invalid",
                message=f"cannot read this line: {statement.message} at column "
                f"{statement.column}",
                column=statement.column,
            )  # fmt: skip
        if statement.kind == "derivative":
            return self._judge_derivative(statement)
        return self._judge_value(statement)

    def _judge_value(self, statement: Statement) -> LineVerdict:
        kind: LineKind = statement.kind if statement.kind == "definition" else "value"
        base = LineVerdict(statement.line, statement.text, kind, statement.name, "correct")
        problem = self.d.problems.get(statement.line) if kind == "definition" else None
        target = self._value_target(statement)
        part = statement.value_part
        if isinstance(target, str):
            return _replace(base, verdict="invalid", message=problem or target)
        expected, from_yours = self.truth.values[target], self.from_yours.values[target]
        if part is None:
            return _replace(base, verdict="invalid", message=problem) if problem else base
        given = self.evaluate_part(part)
        if isinstance(given, str):
            return _replace(base, verdict="invalid", message=given)
        numbers = _replace(base, given=given, expected=expected, expected_from_yours=from_yours)
        if problem:
            return _replace(numbers, verdict="invalid", message=problem)
        verdict = self.verdict(given, expected, from_yours)
        if verdict == "correct":
            return numbers
        if verdict == "carried":
            return _replace(numbers, verdict=verdict, message=diagnose.carried_value(self, target))
        mistake, message = diagnose.value_mistake(self, statement, target, given)
        return _replace(numbers, verdict=verdict, mistake=mistake, message=message)

    def _judge_derivative(self, statement: Statement) -> LineVerdict:
        kind = self.derivative_kinds[statement.line]
        name = statement.lhs
        if isinstance(kind, str):
            return LineVerdict(statement.line, statement.text, "gradient", name, "invalid",
                               message=kind)  # fmt: skip
        what, of, by = kind
        base = LineVerdict(statement.line, statement.text, what, name, "correct")
        given = self.evaluate_part(statement.parts[-1])
        if isinstance(given, str):
            return _replace(base, verdict="invalid", message=given)
        if what == "gradient":
            expected, from_yours = self.truth.grads[by], self.from_yours.grads[by]
        else:
            expected = self.truth.local(self.graph, of, by)
            from_yours = self.yours.local(self.graph, of, by)
        numbers = _replace(base, given=given, expected=expected, expected_from_yours=from_yours)
        verdict = self.verdict(given, expected, from_yours)
        if verdict == "correct":
            return numbers
        if verdict == "carried":
            message = diagnose.carried_derivative(self, what, of, by)
            return _replace(numbers, verdict=verdict, message=message)
        if what == "gradient":
            mistake, message = diagnose.gradient_mistake(self, statement, by, given)
        else:
            mistake, message = diagnose.local_mistake(self, statement, of, by, given)
        return _replace(numbers, verdict=verdict, mistake=mistake, message=message)

    # ------------------------------------------------------------ missing items and score

    def items(self) -> list[tuple[str, str, int]]:
        """What the sheet's tasks ask: (kind, label, node) of each definition, value, gradient."""
        out = self.d.output_name
        named = self.d.named_operations
        found: list[tuple[str, str, int]] = []
        for index in named:
            name = self.graph.nodes[index].name
            found += [("definition", name, index), ("value", f"value of {name}", index)]
        nodes = [i for i, n in enumerate(self.graph.nodes) if n.kind == "input"] + named
        for index in nodes:
            if index != self.graph.output:
                found.append(("gradient", f"∂{out}/∂{self.graph.nodes[index].name}", index))
        return found


def _number_of(part: Part) -> float:
    assert part.graph is not None
    with np.errstate(all="ignore"):
        return float(part.graph.evaluate({}, allow_nan=True, gradients=False).value)


def _replace(line: LineVerdict, **changes: object) -> LineVerdict:
    from dataclasses import replace

    return replace(line, **changes)  # type: ignore[arg-type]


def grade(
    expression: Graph,
    decomposition: Decomposition,
    statements: Sequence[Statement | Unreadable],
    at: Mapping[str, float],
    tolerance: Tolerance,
) -> Report:
    """Judge every line, then list what is missing and count the score."""
    judge = Judge(decomposition, statements, at, tolerance)
    lines = tuple(judge.judge(statement) for statement in statements)
    by_item: dict[tuple[str, int], list[LineVerdict]] = {}
    for statement, line in zip(statements, lines, strict=True):
        for key in _item_keys(judge, statement, line):
            by_item.setdefault(key, []).append(line)
    missing: list[str] = []
    if not decomposition.defined:
        missing.append("intermediate variables (one operation each)")
    score = 0
    items = judge.items()
    for kind, label, index in items:
        stated = by_item.get((kind, index), [])
        if not stated:
            if kind != "definition":
                missing.append(label)
            continue
        # a definition stands unless invalid; a number must be right (or carried) everywhere
        fine = ("correct", "carried", "wrong") if kind == "definition" else ("correct", "carried")
        score += all(line.verdict in fine for line in stated)
    max_score = len(items) if decomposition.defined else 3 * len(expression.equations) + len(
        expression.inputs) - 1  # fmt: skip
    source = expression.source if expression.source is not None else str(expression)
    return Report(source, decomposition.output_name, lines, tuple(missing), score, max_score)


def _item_keys(
    judge: Judge, statement: Statement | Unreadable, line: LineVerdict
) -> list[tuple[str, int]]:
    """The items of the sheet's tasks a line answers."""
    if isinstance(statement, Unreadable):
        return []
    if statement.kind == "derivative":
        kind = judge.derivative_kinds[statement.line]
        if isinstance(kind, tuple) and kind[0] == "gradient":
            return [("gradient", kind[2])]
        return []
    target = judge._value_target(statement)
    if isinstance(target, str):
        return []
    keys = []
    if statement.kind == "definition":
        keys.append(("definition", target))
    if statement.value_part is not None:
        keys.append(("value", target))
    return keys
