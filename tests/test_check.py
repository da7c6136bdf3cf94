"""``chainrule check`` on the sheet's A, B and C: planted mistakes, carried errors, the CLI."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

import chainrule
from chainrule import check
from chainrule.cli import main
from chainrule.grade import Report
from chainrule.sheet import SHEET_EXPRESSIONS, SHEET_VALUES
from chainrule.show.explain import explain

# The sheet's A, B and C answered right, in a learner's own variable names.
A_RIGHT = """\
# A = (a - b*c)*d
p = b·c = (−7)(4) = −28
q = a − p = 2 − (−28) = 30
A = q·d = (30)(1) = 30
∂A/∂A = 1
∂A/∂q = d = 1
∂A/∂d = q = 30
∂A/∂p = ∂A/∂q · ∂q/∂p = (1)(−1) = −1
∂A/∂a = ∂A/∂q · ∂q/∂a = (1)(1) = 1
∂A/∂b = ∂A/∂p · ∂p/∂b = (−1)(4) = −4
∂A/∂c = ∂A/∂p · ∂p/∂c = (−1)(−7) = 7
"""

B_RIGHT = """\
s = a + b = 2 + (−7) = −5
t = c³ = 64
u = s + t = 59
r = √u = √59 = 7.68115
w = a/d = 2
l = ln(w) = 0.693147
B = r + l = 8.37429
∂B/∂r = 1
∂B/∂l = 1
∂B/∂w = ∂B/∂l · ∂l/∂w = (1)(0.5) = 0.5
∂B/∂d = ∂B/∂w · ∂w/∂d = (0.5)(−2) = −1
∂B/∂u = ∂B/∂r · ∂r/∂u = 1/(2·7.68115) = 0.0650945
∂B/∂t = 0.0650945
∂B/∂s = 0.0650945
∂B/∂c = ∂B/∂t · ∂t/∂c = (0.0650945)(48) = 3.12453
∂B/∂b = 0.0650945
∂B/∂a = ∂B/∂s · ∂s/∂a + ∂B/∂w · ∂w/∂a = (0.0650945)(1) + (0.5)(1) = 0.565094
"""

C_RIGHT = """\
s = a + b = −5
t = s × c = (−5)(4) = −20
e = exp(t) = 2.06115e−9
C = d − e = 1
∂C/∂e = −1
∂C/∂d = 1
∂C/∂t = ∂C/∂e · ∂e/∂t = (−1)(2.06115e−9) = −2.06115e−9
∂C/∂s = ∂C/∂t · ∂t/∂s = (−2.06115e−9)(4) = −8.24461e−9
∂C/∂c = ∂C/∂t · ∂t/∂c = (−2.06115e−9)(−5) = 1.03058e−8
∂C/∂a = −8.24461e−9
∂C/∂b = −8.24461e−9
"""

RIGHT = {"A": A_RIGHT, "B": B_RIGHT, "C": C_RIGHT}


def graded(key: str, text: str) -> Report:
    return check(SHEET_EXPRESSIONS[key], SHEET_VALUES, text)


def replaced(key: str, old: str, new: str) -> str:
    text = RIGHT[key]
    assert text.count(old) == 1, old
    return text.replace(old, new)


def verdicts(report: Report) -> dict[str, str]:
    return {line.text.split("=")[0].strip(): line.verdict for line in report.lines}


def only_line(report: Report, verdict: str) -> chainrule.grade.LineVerdict:
    lines = [line for line in report.lines if line.verdict == verdict]
    assert len(lines) == 1, [(line.text, line.verdict) for line in report.lines]
    return lines[0]


@pytest.mark.parametrize("key", ["A", "B", "C"])
def test_the_right_answers_score_full_marks(key: str) -> None:
    report = graded(key, RIGHT[key])
    assert [line for line in report.lines if line.verdict != "correct"] == []
    assert report.missing == ()
    assert report.score == report.max_score == {"A": 12, "B": 24, "C": 15}[key]
    assert report.exit_status == 0


@pytest.mark.parametrize("key", ["A", "B", "C"])
@pytest.mark.parametrize("form", ["text", "markdown"])
def test_the_worked_solution_of_explain_scores_full_marks(key: str, form: str) -> None:
    expression = SHEET_EXPRESSIONS[key]
    text = explain(chainrule.parse(expression).evaluate(SHEET_VALUES), form)  # type: ignore[arg-type]
    report = check(expression, SHEET_VALUES, text)
    assert {line.verdict for line in report.lines} == {"correct"}
    assert report.score == report.max_score and report.exit_status == 0
    assert len(report.lines) >= 2 * report.max_score - 8  # every equation was read


def test_sympys_max_of_three_arguments_is_not_graded_rather_than_unreadable() -> None:
    """sympy merges max(max(a, b), c) into Max(a, b, c) in the worked solution's closed forms."""
    graph = chainrule.parse("max(max(a, b), c)*a")
    text = explain(graph.evaluate(a=3, b=1, c=2))
    assert "Max(a, b, c)" in text
    report = check("max(max(a, b), c)*a", {"a": 3, "b": 1, "c": 2}, text)
    assert report.score == report.max_score and report.exit_status == 0
    assert any("Max(a, b, c)" in line for _, line, _ in report.skipped)
    alone = check("max(max(a, b), c)", {"a": 3, "b": 1, "c": 2},
                  "v1 = max(a, b)\nv2 = max(v1, c)\n∂v2/∂a = Max(a, b, c) - 2")
    assert [why for _, _, why in alone.skipped] == [
        "not graded: max of 3 arguments (chainrule's max takes 2)"]


