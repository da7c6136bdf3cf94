"""``chainrule graph`` and ``chainrule demo`` through main(argv)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from chainrule.cli import main


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    status = main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


def test_text_output_has_the_three_parts(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run(capsys, "graph", "(a - b*c)*d", "--at", "a=2,b=-7,c=4,d=1")
    assert status == 0
    assert "intermediate variables\n  v1 = b * c\n  v2 = a - v1\n  v3 = v2 * d" in out
    assert "forward pass" in out and "backward pass (d v3 / d node)" in out
    assert "d v3 / d c = 7" in out


def test_json_has_exactly_the_documented_keys(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run(capsys, "graph", "(a - b*c)*d", "--at", "a=2, b=-7", "--at", "c=4,d=1",
                         "--format", "json")
    assert status == 0
    document = json.loads(out)
    assert list(document)[:6] == ["expression", "inputs", "steps", "output", "gradients",
                                  "warnings"]
    assert document["inputs"] == {"a": 2.0, "b": -7.0, "c": 4.0, "d": 1.0}
    assert document["steps"][0] == {"name": "v1", "op": "mul", "args": ["b", "c"],
                                    "expr": "b * c", "value": -28.0, "grad": -1.0}
    assert document["output"] == {"name": "v3", "value": 30.0}
    assert document["gradients"] == {"a": 1.0, "b": -4.0, "c": 7.0, "d": 30.0}


def test_json_writes_nan_and_inf_as_strings(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, err = run(capsys, "graph", "log(a) + exp(b)", "--at", "a=-1,b=1000",
                           "--allow-nan", "--format", "json")
    assert status == 0
    document = json.loads(out)  # strict RFC 8259: no NaN literals
    assert document["output"]["value"] == "nan"
    assert document["steps"][1]["value"] == "inf"
    assert document["warnings"] == [
        "v1 = log(a): argument -1 is outside log's domain (0, inf)",
        "v2 = exp(b): the result overflows float64 (arguments 1000)",
    ]
    assert "warning: v1 = log(a)" in err


def test_markdown_and_letters(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run(capsys, "graph", r"4(xyz + \max(z, w))", "--names", "letters",
                         "--at", "x=1,y=2,z=3,w=4", "--format", "markdown")
    assert status == 0
    assert "- `a = x * y`" in out and "| `e` | `4 * d` | 40 |" in out


def test_user_names(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run(capsys, "graph", "(a - b*c)*d", "--names", "p, q, r")
    assert status == 0
    assert "p = b * c\n  q = a - p\n  r = q * d" in out


@pytest.mark.parametrize(
    ("argv", "first_line"),
    [
        (["graph", "(a+b))"], "error: unmatched ')' at column 6"),
        (["graph", "log(a)", "--at", "a=-1"],
         "error: v1 = log(a): argument -1 is outside log's domain (0, inf)"),
        (["graph", "a+b", "--at", "a=1"], "error: no value given for the variable 'b'"),
        (["graph", "a", "--at", "a=x"], "error: --at: 'x' is not a number (for a)"),
        (["graph", "a", "--at", "2"], "error: --at: expected NAME=NUMBER at column 1 of '2'"),
        (["graph", "a*b", "--names", "p,q"], "error: --names: 2 given, but the expression has 1"),
        (["graph", "a*b", "--names", "a,"], "error: --names: 'a' is already an input"),
        (["graph", "a*b", "--names", "1x"], "error: --names: '1x' is not 'v', 'letters' or a list"),
        (["graph"], "error: chainrule graph: the following arguments are required: expression"),
        (["nonsense"], "error: chainrule: argument command: invalid choice: 'nonsense'"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(
    capsys: pytest.CaptureFixture[str], argv: list[str], first_line: str
) -> None:
    status, _, err = run(capsys, *argv)
    assert status == 2
    assert err.splitlines()[0].startswith(first_line)
    assert "Traceback" not in err


def test_output_file_is_written_and_kept_on_error(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    target = tmp_path / "graph.json"
    assert run(capsys, "graph", "x*x", "--at", "x=3", "--format", "json", "-o", str(target))[0] == 0
    before = target.read_text()
    assert json.loads(before)["gradients"] == {"x": 6.0}
    assert run(capsys, "graph", "log(x)", "--at", "x=-3", "-o", str(target))[0] == 2
    assert target.read_text() == before  # the old file is untouched


def test_demo_prints_the_three_sheet_expressions(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run(capsys, "demo")
    assert status == 0
    assert out.count("=== ") == 3 and "d g / d c = 7" in out


def test_python_dash_m_runs_the_cli() -> None:
    done = subprocess.run([sys.executable, "-m", "chainrule", "graph", "1/(a-a)", "--at", "a=1"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert done.stderr.startswith("error: v2 = 1 / v1: divisor 0")
    assert "Traceback" not in done.stderr


def test_an_expression_that_starts_with_a_minus_is_not_an_option(
    capsys: pytest.CaptureFixture[str],
) -> None:
    status, out, _ = run(capsys, "graph", "-x*log(x)", "--at", "x=2", "--format", "json")
    assert status == 0
    assert json.loads(out)["output"]["value"] == pytest.approx(-2 * 0.6931471805599453)
    status, out, _ = run(capsys, "graph", "--format", "json", "--at", "x=2", "--", "-x")
    assert status == 0 and json.loads(out)["gradients"] == {"x": -1.0}
    status, _, err = run(capsys, "graph", "x", "--no-such-option")
    assert status == 2 and "unrecognized arguments: --no-such-option" in err


def test_the_sheets_equation_names_the_output_in_json_and_the_explanation(
    capsys: pytest.CaptureFixture[str],
) -> None:
    status, out, _ = run(capsys, "graph", "A = (a - b*c)*d", "--at", "a=2,b=-7,c=4,d=1",
                         "--format", "json")
    assert status == 0 and json.loads(out)["output"] == {"name": "A", "value": 30.0}
    status, out, _ = run(capsys, "graph", "A = (a - b*c)*d", "--at", "a=2,b=-7,c=4,d=1",
                         "--explain")
    assert status == 0 and "∂A/∂c = ∂A/∂v1 · ∂v1/∂c = (−1)(−7) = 7" in out


def test_every_subcommands_options_stay_options() -> None:
    """dashes_as_values must know the options of nested subcommands (mnist train ...)."""
    from chainrule.cli import build_parser, dashes_as_values

    parser = build_parser()
    for words in (["mnist", "predict", "--checkpoint", "m.pt", "a.png", "--format", "json"],
                  ["mnist", "train", "--preset", "fast", "--epochs", "1", "--out", "r"],
                  ["report", "--budget", "quick", "--expr", "x*y", "--at", "x=1,y=2"],
                  ["gradients", "--depth", "3", "--activation", "relu"]):
        assert dashes_as_values(parser, words) == words
    assert dashes_as_values(parser, ["report", "--expr", "-x*y"]) == ["report", "--expr=-x*y"]
