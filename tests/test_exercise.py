"""``chainrule exercise``: the variants' constraints, the key, the files, Moodle XML, bad options.

The constraints are checked here independently of the generator's own checks: the
shape from the graph's consumers, the point from the values the engine computes,
distinctness by brute force over every renaming of the inputs.
"""

from __future__ import annotations

import contextlib
import io
import itertools
import json
import math
import os
import re
import shutil
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sympy
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chainrule import OPS, Graph, GraphBuilder, parse
from chainrule.cli import main
from chainrule.exercise.expressions import commutes, fingerprint, latex, plain
from chainrule.exercise.generator import (
    KINK_MARGIN,
    VALUES,
    ExerciseSearchError,
    Variant,
    generate,
    near_kink,
    point_problem,
)
from chainrule.exercise.key import key_json
from chainrule.exercise.moodle import tolerance
from chainrule.exercise.options import ExerciseOptions, ExerciseOptionsError
from chainrule.show.explain import explain
from chainrule.verify.symbolic import to_sympy

SETTINGS = settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
ALL_OPS = tuple(OPS)


# ---------------------------------------------------------------- independent checks


def brute_fingerprint(graph: Graph) -> str:
    """The smallest canonical text over every renaming of the inputs (no shortcuts)."""
    inputs = graph.inputs
    best = None
    for order in itertools.permutations(range(len(inputs))):
        rename = {name: f"x{rank}" for name, rank in zip(inputs, order, strict=True)}
        texts: list[str] = []
        for node in graph.nodes:
            if node.op is None:
                texts.append(rename.get(node.name, node.name) if node.kind == "input"
                             else node.name)
                continue
            args = [texts[a] for a in node.args]
            if node.op.name in ("add", "mul", "max", "min"):
                args.sort()
            texts.append(f"({node.op.name} {' '.join(args)})")
        text = texts[graph.output]
        best = text if best is None or text < best else best
    assert best is not None
    return best


def moderate(value: float) -> bool:
    return math.isfinite(value) and abs(value) <= 1000 and (value == 0 or abs(value) >= 1e-3)


def assert_obeys_constraints(variant: Variant, options: ExerciseOptions) -> None:
    graph, result = variant.graph, variant.result
    low, high = options.operations
    assert low <= len(graph.equations) <= high
    low, high = options.inputs
    assert low <= len(graph.inputs) <= high
    assert graph.inputs == list("abcdghkm"[: len(graph.inputs)])  # no f: it is the output
    assert graph.nodes[graph.output].name == "f"
    assert {node.op.name for node in graph.equations if node.op} <= set(options.ops)
    shared = [name for name in graph.inputs if len(graph.consumers[graph.index(name)]) >= 2]
    assert len(shared) >= options.shared_inputs, (variant.expression, shared)
    written = [graph.expr(node) for node in graph.nodes]  # each subexpression, spelled out
    for index, node in enumerate(graph.nodes):
        if node.op is not None:
            args = [written[a] for a in node.args]
            if node.op.name in ("add", "mul", "max", "min"):
                args.sort()
            written[index] = f"{node.op.name}({', '.join(args)})"
    subexpressions = [written[i] for i, node in enumerate(graph.nodes) if node.op is not None]
    assert len(set(subexpressions)) == len(subexpressions), variant.expression
    assert set(variant.at) == set(graph.inputs)
    assert all(isinstance(v, int) and v in VALUES for v in variant.at.values())
    grads = result.node_grads()
    for index, node in enumerate(graph.nodes):
        if node.kind == "constant":
            continue
        assert moderate(float(result.values[index])), (variant.expression, node)
        assert moderate(float(grads[index])), (variant.expression, node)
        if node.op is None:
            continue
        args = [float(result.values[a]) for a in node.args]
        if node.op.name in ("relu", "abs"):
            assert abs(args[0]) >= KINK_MARGIN
        if node.op.name in ("max", "min"):
            assert abs(args[0] - args[1]) >= KINK_MARGIN
    assert point_problem(result) is None


# ---------------------------------------------------------------- the generator


