"""show.notation writes every number; library errors name parameters, the CLI its flags."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from chainrule import ChainruleError, EvaluationError, parse
from chainrule.cli import main
from chainrule.show import notation
from chainrule.show.dot import run_dot

finite = st.floats(allow_nan=False, allow_infinity=False)
any_float = st.floats()
_LATEX = re.compile(r"(-?[\d.]+) \\times 10\^\{(-?\d+)\}|10\^\{(-?\d+)\}|(-?[\d.]+)")


@given(finite)
def test_plain_is_full_precision_and_names_constants(value: float) -> None:
    text = notation.plain(value)
    assert float(text) == value
    if value.is_integer() and abs(value) < 1e15:
        assert text == str(int(value))  # 4, not 4.0
    if value >= 0:  # "-2" is neg(2) in an expression; a non-negative literal is one constant
        graph = parse(text)
        assert graph.nodes[graph.output].name == text


@given(any_float, st.integers(1, 12))
def test_pretty_is_short_with_a_real_minus(value: float, digits: int) -> None:
    assert notation.pretty(value, digits) == notation.short(value, digits).replace("-", "−")
    assert "-" not in notation.pretty(value, digits)


@given(st.floats(-1e300, 1e300), st.integers(1, 12))  # far from rounding up to inf
def test_short_keeps_digits_significant_digits(value: float, digits: int) -> None:
    text = notation.short(value, digits)
    assert text != "-0"
    assert math.isclose(float(text), value, rel_tol=10.0 ** (1 - digits), abs_tol=0.0) or (
        value == 0
    )


@given(finite, st.integers(1, 12))
def test_latex_reads_back_as_the_short_number(value: float, digits: int) -> None:
    text = notation.latex_number(value, digits)
    match = _LATEX.fullmatch(text)
    assert match is not None, text
    mantissa, exponent, power_only, plain = match.groups()
    if plain is not None:
        back = float(plain)
    elif power_only is not None:
        back = float(f"1e{power_only}")  # not 10.0 ** k, which underflows at 5e-324
    else:
        back = float(f"{mantissa}e{exponent}")
    assert math.isclose(back, float(notation.short(value, digits)), rel_tol=1e-9)


def test_latex_writes_infinity_and_nan() -> None:
    assert [notation.latex_number(v) for v in (math.inf, -math.inf, math.nan)] == [
        r"\infty", r"-\infty", "nan"
    ]


@given(st.one_of(any_float, st.none(), st.lists(any_float, max_size=5).map(np.array)))
def test_json_value_is_always_strict_json(value: object) -> None:
    text = json.dumps(notation.json_value(value), allow_nan=False)
    back = json.loads(text)
    if isinstance(value, np.ndarray):
        assert len(back) == value.size
    elif isinstance(value, float) and math.isfinite(value):
        assert back == value


def test_library_errors_name_parameters_and_the_cli_its_flags(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(ChainruleError, match=r"^names: 2 given, but the expression has 1"):
        parse("a*b", names=["p", "q"])
    with pytest.raises(EvaluationError, match=r"is not finite: inf \(see allow_nan\)$"):
        parse("a*b").evaluate(a=math.inf, b=1)
    assert main(["graph", "a*b", "--at", "a=inf,b=1"]) == 2
    assert capsys.readouterr().err.endswith("is not finite: inf (see --allow-nan)\n")


def test_user_text_in_a_named_error_is_never_read_as_a_template() -> None:
    with pytest.raises(ChainruleError) as raised:
        parse("a*b", names=["{names}"])
    assert str(raised.value) == "names: '{names}' is not a valid name"
    assert raised.value.render({"names": "--names"}) == (
        "error: --names: '{names}' is not a valid name"
    )


def test_renderer_errors_name_the_engine_parameter_or_the_renderer_flag(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # no Graphviz on it
    with pytest.raises(ChainruleError, match=r"\(or use engine builtin\)$"):
        run_dot("digraph { a }", "svg")
    assert main(["graph", "a*b", "--format", "svg", "--renderer", "dot", "-o",
                 str(tmp_path / "x.svg")]) == 2
    assert capsys.readouterr().err.endswith("(or use --renderer builtin)\n")
