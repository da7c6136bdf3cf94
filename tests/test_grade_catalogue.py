"""The mistake catalogue beside the op registry: an entry per op, and each slip is named."""

from __future__ import annotations

import math

import pytest

from chainrule import OPS, check, parse
from chainrule.core.backends import ScalarMath
from chainrule.grade.mistakes import CATALOGUE, MISTAKES, RULES, WITHOUT_ENTRY, Slip
from chainrule.grade.passes import Tolerance

# Points where every slip of the op gives a number of its own (a slip equal to the
# right number at a point cannot be told apart there, and is tried at the next point).
POINTS: dict[str, list[tuple[float, ...]]] = {
    "add": [(3, 2)], "sub": [(3, 2)], "mul": [(3, 2)], "div": [(3, 2)], "pow": [(2, 3)],
    "neg": [(2,)], "sqrt": [(9,)], "exp": [(2,)], "log": [(2,)], "abs": [(-2,), (2,)],
    "sigmoid": [(1,)], "tanh": [(0.5,)], "softplus": [(1,)], "relu": [(2,), (-2,)],
    "sin": [(1,)], "cos": [(1,)],
    "max": [(3, 1)], "min": [(1, 3)],
}  # fmt: skip


def test_every_entry_is_an_op_of_the_registry() -> None:
    assert set(CATALOGUE) <= set(OPS)
    for name, entry in CATALOGUE.items():
        assert entry.op == name
        assert len(entry.partials) in (0, OPS[name].arity)


def test_every_op_of_the_registry_has_its_entry_or_says_why_not() -> None:
    for name in OPS:
        assert name in CATALOGUE or WITHOUT_ENTRY.get(name), name
    assert set(WITHOUT_ENTRY).isdisjoint(CATALOGUE)


def test_every_mistake_name_is_described() -> None:
    names = {slip.mistake for entry in CATALOGUE.values()
             for slip in [*entry.forward, *(s for p in entry.partials for s in p)]}  # fmt: skip
    assert names | set(RULES) <= set(MISTAKES)
    for wanted in ["sum-over-consumers", "sign", "quotient-rule", "log-rule", "sqrt-rule",
                   "exp-rule", "power-rule", "max-routing", "min-routing", "upstream",
                   "local-as-gradient", "rounding", "copy"]:  # the list
        assert wanted in MISTAKES


def _expression(op: str) -> tuple[str, str]:
    """(the expression 3·op(x[, y]), the learner's definition of u = op(x[, y]))."""
    names = ["x", "y"][: OPS[op].arity]
    inner = OPS[op].format(names)
    return f"3*({inner})", f"u = {inner}"


def _answers(op: str, point: tuple[float, ...]) -> tuple[str, dict[str, float], dict[str, float]]:
    """A right answer file for 3·op at the point, and its numbers."""
    expression, definition = _expression(op)
    at = dict(zip(["x", "y"], map(float, point), strict=False))
    result = parse(expression).evaluate(at)
    u = result.values[-2]
    partials = OPS[op].partials(ScalarMath, u, *at.values())
    numbers = {"u": u, **{f"∂u/∂{n}": p for n, p in zip(at, partials, strict=False)}}
    lines = [f"{definition} = {u!r}", f"f = 3*u = {3 * u!r}", "∂f/∂u = 3"]
    for name in at:
        lines += [f"∂u/∂{name} = {numbers[f'∂u/∂{name}']!r}",
                  f"∂f/∂{name} = {3 * numbers[f'∂u/∂{name}']!r}"]  # fmt: skip
    return "\n".join(lines) + "\n", at, numbers


def _planted(text: str, prefix: str, value: float) -> str:
    lines = text.splitlines()
    index = next(i for i, line in enumerate(lines) if line.startswith(prefix))
    head = lines[index].rsplit("=", 1)[0]
    lines[index] = f"{head}= {value!r}"
    return "\n".join(lines) + "\n"


def _named(op: str, text: str, at: dict[str, float], line_prefix: str) -> tuple[str, str]:
    report = check(_expression(op)[0], at, text)
    line = next(line for line in report.lines if line.text.startswith(line_prefix))
    return line.verdict, line.mistake or f"(none: {line.message})"


@pytest.mark.parametrize("op", sorted(CATALOGUE))
def test_the_right_answers_of_each_op_are_correct(op: str) -> None:
    for point in POINTS[op]:
        text, at, _ = _answers(op, point)
        report = check(_expression(op)[0], at, text)
        assert {line.verdict for line in report.lines} == {"correct"}, report.to_text()