@SETTINGS
@given(
    seed=st.integers(0, 10**9),
    ops=st.sampled_from([
        ("add", "sub", "mul", "div", "pow", "sqrt", "log", "exp", "max", "sigmoid"),
        ALL_OPS,
        ("add", "mul", "relu", "abs", "tanh", "min"),
        ("sub", "div", "sin", "cos", "neg"),
    ]),
    operations=st.sampled_from([(3, 5), (4, 7), (6, 8)]),
    shared=st.integers(0, 2),
)
def test_every_variant_obeys_the_constraints(
    seed: int, ops: tuple[str, ...], operations: tuple[int, int], shared: int
) -> None:
    options = ExerciseOptions(count=4, seed=seed, ops=ops, operations=operations,
                              inputs=(3, 4), shared_inputs=shared)
    variants = generate(options)
    assert [v.id for v in variants] == [1, 2, 3, 4]
    for variant in variants:
        assert_obeys_constraints(variant, options)
    marks = [brute_fingerprint(v.graph) for v in variants]
    assert len(set(marks)) == len(marks), [v.expression for v in variants]


@pytest.mark.slow
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 10**9),
    ops=st.lists(st.sampled_from(ALL_OPS), min_size=1, max_size=4, unique=True),
    low=st.integers(1, 3), more=st.integers(0, 2),
    inputs=st.integers(1, 3), shared=st.integers(0, 2),
)
def test_small_or_odd_options_give_valid_variants_or_say_why(
    seed: int, ops: list[str], low: int, more: int, inputs: int, shared: int
) -> None:
    try:
        options = ExerciseOptions(count=2, seed=seed, ops=tuple(ops), operations=(low, low + more),
                                  inputs=(1, inputs), shared_inputs=shared)
    except ExerciseOptionsError as refused:
        assert "\n" not in str(refused)
        return
    try:
        variants = generate(options)
    except ExerciseSearchError as failed:
        assert "none of 400 expressions" in str(failed) and "\n" not in str(failed)
        return
    for variant in variants:
        assert_obeys_constraints(variant, options)


@SETTINGS
@given(seed=st.integers(0, 10**9))
def test_the_expression_parses_back_to_the_same_graph(seed: int) -> None:
    for variant in generate(ExerciseOptions(count=3, seed=seed, ops=ALL_OPS)):
        assert str(parse(variant.expression)) == str(variant.graph)
        inputs = ", ".join(variant.graph.inputs)
        assert variant.expression == f"f({inputs}) = {plain(variant.graph)}"
        assert variant.result.steps[-1].name == "f"
        again = parse(variant.latex, syntax="latex").evaluate(
            {k: float(v) for k, v in variant.at.items()})
        assert again.value == pytest.approx(variant.result.value, rel=1e-12)
        for name, grad in variant.result.gradients.items():
            assert again.gradients[name] == pytest.approx(grad, rel=1e-12, abs=1e-15)


def test_the_sheets_expressions_are_written_in_its_style() -> None:
    assert plain(parse("(a - (b*c))*d")) == "(a - b * c) * d"
    assert latex(parse("sqrt(a + b + c^3) + log(a/d)")) == (
        r"\sqrt{a + b + c^{3}} + \log\left(\frac{a}{d}\right)"
    )
    assert plain(parse("d - exp((a+b)*c)")) == "d - exp((a + b) * c)"
    assert plain(parse("a - (b - c)")) == "a - (b - c)"
    assert plain(parse("(a - b) - c")) == "a - b - c"
    assert plain(parse("a / (b * c)")) == "a / (b * c)"
    assert plain(parse("(-a)^2 - -b")) == "(-a)^2 - (-b)"
    assert latex(parse("sqrt(a)^2")) == r"(\sqrt{a})^{2}"


def _rebuilt(graph: Graph, names: dict[str, str], swap: bool) -> Graph:
    """The same graph with inputs renamed and (if ``swap``) commutative arguments swapped."""
    builder = GraphBuilder()
    handles: list[int] = []
    for node in graph.nodes:
        if node.op is None:
            handles.append(builder.input(names[node.name]) if node.kind == "input"
                           else builder.constant(float(node.constant or 0.0), node.name))
            continue
        args = [handles[a] for a in node.args]
        if swap and commutes(node.op):
            args.reverse()
        handles.append(builder.apply(node.op, *args))
    return builder.build(handles[graph.output])


