"""Properties of ``chainrule check`` over random expressions and points (hypothesis).

1. chainrule's own worked solution (``explain``), read back as an answer file, scores
   full marks;
2. a learner who gets one number wrong and carries on from it: that line is ``wrong``,
   every line whose number changed because of it is ``carried``, the others ``correct``.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from chainrule import OPS, Graph, GraphBuilder, Result, check
from chainrule.core.backends import ScalarMath
from chainrule.grade.decompose import inline
from chainrule.show.explain import explain

# sympy writes the closed forms of these with functions the registry has (no Heaviside, sign)
SMOOTH = ["add", "sub", "mul", "div", "pow", "neg", "sqrt", "exp", "log", "sin", "cos", "tanh"]
ALL = sorted(OPS)


@dataclass
class Exercise:
    graph: Graph
    point: dict[str, float]


def _fine(op_name: str, args: list[float]) -> bool:
    """Inside the domain, away from kinks and ties, and of a size a learner can write."""
    op = OPS[op_name]
    if op.domain is not None and op.domain(*args) is not None:
        return False
    if op.kink is not None and op.kink.at(*args):
        return False
    if op_name == "pow" and args[0] <= 0:
        return False
    try:
        value = op.forward(ScalarMath, *args)
        partials = op.partials(ScalarMath, value, *args)
    except (ValueError, ZeroDivisionError, OverflowError):
        return False
    return all((math.isfinite(v) and 1e-3 < abs(v) < 1e3) or v == 0 for v in [value, *partials])


@st.composite
def exercises(draw: st.DrawFn, ops: list[str], max_ops: int = 6) -> Exercise:
    names = ["a", "b", "c"]
    point = {n: float(draw(st.integers(-4, 4))) for n in names}
    builder = GraphBuilder()
    pool = [(builder.input(n), point[n]) for n in names]
    pool += [(builder.constant(v), v) for v in (2.0, 3.0)]
    last = pool[draw(st.integers(0, 2))]
    count = 0
    for _ in range(draw(st.integers(1, max_ops))):
        op_name = draw(st.sampled_from(ops))
        chosen = [last] + [draw(st.sampled_from(pool)) for _ in range(OPS[op_name].arity - 1)]
        if draw(st.booleans()):
            chosen.reverse()
        args = [value for _, value in chosen]
        if _fine(op_name, args):
            value = OPS[op_name].forward(ScalarMath, *args)
            last = (builder.apply(op_name, *(node for node, _ in chosen)), value)
            pool.append(last)
            count += 1
    assume(count > 0)
    built = builder.build(last[0])
    graph = Graph(built.nodes, built.output, inline(built))
    result = graph.evaluate({n: point[n] for n in graph.inputs})
    assume(not result.warnings)
    assume(all(g is None or abs(g) < 1e4 for g in result.node_grads()))
    return Exercise(graph, {n: point[n] for n in graph.inputs})


def _assert_full_marks(exercise: Exercise, symbolic: bool, markdown: bool = False) -> None:
    result = exercise.graph.evaluate(exercise.point)
    text = explain(result, "markdown", symbolic=symbolic) if markdown else explain(
        result, symbolic=symbolic)  # fmt: skip
    report = check(exercise.graph, exercise.point, text)
    wrong = [(line.text, line.verdict, line.message) for line in report.lines
             if line.verdict != "correct"]  # fmt: skip
    assert wrong == [], text
    assert report.missing == () and report.score == report.max_score
    assert report.exit_status == 0


@pytest.mark.slow
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
@given(exercise=exercises(SMOOTH, max_ops=5))
def test_the_worked_solution_with_closed_forms_scores_full_marks(exercise: Exercise) -> None:
    _assert_full_marks(exercise, symbolic=True)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
@given(exercise=exercises(ALL))
def test_the_worked_solution_scores_full_marks(exercise: Exercise) -> None:
    _assert_full_marks(exercise, symbolic=False)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
@given(exercise=exercises(ALL))
def test_the_markdown_worked_solution_scores_full_marks(exercise: Exercise) -> None:
    _assert_full_marks(exercise, symbolic=False, markdown=True)


@pytest.mark.slow
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
@given(exercise=exercises(SMOOTH, max_ops=5))
def test_the_markdown_worked_solution_with_closed_forms_scores_full_marks(
    exercise: Exercise,
) -> None:
    _assert_full_marks(exercise, symbolic=True, markdown=True)


# ---------------------------------------------------------------- one number changed


def _forward(graph: Graph, values: list[float], start: int) -> None:
    for index in range(start, len(graph.nodes)):
        node = graph.nodes[index]
        if node.op is not None:
            values[index] = float(node.op.forward(ScalarMath, *(values[a] for a in node.args)))


def _backward(graph: Graph, values: list[float], grads: list[float | None], below: int) -> None:
    """Gradients of the nodes before ``below`` from those after (the learner's chain rule)."""
    for index in range(below - 1, -1, -1):
        if graph.nodes[index].kind == "constant":
            continue
        total = 0.0
        for consumer in graph.consumers[index]:
            node = graph.nodes[consumer]
            assert node.op is not None
            partials = node.op.partials(ScalarMath, values[consumer],
                                        *(values[a] for a in node.args))  # fmt: skip
            upstream = grads[consumer]
            assert upstream is not None
            total += upstream * sum(p for a, p in zip(node.args, partials, strict=True)
                                    if a == index)  # fmt: skip
        grads[index] = total


def _learner(exercise: Exercise, index: int, forward: bool) -> tuple[Result, str]:
    """The worked solution of a learner whose value (or gradient) of node ``index`` is off."""
    graph = exercise.graph
    true = graph.evaluate(exercise.point)
    values = [float(v) for v in true.values]
    grads: list[float | None] = [None if g is None else float(g) for g in true.node_grads()]
    if forward:
        values[index] = values[index] * 1.5 + 1.25
        try:
            _forward(graph, values, index + 1)
            grads = [None] * len(values)
            grads[graph.output] = 1.0
            _backward(graph, values, grads, graph.output)
        except (ValueError, ZeroDivisionError, OverflowError):
            assume(False)
        name = graph.nodes[index].name
    else:
        grads[index] = (grads[index] or 0.0) * 1.5 + 1.25
        _backward(graph, values, grads, index)
        name = f"∂{graph.nodes[graph.output].name}/∂{graph.nodes[index].name}"
    numbers = [*values, *(g for g in grads if g is not None)]
    assume(all(math.isfinite(v) and abs(v) < 1e4 for v in numbers))
    assume(_well_conditioned(graph, values))
    return Result(graph, values, grads, []), name


def _rounded(value: float) -> float:
    return float(f"{value:.6g}")  # as the worked solution prints it


def _well_conditioned(graph: Graph, values: list[float]) -> bool:
    """Whether the printed (6-digit) numbers give every value and local derivative to 1e-4:
    the learner's numbers as written must determine what follows from them (sin(1408.1)
    from a rounded 1408.10... does not)."""
    for index, node in enumerate(graph.nodes):
        if node.op is None:
            continue
        exact = [values[a] for a in node.args]
        shown = [_rounded(v) for v in exact]
        try:
            pairs = [(node.op.forward(ScalarMath, *exact), node.op.forward(ScalarMath, *shown))]
            pairs += zip(node.op.partials(ScalarMath, values[index], *exact),
                         node.op.partials(ScalarMath, _rounded(values[index]), *shown),
                         strict=True)  # fmt: skip
        except (ValueError, ZeroDivisionError, OverflowError):
            return False
        if any(abs(a - b) > 1e-4 * max(abs(a), 1e-3) for a, b in pairs):
            return False
    return True


_LAST_NUMBER = re.compile(r"=\s*(−?[\d.]+(?:e[−+]\d+)?)\s*$")


def _last_number(line: str) -> float | None:
    match = _LAST_NUMBER.search(line)
    return None if match is None else float(match[1].replace("−", "-"))


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
@given(exercise=exercises(ALL), data=st.data())
def test_one_number_changed_gives_one_wrong_and_its_dependents_carried(
    exercise: Exercise, data: st.DataObject
) -> None:
    graph = exercise.graph
    forward = data.draw(st.booleans())
    candidates = [i for i, n in enumerate(graph.nodes)
                  if n.op is not None and (forward or i != graph.output)]  # fmt: skip
    assume(candidates)
    index = data.draw(st.sampled_from(candidates))
    learner, name = _learner(exercise, index, forward)
    before = explain(graph.evaluate(exercise.point), symbolic=False).splitlines()
    after = explain(learner, symbolic=False).splitlines()
    report = check(graph, exercise.point, "\n".join(after))
    start = _heading(after, "2. " if forward else "4. ")
    end = _heading(after, "5. ")  # sections 1-4 are laid out alike; then tables and checks
    assert len(before) >= end and before[end].startswith("5. ")
    tampered = next(i + 1 for i in range(start, end) if after[i].strip().startswith(f"{name} = "))
    for line in report.lines:
        assert line.line <= end, line  # nothing after the backward pass is a statement
        old, new = _last_number(before[line.line - 1]), _last_number(after[line.line - 1])
        if line.line == tampered:
            assert line.verdict == "wrong", (line, "\n".join(after))
        elif before[line.line - 1] == after[line.line - 1]:
            assert line.verdict == "correct", (line, "\n".join(after))
        elif old is not None and new is not None and abs(new - old) > 1e-2 * max(abs(old), 1):
            assert line.verdict == "carried", (line, "\n".join(after))


def _heading(lines: list[str], prefix: str) -> int:
    return next(i for i, line in enumerate(lines) if line.startswith(prefix))


# ---------------------------------------------------------------- any text at all

_PIECES = ["p", "q", "A", "a", "b", "c", "d", "e", "=", "=", " = ", "∂", "∂A/∂", "d", "/", "·", "*",
           "−", "-", "+", "√", "²", "(", ")", "(", "2", "-7", "0", "1e400", "0.5", "log(", "max(",
           ",", "#", "\\frac{", "}", "\\cdot", " ", "\n", "\n", "Heaviside(", ":", "exp^{", "x"]


@settings(max_examples=300, deadline=None)
@given(text=st.lists(st.sampled_from(_PIECES), max_size=60).map("".join))
def test_any_text_gets_verdicts_never_a_traceback(text: str) -> None:
    report = check("(a - b*c)*d", {"a": 2, "b": -7, "c": 4, "d": 1}, text)
    assert report.exit_status in (0, 1, 2)
    assert report.to_json() and report.to_text() and report.to_markdown()
    for line in report.lines:
        assert line.verdict in ("correct", "carried", "wrong", "invalid")
        assert line.unreadable == (line.column is not None)