# (sheet expression, {right line: the learner's line}, the mistake named, the carried lines):
# the first replacement is the mistake, the others what a learner carrying on from it writes.
PLANTED = [
    # the sign of d(x - y)/dy; the two gradients computed from it are carried
    ("A", {"∂A/∂p = ∂A/∂q · ∂q/∂p = (1)(−1) = −1": "∂A/∂p = ∂A/∂q · ∂q/∂p = (1)(1) = 1",
           "∂A/∂b = ∂A/∂p · ∂p/∂b = (−1)(4) = −4": "∂A/∂b = ∂A/∂p · ∂p/∂b = (1)(4) = 4",
           "∂A/∂c = ∂A/∂p · ∂p/∂c = (−1)(−7) = 7": "∂A/∂c = ∂A/∂p · ∂p/∂c = (1)(−7) = −7"},
     "sign", 2),
    # the sign of a negative number lost in a forward value
    ("A", {"q = a − p = 2 − (−28) = 30": "q = a − p = 2 − 28 = −26",
           "A = q·d = (30)(1) = 30": "A = q·d = (−26)(1) = −26",
           "∂A/∂d = q = 30": "∂A/∂d = q = −26"}, "sign", 2),
    # the product rule: the factor itself instead of the other factor
    ("A", {"∂A/∂b = ∂A/∂p · ∂p/∂b = (−1)(4) = −4": "∂A/∂b = ∂A/∂p · ∂p/∂b = (−1)(−7) = 7"},
     "product-rule", 0),
    # the local derivative alone, not multiplied by the upstream gradient
    ("A", {"∂A/∂b = ∂A/∂p · ∂p/∂b = (−1)(4) = −4": "∂A/∂b = ∂p/∂b = 4"}, "upstream", 0),
    # a value substituted from the wrong line
    ("A", {"q = a − p = 2 − (−28) = 30": "q = a − p = 2 − (−7) = 9",
           "A = q·d = (30)(1) = 30": "A = q·d = 9", "∂A/∂d = q = 30": "∂A/∂d = q = 9"},
     "copy", 2),
    # added instead of multiplied
    ("A", {"p = b·c = (−7)(4) = −28": "p = b·c = −3", "q = a − p = 2 − (−28) = 30": "q = a − p = 5",
           "A = q·d = (30)(1) = 30": "A = q·d = 5", "∂A/∂d = q = 30": "∂A/∂d = 5"},
     "wrong-operation", 3),
    # x - y computed as y - x
    ("A", {"q = a − p = 2 − (−28) = 30": "q = a − p = −30"}, "operand-order", 0),
    # the sum over consumers: a feeds s and w
    ("B", {"∂B/∂a = ∂B/∂s · ∂s/∂a + ∂B/∂w · ∂w/∂a = (0.0650945)(1) + (0.5)(1) = 0.565094":
           "∂B/∂a = ∂B/∂s · ∂s/∂a = 0.0650945"}, "sum-over-consumers", 0),
    # d sqrt(x) = 1/(2 sqrt x): the 1/2 forgotten; t, s, c, b, a follow from it
    ("B", {"∂B/∂u = ∂B/∂r · ∂r/∂u = 1/(2·7.68115) = 0.0650945": "∂B/∂u = 1/√59 = 0.130189",
           "∂B/∂t = 0.0650945": "∂B/∂t = 0.130189", "∂B/∂s = 0.0650945": "∂B/∂s = 0.130189",
           "(0.0650945)(48) = 3.12453": "(0.130189)(48) = 6.24907",
           "∂B/∂b = 0.0650945": "∂B/∂b = 0.130189",
           "(0.0650945)(1) + (0.5)(1) = 0.565094": "(0.130189)(1) + (0.5)(1) = 0.630189"},
     "sqrt-rule", 5),
    # d log x = 1/x
    ("B", {"∂B/∂w = ∂B/∂l · ∂l/∂w = (1)(0.5) = 0.5":
           "∂B/∂w = ∂B/∂l · ∂l/∂w = (1)(0.693147) = 0.693147",
           "∂B/∂d = ∂B/∂w · ∂w/∂d = (0.5)(−2) = −1": "∂B/∂d = (0.693147)(−2) = −1.38629"},
     "log-rule", 1),
    # the quotient rule's minus sign
    ("B", {"∂B/∂d = ∂B/∂w · ∂w/∂d = (0.5)(−2) = −1": "∂B/∂d = ∂B/∂w · ∂w/∂d = (0.5)(2) = 1"},
     "quotient-rule", 0),
    # the power rule: c^2 for d c^3 / dc
    ("B", {"∂B/∂c = ∂B/∂t · ∂t/∂c = (0.0650945)(48) = 3.12453":
           "∂B/∂c = ∂B/∂t · ∂t/∂c = (0.0650945)(16) = 1.04151"}, "power-rule", 0),
    # log10 in place of the natural logarithm
    ("B", {"l = ln(w) = 0.693147": "l = ln(w) = 0.30103",
           "B = r + l = 8.37429": "B = r + l = 7.98218"},
     "log-base", 1),
    # right to 2 significant digits only
    ("B", {"r = √u = √59 = 7.68115": "r = √u = √59 = 7.7",
           "B = r + l = 8.37429": "B = r + l = 8.39315"},
     "rounding", 1),
    # the upstream gradient passed on unchanged (a copied value)
    ("B", {"∂B/∂w = ∂B/∂l · ∂l/∂w = (1)(0.5) = 0.5": "∂B/∂w = 1",
           "∂B/∂d = ∂B/∂w · ∂w/∂d = (0.5)(−2) = −1": "∂B/∂d = (1)(−2) = −2",
           "(0.0650945)(1) + (0.5)(1) = 0.565094": "(0.0650945)(1) + (1)(1) = 1.06509"},
     "copy", 2),
    # a sum's derivative: the other term instead of 1 (s feeds u = s + t)
    ("B", {"∂B/∂s = 0.0650945": "∂B/∂s = ∂B/∂u · ∂u/∂s = (0.0650945)(64) = 4.16605",
           "∂B/∂b = 0.0650945": "∂B/∂b = 4.16605",
           "(0.0650945)(1) + (0.5)(1) = 0.565094": "(4.16605)(1) + (0.5)(1) = 4.66605"},
     "sum-rule", 2),
    ("C", {"∂C/∂a = −8.24461e−9": "∂C/∂a = ∂C/∂s · ∂s/∂a = (−8.24461e−9)(−7) = 5.77123e−8"},
     "sum-rule", 0),
    # d e^x = e^x, not 1
    ("C", {"∂C/∂t = ∂C/∂e · ∂e/∂t = (−1)(2.06115e−9) = −2.06115e−9":
           "∂C/∂t = ∂C/∂e · ∂e/∂t = (−1)(1) = −1",
           "∂C/∂s = ∂C/∂t · ∂t/∂s = (−2.06115e−9)(4) = −8.24461e−9": "∂C/∂s = −4",
           "∂C/∂c = ∂C/∂t · ∂t/∂c = (−2.06115e−9)(−5) = 1.03058e−8": "∂C/∂c = 5",
           "∂C/∂a = −8.24461e−9": "∂C/∂a = −4", "∂C/∂b = −8.24461e−9": "∂C/∂b = −4"},
     "exp-rule", 4),
    # the sign of d(d - e)/de
    ("C", {"∂C/∂e = −1": "∂C/∂e = 1",
           "(−1)(2.06115e−9) = −2.06115e−9": "(1)(2.06115e−9) = 2.06115e−9"}, "sign", 1),
    # the product rule in C
    ("C", {"∂C/∂s = ∂C/∂t · ∂t/∂s = (−2.06115e−9)(4) = −8.24461e−9":
           "∂C/∂s = ∂C/∂t · ∂t/∂s = (−2.06115e−9)(−5) = 1.03058e−8",
           "∂C/∂a = −8.24461e−9": "∂C/∂a = 1.03058e−8",
           "∂C/∂b = −8.24461e−9": "∂C/∂b = 1.03058e−8"},
     "product-rule", 2),
]  # fmt: skip