@SETTINGS
@given(seed=st.integers(0, 10**9), data=st.data())
def test_fingerprints_ignore_renaming_and_commuting_only(seed: int, data: Any) -> None:
    variant = generate(ExerciseOptions(count=1, seed=seed))[0]
    inputs = variant.graph.inputs
    shuffled = data.draw(st.permutations(inputs))
    same = _rebuilt(variant.graph, dict(zip(inputs, shuffled, strict=True)), swap=True)
    assert fingerprint(same) == fingerprint(variant.graph)
    assert brute_fingerprint(same) == brute_fingerprint(variant.graph)
    subs = [n for n in variant.graph.equations if n.op and n.op.name in ("sub", "div")]
    if subs:  # swapping the arguments of a - b is another exercise
        flipped = parse(variant.expression.replace(" - ", " + ").replace(" / ", " * "))
        assert fingerprint(flipped) != fingerprint(variant.graph)


def test_variant_i_depends_on_the_seed_and_i_only() -> None:
    many = generate(ExerciseOptions(count=6, seed=11))
    one = generate(ExerciseOptions(count=1, seed=11, only=5))
    assert [(v.id, v.expression, v.at) for v in one] == [(5, many[4].expression, many[4].at)]
    other = generate(ExerciseOptions(count=6, seed=12))
    assert [v.expression for v in other] != [v.expression for v in many]
    assert {v.expression for v in other}.isdisjoint({v.expression for v in many})


def test_a_point_near_a_kink_or_out_of_range_is_refused() -> None:
    assert near_kink(OPS["relu"], [0.1]) and not near_kink(OPS["relu"], [1.0])
    assert near_kink(OPS["min"], [2.0, 2.0]) and not near_kink(OPS["sqrt"], [0.0])
    assert "below" in (point_problem(parse("sigmoid(a)").evaluate(a=9.0)) or "")
    assert "above" in (point_problem(parse("exp(a)*b").evaluate(a=7.0, b=2.0)) or "")
    assert "kink" in (point_problem(parse("max(a, b) * c").evaluate(a=3.0, b=3.0, c=2.0)) or "")
    assert "value 0" in (point_problem(parse("(a - b) + c").evaluate(a=3.0, b=3.0, c=1.0))
                         or "")
    assert "gradient 0" in (point_problem(parse("max(a, b) * c").evaluate(a=3.0, b=1.0, c=2.0))
                            or "")
    assert point_problem(parse("(a - b*c)*d").evaluate(a=2.0, b=-7.0, c=4.0, d=1.0)) is None


def test_a_search_that_cannot_succeed_stops_and_says_so() -> None:
    # log(log(log(log(a)))) needs a > e^e^e (about 3.8 million): no small integer will do
    hopeless = ExerciseOptions(count=1, ops=("log",), operations=(4, 4), inputs=(1, 1),
                               shared_inputs=0)
    with pytest.raises(ExerciseSearchError, match="none of 400 expressions"):
        generate(hopeless)
    only_one = ExerciseOptions(count=2, ops=("add",), operations=(1, 1), inputs=(2, 2),
                               shared_inputs=0)
    with pytest.raises(ExerciseSearchError, match=r"variant 2: .*repeated an earlier variant"):
        generate(only_one)


# ---------------------------------------------------------------- the command and its files


def run_cli(*argv: str) -> int:
    return main(["exercise", *argv])


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("exercises")
    assert run_cli("--count", "5", "--seed", "7", "--out", str(out),
                   "--format", "md,json,moodle") == 0
    return out


def key_of(folder: Path) -> list[dict[str, Any]]:
    data: list[dict[str, Any]] = json.loads((folder / "key.json").read_text())
    return data