@pytest.mark.parametrize("op", sorted(CATALOGUE))
def test_each_slip_of_each_op_is_named(op: str) -> None:
    """Plant every slip of the entry in the value, the local derivative and the gradient."""
    entry, close = CATALOGUE[op], Tolerance().close
    tried: set[int] = set()
    for point in POINTS[op]:
        text, at, numbers = _answers(op, point)
        args = list(at.values())
        for slip in entry.forward:
            wrong = slip.value(numbers["u"], args)
            if close(wrong, numbers["u"]):
                continue
            planted = _planted(text, "u =", wrong)
            assert _named(op, planted, at, "u =") == ("wrong", slip.mistake), slip.template
            tried.add(id(slip))
        for name, slips in zip(at, entry.partials, strict=True):
            right = numbers[f"∂u/∂{name}"]
            for slip in slips:
                wrong = slip.value(right, args)
                if close(wrong, right):
                    continue
                local = _planted(text, f"∂u/∂{name} =", wrong)
                assert _named(op, local, at, f"∂u/∂{name}") == ("wrong", slip.mistake), (
                    slip.template
                )
                gradient = _planted(text, f"∂f/∂{name} =", 3 * wrong)
                assert _named(op, gradient, at, f"∂f/∂{name}") == ("wrong", slip.mistake), (
                    slip.template
                )
                tried.add(id(slip))
    every: list[Slip] = [*entry.forward, *(s for p in entry.partials for s in p)]
    assert {id(s) for s in every} == tried, [s.template for s in every if id(s) not in tried]


SHEET_EXAMPLE = r"4(xyz + \max(z, w))"  # the sheet's own example, f(w, x, y, z)
EXAMPLE_RIGHT = """\
a = x·y = 2
b = a·z = 6
c = max(z, w) = 5
d = b + c = 11
e = 4·d = 44
∂e/∂d = 4
∂e/∂c = 4
∂e/∂b = 4
∂e/∂z = ∂e/∂b · ∂b/∂z + ∂e/∂c · ∂c/∂z = (4)(2) + (4)(0) = 8
∂e/∂w = ∂e/∂c · ∂c/∂w = (4)(1) = 4
∂e/∂a = ∂e/∂b · ∂b/∂a = (4)(3) = 12
∂e/∂x = ∂e/∂a · ∂a/∂x = (12)(2) = 24
∂e/∂y = ∂e/∂a · ∂a/∂y = (12)(1) = 12
"""
EXAMPLE_AT = {"w": 5.0, "x": 1.0, "y": 2.0, "z": 3.0}


def test_the_sheets_example_answered_right() -> None:
    report = check(SHEET_EXAMPLE, EXAMPLE_AT, EXAMPLE_RIGHT)
    assert {line.verdict for line in report.lines} == {"correct"}
    assert report.score == report.max_score == 5 + 5 + 4 + 4


@pytest.mark.parametrize(
    ("right", "wrong"),
    [
        ("∂e/∂w = ∂e/∂c · ∂c/∂w = (4)(1) = 4", "∂e/∂w = ∂e/∂c · ∂c/∂w = (4)(0) = 0"),
        ("(4)(2) + (4)(0) = 8", "(4)(2) + (4)(1) = 12"),
    ],
)
def test_max_routing_on_the_sheets_example(right: str, wrong: str) -> None:
    report = check(SHEET_EXAMPLE, EXAMPLE_AT, EXAMPLE_RIGHT.replace(right, wrong))
    line = next(line for line in report.lines if line.verdict == "wrong")
    assert line.mistake == "max-routing", line.message


def test_min_routing() -> None:
    text = "m = min(x, y) = 1\nf = 2*m = 2\n∂f/∂m = 2\n∂f/∂x = 0\n∂f/∂y = 0"
    report = check("2*min(x, y)", {"x": 1, "y": 3}, text)
    assert [line.mistake for line in report.lines if line.verdict == "wrong"] == ["min-routing"]


def test_the_local_derivative_used_as_the_gradient() -> None:
    """∂f/∂x with ∂v/∂u (a local derivative) in place of ∂f/∂u (the gradient)."""
    text = "u = x*y = 2\nv = u*z = 6\nf = v*w = 30\n∂f/∂v = 5\n∂f/∂u = 15\n∂f/∂x = 6"
    report = check("x*y*z*w", {"x": 1, "y": 2, "z": 3, "w": 5}, text)
    line = report.lines[-1]
    assert (line.verdict, line.mistake) == ("wrong", "local-as-gradient"), line.message
    assert "∂v/∂u = 3 in place of ∂f/∂u = 15" in line.message


def test_a_slip_with_a_complex_result_is_undefined_not_a_crash() -> None:
    # pow's swapped operands at x = 0.5, y = -1: (-1) ** 0.5 is complex in Python.
    (slip,) = [s for s in CATALOGUE["pow"].forward if s.mistake == "operand-order"]
    assert math.isnan(slip.value(2.0, [0.5, -1.0]))
    assert slip.value(0.0, [2.0, 3.0]) == 9.0