@pytest.mark.parametrize(("key", "changes", "mistake", "carried"), PLANTED)
def test_a_planted_mistake_is_named_and_what_follows_is_carried(
    key: str, changes: dict[str, str], mistake: str, carried: int
) -> None:
    text = RIGHT[key]
    for old, new in changes.items():
        assert text.count(old) == 1, old
        text = text.replace(old, new)
    report = graded(key, text)
    wrong_line = only_line(report, "wrong")
    assert wrong_line.text == next(iter(changes.values()))
    assert wrong_line.mistake == mistake, wrong_line.message
    assert [line.verdict for line in report.lines].count("carried") == carried, [
        (line.text, line.verdict, line.message) for line in report.lines
    ]
    assert {line.verdict for line in report.lines} <= {"correct", "carried", "wrong"}
    assert report.exit_status == 1
    assert report.score == report.max_score - 1


def test_carried_lines_name_the_earlier_mistake() -> None:
    text = replaced("A", "p = b·c = (−7)(4) = −28", "p = b·c = 28")
    text = text.replace("q = a − p = 2 − (−28) = 30", "q = a − p = 2 − 28 = −26")
    text = text.replace("A = q·d = (30)(1) = 30", "A = q·d = −26")
    report = graded("A", text)
    by_name = {line.name: line for line in report.lines}
    assert by_name["p"].verdict == "wrong" and by_name["p"].mistake == "sign"
    assert by_name["q"].verdict == "carried"
    assert "your p = 28" in by_name["q"].message and "true value is 30" in by_name["q"].message
    assert by_name["A"].verdict == "carried"
    assert by_name["A"].expected == 30 and by_name["A"].expected_from_yours == -26