def test_the_key_has_exactly_the_documented_format(written: Path) -> None:
    key = key_of(written)
    assert [entry["id"] for entry in key] == [1, 2, 3, 4, 5]
    for entry in key:
        assert list(entry) == ["id", "seed", "expression", "latex", "at", "value",
                               "gradients", "steps"]
        assert entry["seed"] == 7
        assert all(type(v) is int for v in entry["at"].values())
        assert list(entry["gradients"]) == list(entry["at"])
        assert isinstance(entry["value"], float)
        for step in entry["steps"]:
            assert list(step) == ["name", "expr", "value", "grad"]
        assert [s["name"] for s in entry["steps"]] == [
            *(f"v{i}" for i in range(1, len(entry["steps"]))), "f"]
        assert entry["steps"][-1]["value"] == entry["value"]
        assert entry["steps"][-1]["grad"] == 1.0


def test_the_key_agrees_with_chainrule_graph(written: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    for entry in key_of(written):
        at = ",".join(f"{name}={value}" for name, value in entry["at"].items())
        capsys.readouterr()
        assert main(["graph", entry["expression"], "--at", at, "--format", "json"]) == 0
        graph = json.loads(capsys.readouterr().out)
        assert graph["output"]["value"] == entry["value"]
        assert graph["gradients"] == entry["gradients"]
        assert [{k: s[k] for k in ("name", "expr", "value", "grad")} for s in graph["steps"]] \
            == entry["steps"]


def test_the_key_agrees_with_sympy(written: Path) -> None:
    for entry in key_of(written):
        expression = to_sympy(parse(entry["expression"]))
        symbols = {str(s): s for s in expression.free_symbols}
        point = {symbols[name]: sympy.Integer(value) for name, value in entry["at"].items()}
        assert float(expression.subs(point)) == pytest.approx(entry["value"], rel=1e-9)
        for name, grad in entry["gradients"].items():
            exact = float(sympy.diff(expression, symbols[name]).subs(point))
            assert exact == pytest.approx(grad, rel=1e-9, abs=1e-12), (entry["expression"], name)


def test_the_same_seed_gives_the_same_files_byte_for_byte(written: Path, tmp_path: Path) -> None:
    assert run_cli("--count", "5", "--seed", "7", "--out", str(tmp_path),
                   "--format", "md,json,moodle") == 0
    names = sorted(p.relative_to(written) for p in written.rglob("*") if p.is_file())
    assert Path("key.json") in names and Path("solutions.md") in names
    assert names == sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*") if p.is_file())
    for name in names:
        assert (written / name).read_bytes() == (tmp_path / name).read_bytes(), name


@pytest.mark.slow
def test_the_files_do_not_depend_on_pythons_hash_seed(tmp_path: Path) -> None:
    """Two processes with different string hashing write the same bytes (no set order leaks)."""
    source = Path(__file__).resolve().parents[1] / "src"
    for hash_seed in ("1", "2"):
        subprocess.run(
            [sys.executable, "-m", "chainrule", "exercise", "--count", "6", "--seed", "3",
             "--ops", ",".join(ALL_OPS), "--out", str(tmp_path / hash_seed),
             "--format", "md,json,moodle"],
            check=True, capture_output=True,
            env={**os.environ, "PYTHONPATH": str(source), "PYTHONHASHSEED": hash_seed},
        )
    names = sorted(p.relative_to(tmp_path / "1") for p in (tmp_path / "1").rglob("*")
                   if p.is_file())
    assert len(names) == 4 + 6  # exercises.md, solutions.md, key.json, moodle.xml, 6 graphs
    for name in names:
        assert (tmp_path / "1" / name).read_bytes() == (tmp_path / "2" / name).read_bytes()


def test_id_writes_just_that_variant(written: Path, tmp_path: Path) -> None:
    assert run_cli("--seed", "7", "--id", "4", "--out", str(tmp_path), "--format", "json") == 0
    assert key_of(tmp_path) == [key_of(written)[3]]


def test_a_smaller_run_into_the_same_folder_leaves_no_stale_pictures(tmp_path: Path) -> None:
    assert run_cli("--seed", "7", "--count", "3", "--out", str(tmp_path), "--format", "md") == 0
    assert run_cli("--seed", "7", "--id", "2", "--out", str(tmp_path), "--format", "md") == 0
    pictures = sorted(p.name for p in (tmp_path / "assets").iterdir())
    assert pictures == ["graph-variant-2.svg"]
    assert "assets/graph-variant-2.svg" in (tmp_path / "solutions.md").read_text()


def test_the_markdown_asks_the_sheets_questions_and_works_them(written: Path) -> None:
    exercises = (written / "exercises.md").read_text()
    solutions = (written / "solutions.md").read_text()
    for entry in key_of(written):
        assert f"Variant {entry['id']} (seed 7)" in exercises
        assert f"`{entry['expression']}`" in exercises
        assert f"Variant {entry['id']} (seed 7): worked solution" in solutions
        assert f"assets/graph-variant-{entry['id']}.svg" in solutions
    for task in ("i) Introduce intermediate variables", "ii) Using your chosen",
                 "iii) Given that", "iv) Perform backpropagation"):
        assert exercises.count(task) == 5
    for part in ("(i) Intermediate variables", "(ii) Computational graph",
                 "(iii) Forward propagation", "(iv) Backpropagation: the chain rule"):
        assert solutions.count(part) == 5


# ---------------------------------------------------------------- Moodle XML

# Moodle's own patterns (question/type/multianswer/questiontype.php): a sub-question
# starts "{weight:TYPE:", a numerical answer is NUMBER_REGEX with an optional ":tolerance".
MOODLE_NUMBER = r"-?(?:[0-9]+[.,]?[0-9]*|[.,][0-9]+)(?:[eE][-+]?[0-9]+)?"
SUBQUESTION_START = re.compile(r"\{([0-9]*):([A-Z_]+):")
NUMERICAL = re.compile(
    rf"\{{1:NUMERICAL:=({MOODLE_NUMBER}):({MOODLE_NUMBER})#([^}}~]*)\}}"
)


def cloze_parts(text: str) -> Iterator[tuple[float, float]]:
    """Every sub-question of a cloze text as (answer, tolerance); anything else fails."""
    starts = [m.start() for m in SUBQUESTION_START.finditer(text)]
    for start in starts:
        match = NUMERICAL.match(text, start)
        assert match is not None, text[start : start + 80]
        assert match[3] == "Correct"
        yield float(match[1]), float(match[2])


def test_moodle_xml_is_a_quiz_of_cloze_questions_with_numerical_blanks(written: Path) -> None:
    root = ET.parse(written / "moodle.xml").getroot()
    assert root.tag == "quiz"
    questions = root.findall("question")
    assert questions[0].get("type") == "category"
    assert (questions[0].findtext("category/text") or "").startswith("$course$/")
    key = key_of(written)
    assert [q.get("type") for q in questions[1:]] == ["cloze"] * len(key)
    for question, entry in zip(questions[1:], key, strict=True):
        assert question.findtext("name/text") == f"Variant {entry['id']} (seed 7)"
        assert question.find("questiontext").get("format") == "html"  # type: ignore[union-attr]
        for tag in ("generalfeedback/text", "penalty", "hidden", "idnumber"):
            assert question.findtext(tag), tag
        text = question.findtext("questiontext/text") or ""
        expected = [s["value"] for s in entry["steps"]] + \
            [s["grad"] for s in entry["steps"][:-1]] + list(entry["gradients"].values())
        parts = list(cloze_parts(text))
        assert len(parts) == len(expected)
        for answer, margin in parts:
            assert margin == pytest.approx(tolerance(answer), rel=0.01)
        answers = sorted(answer for answer, _ in parts)
        for value, answer in zip(sorted(expected), answers, strict=True):
            assert answer == pytest.approx(value, rel=1e-9, abs=1e-12)


# ---------------------------------------------------------------- chainrule check --key


def without_closed_forms(worked: str) -> str:
    """The worked solution less its "Symbolic gradients" section: sympy writes nested
    maxima as one Max(a, b, c), which check cannot read yet (max takes 2 arguments)."""
    start = worked.index("\n6. Symbolic gradients")
    end = worked.index("\n7. Verification")
    return worked[:start] + worked[end:]


@pytest.mark.slow
@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10**9), ops=st.sampled_from([None, ALL_OPS]))
def test_each_variants_own_worked_solution_scores_full_marks_with_check(
    seed: int, ops: tuple[str, ...] | None
) -> None:
    options = ExerciseOptions(count=3, seed=seed, **({"ops": ops} if ops else {}))
    variants = generate(options)
    with tempfile.TemporaryDirectory() as scratch:
        key = Path(scratch) / "key.json"
        key.write_text(key_json(variants))
        for variant in variants:
            answers = Path(scratch) / f"answers-{variant.id}.txt"
            answers.write_text(without_closed_forms(explain(variant.result, "text")))
            with contextlib.redirect_stdout(io.StringIO()) as out:
                status = main(["check", "--key", str(key), "--id", str(variant.id), str(answers),
                               "--format", "json"])
            report = json.loads(out.getvalue())
            assert status == 0, (variant.expression, report)
            assert report["score"] == report["max_score"] > 0
            assert report["missing"] == []
            assert {line["verdict"] for line in report["lines"]} <= {"correct"}


