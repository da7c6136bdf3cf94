r"""Judging each line against the truth and against the learner's own earlier numbers.

A number that matches the truth is ``correct``; one that matches only what
follows from the learner's own numbers is ``carried`` (an earlier mistake, none
new); one that matches neither is ``wrong``, and :mod:`chainrule.grade.diagnose`
says which mistake of the catalogue it is.

>>> from chainrule.grade import check
>>> report = check("(a - b*c)*d", {"a": 2, "b": -7, "c": 4, "d": 1},
...                "p = b*c = 28\nq = a - p = -26\nA = q*d = -26")
>>> [(line.name, line.verdict) for line in report.lines]
[('p', 'wrong'), ('q', 'carried'), ('A', 'carried')]
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace

from chainrule.core.graph import Graph
from chainrule.grade import diagnose
from chainrule.grade.decompose import Decomposition
from chainrule.grade.passes import Facts, Tolerance
from chainrule.grade.statements import Skipped, Statement, Unreadable
from chainrule.grade.verdicts import LineKind, LineVerdict, Report, Verdict


class Judge(Facts):
    """The verdict on each line of one answer file."""

    def verdict(self, given: float, expected: float, from_yours: float) -> Verdict:
        if self.tolerance.close(given, expected):
            return "correct"
        if self.tolerance.close(given, from_yours):
            return "carried"
        return "wrong"

    def judge(self, statement: Statement | Unreadable) -> LineVerdict:
        if isinstance(statement, Unreadable):
            return LineVerdict(
                statement.line, statement.text, statement.kind, statement.name, "invalid",
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


def _replace(line: LineVerdict, **changes: object) -> LineVerdict:
    return replace(line, **changes)  # type: ignore[arg-type]


def grade(
    expression: Graph,
    decomposition: Decomposition,
    everything: Sequence[Statement | Unreadable | Skipped],
    at: Mapping[str, float],
    tolerance: Tolerance,
) -> Report:
    """Judge every line, then list what is missing and count the score."""
    judge = Judge(decomposition, everything, at, tolerance)
    statements = [s for s in everything if not isinstance(s, Skipped)]
    skipped = tuple((s.line, s.text, s.why) for s in everything if isinstance(s, Skipped))
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
    return Report(
        source, decomposition.output_name, lines, tuple(missing), score, max_score, skipped
    )


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