def test_a_right_number_after_a_wrong_one_is_correct() -> None:
    text = replaced("A", "p = b·c = (−7)(4) = −28", "p = b·c = 28")
    assert verdicts(graded("A", text))["q"] == "correct"  # 30 is the truth, whatever p was


def test_a_missing_gradient_is_listed() -> None:
    text = replaced("A", "∂A/∂d = q = 30\n", "")
    report = graded("A", text)
    assert report.missing == ("∂A/∂d",)
    assert report.score == report.max_score - 1 and report.exit_status == 1


def test_missing_values_and_variables() -> None:
    report = graded("A", "p = b*c\nq = a - p\nA = q*d\n")
    assert report.missing[:3] == ("value of p", "value of q", "value of A")
    assert "∂A/∂a" in report.missing
    assert graded("A", "∂f/∂a = 1").missing[0] == "intermediate variables (one operation each)"


@pytest.mark.parametrize(
    ("text", "line", "says"),
    [
        ("q = a - b*c\nA = q*d", 1, "two operations: split `a - b*c`"),
        ("p = b*c\nA = q*d\nq = a - p", 2, "`q` is used before it is defined"),
        ("p = b*c\nq = a - p\nA = q*x", 3, "`x` is neither an input"),
        ("p = a - b\nq = p*c\nA = q*d", 1, "your variables compute (a - b)*c*d, not the "
         "expression (a - b*c)*d: they differ at"),
        ("p = b*c\nq = a - p\nA = q*d\nr = a + b", 4, "`r` is never used"),
        ("p = b*c\nq = a - p\nA = q*d\np = b + c", 4, "`p` is already defined on line 1"),
        ("p = b*c\nq = a - p\nA = q*d\nb = 3*c", 4, "`b` is an input of the expression"),
    ],
)
def test_a_decomposition_that_does_not_hold_is_invalid(text: str, line: int, says: str) -> None:
    report = check("(a - b*c)*d", SHEET_VALUES, text)
    invalid = [v for v in report.lines if v.verdict == "invalid"]
    assert [v.line for v in invalid] == [line], [(v.line, v.message) for v in report.lines]
    assert says in invalid[0].message
    assert report.exit_status == 1