# ---------------------------------------------------------------- bad options


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["--ops", "add,frobnicate"], "unknown operation 'frobnicate'"),
        (["--operations", "0"], "--operations 0-0: must lie within 1-20"),
        (["--operations", "7-4"], "the low end is above the high end"),
        (["--operations", "four"], "expected N or LOW-HIGH"),
        (["--ops", "sqrt", "--shared-inputs", "3"], "takes one argument"),
        (["--ops", "add", "--operations", "2", "--inputs", "3", "--shared-inputs", "2"],
         "raise --operations"),
        (["--count", "0"], "--count 0"),
        (["--inputs", "9"], "--inputs 9-9"),
        (["--format", "md,docx"], "'docx' is not one of"),
        (["--id", "0"], "--id 0"),
        (["--ops", "log", "--operations", "4", "--inputs", "1", "--shared-inputs", "0"],
         "none of 400 expressions met the constraints"),
    ],
)
def test_bad_options_get_one_line_and_status_2(
    argv: list[str], says: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_cli(*argv, "--out", str(tmp_path / "out")) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1, err
    assert says in err
    assert not (tmp_path / "out").exists()


def test_an_out_that_is_a_file_is_refused(tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "taken").write_text("")
    assert run_cli("--out", str(tmp_path / "taken"), "--format", "json") == 2
    assert capsys.readouterr().err == f"error: --out {tmp_path / 'taken'}: exists and is not " \
        "a folder\n"


def test_options_errors_are_chainrule_errors() -> None:
    with pytest.raises(ExerciseOptionsError):
        ExerciseOptions(shared_inputs=5)


# ---------------------------------------------------------------- HTML and PDF


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("chromium") is None or shutil.which("pdftotext") is None,
                    reason="needs Chromium and poppler")
