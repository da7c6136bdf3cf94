"""The worked solution: engine's numbers, exact Markdown, LaTeX that compiles, the CLI."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings

from chainrule import ChainruleError, Result, parse
from chainrule.cli import main
from chainrule.show.explain import Notation, explain, local_partials
from test_symbolic import Tree, trees

SHEET = {
    "A": r"(a - (b \cdot c)) \cdot d",
    "B": r"\sqrt{a + b + c^3} + \log\left(\frac{a}{d}\right)",
    "C": r"d - \exp^{(a+b) \cdot c}",
    "example": r"4(xyz + \max(z, w))",
}
POINT = {"a": 2, "b": -7, "c": 4, "d": 1}
EXAMPLE_POINT = {"x": 1, "y": 2, "z": 3, "w": 4}
number = Notation().number


def sheet_result(key: str) -> Result:
    return parse(SHEET[key]).evaluate(EXAMPLE_POINT if key == "example" else POINT)


def section(text: str, title: str) -> list[str]:
    """The lines of one numbered section of a text explanation."""
    match = re.search(rf"^\d+\. {title}.*?\n(.*?)(?:\n\n|\Z)", text, re.S | re.M)
    assert match is not None, title
    return [line.strip() for line in match[1].splitlines()]


def assert_numbers_are_the_engines(result: Result) -> None:
    graph, grads = result.graph, result.grads
    assert grads is not None
    text = explain(result, symbolic=False)
    out = graph.nodes[graph.output].name
    forward = {line.split(" = ")[0]: line.split(" = ")[-1] for line in section(text, "Forward")}
    for index, node in enumerate(graph.nodes):
        if node.kind != "constant":
            assert forward[node.name] == number(result.values[index]), node.name
    backward = {}
    for line in section(text, "Backward pass"):
        lhs, *_, total = line.split(" = ")
        backward[lhs] = (line, total)
    for index, node in enumerate(graph.nodes):
        if node.kind == "constant":
            continue
        line, total = backward[f"∂{out}/∂{node.name}"]
        assert total == number(grads[index]), line
        consumers = graph.consumers[index]
        if len(consumers) > 1 or (consumers and consumers[0] != graph.output):
            shown = line.split(" = ")[-2]
            expected = " + ".join(
                f"({number(grads[k])})({number(local_partials(result, k)[index])})"
                for k in consumers
            )
            assert shown == expected, line
            exact = sum(grads[k] * local_partials(result, k)[index] for k in consumers)
            assert exact == pytest.approx(grads[index], rel=1e-12, abs=1e-300)
    table = dict(row.split()[:2] for row in section(text, "Gradients")[1:])
    assert table == {f"∂{out}/∂{name}": number(g) for name, g in result.gradients.items()}


@pytest.mark.parametrize("key", sorted(SHEET))
def test_the_sheets_numbers_are_the_engines(key: str) -> None:
    assert_numbers_are_the_engines(sheet_result(key))


@settings(max_examples=40, deadline=None)
@given(tree=trees(max_ops=10))
def test_random_expressions_numbers_are_the_engines(tree: Tree) -> None:
    assert_numbers_are_the_engines(tree.graph.evaluate(tree.point))


def test_the_sheets_worked_lines() -> None:
    text = explain(parse(SHEET["A"], names=["v1", "v2", "A"]).evaluate(POINT))
    assert "  v1 = b · c = (−7)(4) = −28" in text
    assert "  ∂A/∂c = ∂A/∂v1 · ∂v1/∂c = (−1)(−7) = 7" in text
    example = explain(parse(SHEET["example"], names="letters").evaluate(EXAMPLE_POINT))
    # z has two consumers: both terms are written out and added
    assert "  ∂e/∂z = ∂e/∂b · ∂b/∂z + ∂e/∂c · ∂c/∂z = (4)(2) + (4)(0) = 8" in example
    c = explain(sheet_result("C"))
    assert "  v3 = exp(v2) = exp(−20) = 2.06115e−09" in c


# The sheet's expression A at its point, as GitHub should render it (reviewed by eye).
MARKDOWN_A = (Path(__file__).parent / "data" / "explain_sheet_A.md").read_text(encoding="utf-8")


def test_markdown_of_expression_a_exactly() -> None:
    result = parse(SHEET["A"], names=["v1", "v2", "A"]).evaluate(POINT)
    assert explain(result, "markdown") == MARKDOWN_A


INLINE_MATH = re.compile(r"\$([^$]+)\$")


@pytest.mark.parametrize("key", sorted(SHEET))
def test_markdown_is_safe_for_github(key: str) -> None:
    markdown = explain(sheet_result(key), "markdown")
    fenced = False
    for line in markdown.splitlines():
        if line.startswith("```"):
            fenced = not fenced
            continue
        if fenced:
            continue
        assert line.count("$") % 2 == 0, line
        for math in INLINE_MATH.findall(line):
            assert math == math.strip(), line  # "$ x$" is not math on GitHub
            # Markdown eats these backslash escapes before the math renderer sees them
            assert not re.search(r"\\[\\,;!{}|]", math), line
            assert math.count("{") == math.count("}"), line
    assert not fenced
    tables = [block for block in markdown.split("\n\n") if block.startswith("|")]
    for table in tables:
        widths = {len(re.findall(r"(?<!\\)\|", row)) for row in table.splitlines()}
        assert len(widths) == 1, table


def latex_is_well_formed(latex: str) -> None:
    body = re.sub(r"\\begin\{verbatim\}.*?\\end\{verbatim\}", "", latex, flags=re.S)
    assert body.count("{") - body.count(r"\{") == body.count("}") - body.count(r"\}")
    opened = re.findall(r"\\begin\{(\w+\*?)\}", body)
    closed = re.findall(r"\\end\{(\w+\*?)\}", body)
    assert opened == list(reversed(closed)) or sorted(opened) == sorted(closed)
    assert not re.search(r"[^\x00-\x7f]", body), "non-ASCII text needs fonts we do not load"


@pytest.mark.parametrize("key", sorted(SHEET))
def test_latex_is_a_complete_amsmath_article(key: str) -> None:
    latex = explain(sheet_result(key), "latex")
    assert latex.startswith("\\documentclass{article}\n\\usepackage{amsmath}\n")
    assert latex.endswith("\\end{document}\n")
    latex_is_well_formed(latex)


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("pdflatex") is None, reason="no pdflatex (CI installs it)")
def test_latex_compiles(tmp_path: Path) -> None:
    # the sheet's three expressions, plus every kind of op, kink and warning
    cases = {
        **{k: sheet_result(k) for k in ("B", "C")},
        "ops": parse(
            "x*x*x + sigmoid(x) + relu(y) + max(x, y) + abs(x)^y + w_in_1 - "
            "tanh(x)/cos(x) + min(sin(x), -x) + log(2*pi) + e"
        ).evaluate(x=3, y=0, w_in_1=2),
        "nan": parse("log(x)*y").evaluate(x=-1, y=2, allow_nan=True),
    }
    for name, result in cases.items():
        source = tmp_path / f"{name}.tex"
        source.write_text(explain(result, "latex"), encoding="utf-8")
        done = subprocess.run(
            ["pdflatex", "-interaction=nonstopmode", "-halt-on-error", source.name],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert done.returncode == 0, done.stdout[-2000:]
        assert (tmp_path / f"{name}.pdf").stat().st_size > 1000


def test_structure_only_without_a_point() -> None:
    text = explain(parse(SHEET["B"]))
    assert "1. Intermediate variables" in text and "  v4 = sqrt(v3)" in text
    assert "Forward" not in text


def test_arrays_and_lean_results_are_refused() -> None:
    with pytest.raises(ChainruleError, match="one point"):
        explain(parse("x*x").evaluate(x=np.array([1.0, 2.0])))
    with pytest.raises(ChainruleError, match="format"):
        explain(parse("x*x").evaluate(x=1.0), "html")  # type: ignore[arg-type]


def test_large_graphs_skip_sympy_but_still_verify() -> None:
    graph = parse(" + ".join(f"sin(x{i})" for i in range(40)))  # 79 operations
    text = explain(graph.evaluate({f"x{i}": 0.1 * i for i in range(40)}))
    assert "not computed for graphs of more than" in text
    assert all(line.rstrip().endswith("yes") for line in section(text, "Verification")[1:])


def test_huge_graphs_are_refused_in_one_line() -> None:
    graph = parse("+".join(f"x{i}" for i in range(1200)))
    with pytest.raises(ChainruleError, match="up to 1000 operations, this one has 1199"):
        explain(graph.evaluate({f"x{i}": 1.0 for i in range(1200)}))


def test_a_kink_is_explained_with_the_engines_convention() -> None:
    text = explain(parse("relu(y) * x").evaluate(x=2, y=0))
    assert "  ∂v1/∂y = Heaviside(y, 0) = 0" in text
    assert "relu'(0) is taken as 0" in text
    assert "warning: d/dy: the methods disagree" in text


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    status = main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


def test_cli_explain_in_every_format(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    args = ("graph", SHEET["A"], "--at", "a=2,b=-7,c=4,d=1", "--explain")
    status, out, _ = run(capsys, *args)
    assert status == 0 and "∂v3/∂c = ∂v3/∂v1 · ∂v1/∂c = (−1)(−7) = 7" in out
    status, out, _ = run(capsys, *args, "--format", "markdown")
    assert status == 0 and out == explain(sheet_result("A"), "markdown") + "\n"
    target = tmp_path / "a.tex"
    assert run(capsys, *args, "--format", "latex", "-o", str(target))[0] == 0
    latex_is_well_formed(target.read_text(encoding="utf-8"))


def test_cli_json_symbolic_key(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run(
        capsys, "graph", SHEET["B"], "--at", "a=2,b=-7,c=4,d=1", "--format", "json", "--symbolic"
    )
    assert status == 0
    document = json.loads(out)
    assert list(document) == [
        "expression",
        "inputs",
        "steps",
        "output",
        "gradients",
        "symbolic",
        "warnings",
    ]
    assert document["symbolic"] == {
        "a": "1/(2*sqrt(a + b + c**3)) + 1/a",
        "b": "1/(2*sqrt(a + b + c**3))",
        "c": "3*c**2/(2*sqrt(a + b + c**3))",
        "d": "-1/d",
    }
    status, out, _ = run(capsys, "graph", "x*y", "--format", "json")
    assert status == 0 and "symbolic" not in json.loads(out)


def test_cli_refuses_what_it_cannot_do(capsys: pytest.CaptureFixture[str]) -> None:
    status, _, err = run(capsys, "graph", "x*y", "--symbolic")
    assert status == 2 and err.startswith("error: --symbolic") and err.count("\n") == 1