def test_reordered_commutative_operations_and_regrouping_are_fine() -> None:
    text = "t = c^3\ns = b + t\nu = a + s\nr = sqrt(u)\nw = a/d\nl = log(w)\nB = l + r"
    report = graded("B", text)
    assert {line.verdict for line in report.lines} == {"correct"}


def test_the_output_may_be_named_only_in_the_gradients() -> None:
    text = "v1 = b*c = -28\nv2 = a - v1 = 30\nv3 = v2*d = 30\n∂A/∂v2 = d = 1\n∂A/∂a = 1"
    report = check("(a - b*c)*d", SHEET_VALUES, text)
    assert report.output == "A"
    assert {line.verdict for line in report.lines} == {"correct"}


def test_local_derivatives_are_judged_from_the_learners_values() -> None:
    text = B_RIGHT + "∂r/∂u = 1/(2√u) = 0.0650945\n∂l/∂w = 0.693147\n∂w/∂d = 2\n"
    lines = {line.name: line for line in graded("B", text).lines}
    assert lines["∂r/∂u"].kind == "local" and lines["∂r/∂u"].verdict == "correct"
    assert lines["∂l/∂w"].verdict == "wrong" and lines["∂l/∂w"].mistake == "log-rule"
    assert lines["∂w/∂d"].verdict == "wrong" and lines["∂w/∂d"].mistake == "quotient-rule"


def test_a_line_that_cannot_be_read_has_a_caret_and_hides_nothing() -> None:
    text = replaced("A", "∂A/∂d = q = 30", "∂A/∂d = q = (30")
    text = text.replace("∂A/∂p = ∂A/∂q · ∂q/∂p = (1)(−1) = −1", "∂A/∂p = 1")
    report = graded("A", text)
    bad = next(line for line in report.lines if line.verdict == "invalid")
    assert bad.line == 7 and bad.column == 13 and "'(' is never closed" in bad.message
    assert (bad.kind, bad.name) == ("gradient", "∂A/∂d")  # what the line seems to state
    assert report.exit_status == 2
    assert verdicts(report)["∂A/∂p"] == "wrong"  # the others are still judged
    shown = report.to_text().splitlines()
    row = next(i for i, line in enumerate(shown) if "∂A/∂d = q = (30" in line)
    assert shown[row + 1].index("^") == shown[row].index("(30")


@pytest.mark.parametrize(
    "text",
    ["p b*c = 3 = ", "= 4", "p + q = 3", "p = b*c = 3 $", "∂A/∂ = 3", "p = sqrt(", "p = 1e999"],
)
def test_unreadable_lines_are_invalid_with_a_column(text: str) -> None:
    report = check("(a - b*c)*d", SHEET_VALUES, text)
    assert report.lines[0].verdict == "invalid" and report.lines[0].column is not None
    assert report.exit_status == 2


def test_json_has_exactly_the_documented_keys() -> None:
    document = json.loads(graded("A", replaced("A", "∂A/∂p = ∂A/∂q · ∂q/∂p = (1)(−1) = −1",
                                                 "∂A/∂p = 1")).to_json())  # fmt: skip
    assert list(document) == ["expression", "output", "score", "max_score", "lines", "missing"]
    assert list(document["lines"][0]) == [
        "line", "text", "kind", "name", "verdict", "given", "expected",
        "expected_from_yours", "mistake", "message",
    ]  # fmt: skip
    wrong = next(line for line in document["lines"] if line["verdict"] == "wrong")
    assert wrong["mistake"] == "sign" and wrong["kind"] == "gradient" and wrong["line"] == 8
    assert wrong["given"] == 1.0 and wrong["expected"] == -1.0