def test_the_pdfs_put_each_variant_on_its_own_page(tmp_path: Path) -> None:
    assert run_cli("--count", "2", "--seed", "3", "--out", str(tmp_path),
                   "--format", "html,pdf") == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "exercises.html", "exercises.pdf", "solutions.html", "solutions.pdf"]
    pdf_only = tmp_path / "pdf-only"
    assert run_cli("--count", "1", "--seed", "3", "--out", str(pdf_only), "--format", "pdf") == 0
    assert sorted(p.name for p in pdf_only.iterdir()) == ["exercises.pdf", "solutions.pdf"]

    def page(pdf: Path, number: int) -> str:
        return subprocess.run(["pdftotext", "-f", str(number), "-l", str(number), str(pdf), "-"],
                              capture_output=True, text=True, check=True).stdout

    exercises = tmp_path / "exercises.pdf"
    assert "Variant 1 (seed 3)" in page(exercises, 2) and "Variant 2" not in page(exercises, 2)
    assert "Variant 2 (seed 3)" in page(exercises, 3)
    assert "iv) Perform backpropagation" in page(exercises, 3)
    solutions = tmp_path / "solutions.pdf"
    assert "Variant 1 (seed 3): worked solution" in page(solutions, 2)
    html = (tmp_path / "solutions.html").read_text()
    assert html.count("<svg") >= 2 and "∂" in html