def test_json_writes_a_number_that_cannot_be_computed_as_every_json_document_does() -> None:
    # From the learner's v1 = -2, log(v1) has no value: "nan", as in graph --format json.
    report = check("log(a - b)", {"a": 3, "b": 1}, "v1 = a - b = -2\nv2 = log(v1) = 0.693")
    second = json.loads(report.to_json())["lines"][1]
    assert second["expected_from_yours"] == "nan" and second["verdict"] == "correct"
    assert second["expected"] == pytest.approx(math.log(2))


def test_text_and_markdown_show_marks_messages_missing_and_score() -> None:
    report = graded("A", replaced("A", "∂A/∂d = q = 30\n", "∂A/∂p = 1\n"))
    text, markdown = report.to_text(), report.to_markdown()
    assert "  ✗   7  ∂A/∂p = 1" in text and "missing: ∂A/∂d" in text and "score: 10/12" in text
    assert "| ✗ | 7 | `∂A/∂p = 1` | **sign**:" in markdown and "**score:** 10/12" in markdown
    bundle = report._repr_mimebundle_()
    assert bundle["text/markdown"] == markdown and bundle["text/plain"] == text


def test_the_api_is_light_and_lazy() -> None:
    import subprocess
    import sys

    code = "import sys, chainrule; print('chainrule.grade' in sys.modules, 'sympy' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


# ---------------------------------------------------------------- the command line


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    status = main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


def answers(tmp_path: Path, text: str) -> str:
    path = tmp_path / "answers.txt"
    path.write_text(text, encoding="utf-8")
    return str(path)


AT = "a=2,b=-7,c=4,d=1"


def test_cli_exit_0_when_all_is_right(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run(capsys, "check", "(a - b*c)*d", "--at", AT, answers(tmp_path, A_RIGHT))
    assert status == 0 and "score: 12/12" in out


def test_cli_exit_1_on_a_wrong_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = answers(tmp_path, A_RIGHT.replace("= (1)(−1) = −1", "= (1)(1) = 1"))
    status, out, _ = run(capsys, "check", "(a - b*c)*d", "--at", AT, path, "--format", "json")
    assert status == 1 and json.loads(out)["score"] == 11


def test_cli_exit_1_on_a_missing_item(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = answers(tmp_path, A_RIGHT.replace("∂A/∂d = q = 30\n", ""))
    status, out, _ = run(capsys, "check", "(a - b*c)*d", path, "--at", AT, "--format", "markdown")
    assert status == 1 and "**missing:** ∂A/∂d" in out


def test_cli_exit_2_on_a_line_that_cannot_be_read_still_prints_the_rest(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = answers(tmp_path, A_RIGHT.replace("∂A/∂d = q = 30", "∂A/∂d = q = 30)"))
    status, out, err = run(capsys, "check", "(a - b*c)*d", "--at", AT, path)
    assert status == 2
    first, text, caret = err.splitlines()
    assert first == "error: line 7: cannot read this line: unmatched ')' at column 15"
    assert text == "  ∂A/∂d = q = 30)" and caret.index("^") == text.index(")")
    assert out.count("✓") == 9


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["(a - b*c", "--at", AT], "error: '(' is never closed at column 1"),
        (["(a - b*c)*d", "--at", "a=2"], "error: no value given for b, c, d (--at)"),
        (["(a - b*c)*d"], "error: check: --at is needed"),
        (["(a - b*c)*d", "--at", "a=x"], "error: --at: 'x' is not a number (for a)"),
        (["--id", "3", "(a - b*c)*d", "--at", AT], "error: check: --id goes with --key"),
    ],
)
def test_cli_exit_2_on_unusable_input(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str], says: str
) -> None:
    status, out, err = run(capsys, "check", *argv, answers(tmp_path, A_RIGHT))
    assert status == 2 and out == ""
    assert err.splitlines()[0].startswith(says), err


def test_cli_unreadable_answer_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status, _, err = run(capsys, "check", "x", "--at", "x=1", str(tmp_path / "nope.txt"))
    assert status == 2 and "cannot read the answer file" in err
    (tmp_path / "binary.txt").write_bytes(b"\xff\xfe\x00")
    status, _, err = run(capsys, "check", "x", "--at", "x=1", str(tmp_path / "binary.txt"))
    assert status == 2 and "not UTF-8" in err


def key_file(tmp_path: Path) -> str:
    entries = [
        {"id": 1, "seed": 7, "expression": "x*y", "latex": "x y", "at": {"x": 3, "y": 5},
         "value": 15.0, "gradients": {"x": 5.0, "y": 3.0}, "steps": []},
        {"id": 3, "seed": 7, "expression": SHEET_EXPRESSIONS["A"], "latex": "",
         "at": {"a": 2, "b": -7, "c": 4, "d": 1}, "value": 30.0, "gradients": {}, "steps": []},
    ]  # fmt: skip
    path = tmp_path / "key.json"
    path.write_text(json.dumps(entries), encoding="utf-8")
    return str(path)


def test_cli_grades_against_a_key(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    key = key_file(tmp_path)
    status, out, _ = run(capsys, "check", "--key", key, "--id", "3", answers(tmp_path, A_RIGHT))
    assert status == 0 and "score: 12/12" in out
    status, out, _ = run(capsys, "check", "--key", key, "--id", "1",
                         answers(tmp_path, "p = x*y = 15\n∂p/∂x = 5\n∂p/∂y = 4"))  # fmt: skip
    assert status == 1 and "score: 3/4" in out


@pytest.mark.parametrize(
    ("content", "id", "says"),
    [
        (None, "3", "cannot read the key file"),
        ("[{", "3", "not JSON"),
        ('{"id": 3}', "3", "a key file is a JSON list"),
        ('[{"id": 3, "expression": "x"}]', "4", "has no exercise with id 4 (its ids: 3)"),
        ('[{"id": 3, "at": {"x": 1}}]', "3", "exercise 3 has no 'expression'"),
        ('[{"id": 3, "expression": "x", "at": {"x": "one"}}]', "3", "is not a number"),
        ('[{"id": 3, "expression": "x"}]', None, "--key needs --id"),
    ],
)
def test_cli_a_bad_key_file_or_id_is_a_one_line_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str | None, id: str | None,
    says: str,
) -> None:
    key = tmp_path / "key.json"
    if content is not None:
        key.write_text(content, encoding="utf-8")
    argv = ["check", "--key", str(key), *(["--id", id] if id else []), answers(tmp_path, "x = 1")]
    status, out, err = run(capsys, *argv)
    assert status == 2 and out == ""
    assert len(err.strip().splitlines()) == 1 and says in err, err


def test_the_readme_example_is_what_check_prints(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    readme = (Path(__file__).parents[1] / "README.md").read_text(encoding="utf-8")
    block = readme.split("$ cat answers.txt\n", 1)[1].split("```", 1)[0]
    command = '$ chainrule check "(a - b*c)*d" --at a=2,b=-7,c=4,d=1 answers.txt\n'
    given, shown = block.split(command)
    status, out, _ = run(capsys, "check", "(a - b*c)*d", "--at", AT, answers(tmp_path, given))
    assert status == 1 and out == shown


def test_a_derivative_of_an_intermediate_by_a_non_argument_is_not_the_output() -> None:
    report = check("(a - b*c)*d", SHEET_VALUES, A_RIGHT + "∂q/∂b = -4\n∂x/∂a = 1\n")
    assert report.output == "A"
    by_line = {line.name: line for line in report.lines}
    assert by_line["∂q/∂b"].verdict == "invalid" and "no argument of q" in by_line["∂q/∂b"].message
    assert by_line["∂x/∂a"].verdict == "invalid"


def test_right_factors_multiplied_wrong_is_an_arithmetic_slip() -> None:
    text = replaced("A", "(−1)(−7) = 7", "(−1)(−7) = −7")
    line = only_line(graded("A", text), "wrong")
    assert line.mistake == "sign" and line.message == "(-1)*(-7) is 7, not −7"


@pytest.mark.slow
def test_the_longest_answer_file_in_any_order_is_graded() -> None:
    """5,000 definitions written backwards: a topological sort, not a search per line."""
    backwards = "\n".join(f"p{i} = p{i + 1} + 1" for i in range(4998)) + "\np4998 = x*y"
    report = check("x*y + 4998", {"x": 1, "y": 2}, backwards)
    assert len(report.lines) == 4999
    assert [line.verdict for line in report.lines].count("invalid") == 4998  # used before defined
    assert report.output == "p0" and report.max_score == 3 * 4999 + 2 - 1
