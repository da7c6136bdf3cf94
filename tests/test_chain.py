"""The sigmoid chain: closed form vs backprop, σ' facts, exploding/vanishing, sweeps, CLI."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import sympy
from hypothesis import given, settings
from hypothesis import strategies as st

from chainrule.cli import main
from chainrule.commands.chain import parse_weight_init
from chainrule.core.ops import OPS
from chainrule.errors import ChainruleError
from chainrule.vanishing import chain
from chainrule.vanishing.activations import NAMES, TABLE
from chainrule.vanishing.facts import derivative_facts, exploding_facts, sigmoid_derivative_facts
from chainrule.vanishing.sweeps import chain_gradients, depth_sweep

weights_lists = st.lists(st.floats(-8.0, 8.0, allow_nan=False), min_size=1, max_size=12)
inputs = st.floats(-5.0, 5.0, allow_nan=False)
activations = st.sampled_from(NAMES)


# --- the activation table --------------------------------------------------------------------


def test_every_activation_is_an_op_and_a_torch_module() -> None:
    import torch

    for name, entry in TABLE.items():
        assert entry.name == name and name in OPS and OPS[name].arity == 1
        assert issubclass(getattr(torch.nn, entry.torch_module), torch.nn.Module)
        torch.nn.init.calculate_gain(name)  # type: ignore[arg-type]  # the init's gain exists
    with pytest.raises(ChainruleError, match="unknown activation 'softplus'"):
        chain.build_chain(2, "softplus")


# --- closed form vs backpropagation ----------------------------------------------------------


@settings(max_examples=150, deadline=None)
@given(weights=weights_lists, x=inputs, activation=activations)
def test_closed_form_product_equals_backprop(
    weights: list[float], x: float, activation: str
) -> None:
    result = chain.analyse(weights, x, activation)
    assert result.agree, (result.backprop, result.closed_form)
    assert math.isclose(result.backprop, result.closed_form, rel_tol=1e-9, abs_tol=1e-300)
    assert result.bound_holds


@settings(max_examples=60, deadline=None)
@given(weights=weights_lists, x=inputs, activation=activations)
def test_each_layer_is_the_chain_rule_by_hand(
    weights: list[float], x: float, activation: str
) -> None:
    """Recompute every row with plain floats: a_i, f'(z_i) and the running product dy/da_i."""
    forward = {"sigmoid": lambda z: 1 / (1 + math.exp(-z)), "tanh": math.tanh,
               "relu": lambda z: max(z, 0.0)}[activation]  # fmt: skip
    slope = {"sigmoid": lambda z, a: a * (1 - a), "tanh": lambda z, a: 1 - a * a,
             "relu": lambda z, a: 1.0 if z > 0 else 0.0}[activation]  # fmt: skip
    result = chain.analyse(weights, x, activation)
    a = x
    factors = []
    for layer, w in zip(result.layers, weights, strict=True):
        z = w * a
        a = forward(z) if z > -700 else 0.0
        assert layer.pre_activation == pytest.approx(z, rel=1e-12, abs=1e-300)
        assert layer.activation == pytest.approx(a, rel=1e-12, abs=1e-300)
        factors.append(w * slope(z, a))
    running = 1.0
    for layer, factor in zip(reversed(result.layers), reversed(factors), strict=True):
        assert layer.grad == pytest.approx(running, rel=1e-9, abs=1e-300)
        running *= factor
    assert result.backprop == pytest.approx(running, rel=1e-9, abs=1e-300)


def test_the_sheets_chain_numbers() -> None:
    result = chain.analyse([1, 1, 1, 1, 1], 0.5)
    assert result.depth == 5
    assert result.backprop == pytest.approx(6.07986274311e-4, rel=1e-10)
    assert result.bound == 0.25**5
    assert [layer.index for layer in result.layers] == [1, 2, 3, 4, 5]
    assert result.layers[-1].grad == 1.0
    assert str(result.graph).splitlines()[:2] == ["z1 = w1 * x", "a1 = sigmoid(z1)"]


# --- the derivative facts --------------------------------------------------------------------


def test_sigmoid_derivative_max_is_a_quarter_at_zero_symbolically() -> None:
    facts = sigmoid_derivative_facts()
    x, s = facts.symbol, facts.output_symbol
    assert facts.max_value == sympy.Rational(1, 4)
    assert facts.argmax == 0
    assert facts.critical_points == [0]
    assert sympy.simplify(facts.second_derivative.subs(x, 0)) == 0
    assert sympy.simplify(facts.by_output - s * (1 - s)) == 0
    assert facts.infimum == 0 and not facts.infimum_attained
    assert "σ(x)(1 − σ(x))" in facts.summary()


@pytest.mark.parametrize(
    ("activation", "top", "where"), [("sigmoid", 0.25, 0.0), ("tanh", 1.0, 0.0)]
)
def test_derivative_max_found_numerically_by_the_engine(
    activation: str, top: float, where: float
) -> None:
    grid = np.linspace(-10, 10, 200_001)
    result = chain.build_chain(1, activation).evaluate(x=grid, w1=np.ones_like(grid))
    slope = np.asarray(result.gradients["x"])
    assert slope.max() == pytest.approx(top, abs=1e-12)
    assert grid[np.argmax(slope)] == pytest.approx(where, abs=1e-4)
    assert slope.min() > 0  # the infimum 0 is never attained
    facts = derivative_facts(activation)
    assert facts.max_float == pytest.approx(slope.max(), abs=1e-12)


def test_tanh_and_relu_facts() -> None:
    tanh = derivative_facts("tanh")
    assert (tanh.max_value, tanh.argmax, tanh.infimum, tanh.infimum_attained) == (1, 0, 0, False)
    assert sympy.simplify(tanh.by_output - (1 - tanh.output_symbol**2)) == 0
    relu = derivative_facts("relu")
    assert (relu.max_value, relu.infimum, relu.infimum_attained) == (1, 0, True)
    assert relu.argmax == "x > 0" and relu.infimum_where == "x <= 0"
    assert relu.by_output is None


# --- exploding and vanishing -----------------------------------------------------------------


def test_a_sigmoid_layer_amplifies_only_when_w_exceeds_four() -> None:
    facts = exploding_facts("sigmoid")
    assert facts.threshold == 4
    a = np.linspace(-3, 3, 60_001)
    for w in (0.5, 1.0, 2.0, 3.0, 3.99, 4.0, -4.0):
        factor = chain_gradients("sigmoid", np.full((a.size, 1), w), a)
        assert np.abs(factor).max() <= 1.0 + 1e-12
        assert np.abs(factor).max() == pytest.approx(facts.max_factor(w), rel=1e-6)
    factor = chain_gradients("sigmoid", np.full((a.size, 1), 4.5), a)
    assert np.abs(factor).max() > 1


@pytest.mark.parametrize("w", [4.5, 6.894, 10.0, 25.0, -10.0])
def test_window_edges_are_where_the_factor_is_one(w: float) -> None:
    low, high = exploding_facts("sigmoid").window(w)  # type: ignore[misc]
    edges = np.array([low, high, 0.999 * low, 0.999 * high, 1.001 * high])
    factor = np.abs(chain_gradients("sigmoid", np.full((5, 1), w), edges))
    assert factor[:2] == pytest.approx([1.0, 1.0], rel=1e-9)
    assert (factor[2:4] > 1).all() and factor[4] < 1


def test_widest_window_is_nielsens_number() -> None:
    w, width = exploding_facts("sigmoid").widest_window()
    assert w == pytest.approx(6.9, abs=0.05) and width == pytest.approx(0.45, abs=0.005)


@pytest.mark.parametrize("activation", NAMES)
def test_exploding_example_grows_with_depth(activation: str) -> None:
    gradients = []
    for depth in (1, 5, 10, 20):
        result = chain.exploding_example(depth, activation)
        assert result.agree
        assert all(abs(layer.factor) > 1 for layer in result.layers)
        gradients.append(abs(result.backprop))
    assert gradients[1] > 1
    assert gradients == sorted(gradients) and gradients[-1] > 100 * gradients[1]


def test_sigmoid_exploding_needs_large_negative_weight() -> None:
    with pytest.raises(ChainruleError, match="factor"):
        chain.exploding_example(5, "sigmoid", weight=-5.0)  # fixed-point factor about -0.9
    with pytest.raises(ChainruleError):
        chain.exploding_example(5, "sigmoid", weight=10.0)  # a* near 1: σ' tiny


def test_vanishing_example_shrinks_geometrically() -> None:
    small = [abs(chain.vanishing_example(depth).backprop) for depth in (5, 10, 20, 40)]
    assert small == sorted(small, reverse=True)
    assert small[-1] < 1e-25
    assert all(value <= 0.25**depth for value, depth in zip(small, (5, 10, 20, 40), strict=True))


# --- sweeps come from the engine and match the scalar analysis --------------------------------


def test_sweep_points_match_the_scalar_chain() -> None:
    sweep = depth_sweep("tanh", scales=[0.5, 2.0], depths=[1, 3, 7], seeds=5, seed=3)
    rng = np.random.default_rng(3)
    weights = rng.standard_normal((2, 5, 7)) * np.array([0.5, 2.0])[:, None, None]
    x = rng.standard_normal(5)
    for k in range(2):
        for seed in range(5):
            for j, depth in enumerate((1, 3, 7)):
                expected = chain.analyse(weights[k, seed, :depth], x[seed], "tanh").backprop
                assert sweep.gradients[k, seed, j] == pytest.approx(abs(expected), rel=1e-12)


def test_random_sigmoid_chains_vanish_at_every_scale() -> None:
    sweep = depth_sweep("sigmoid", scales=[0.1, 1.0, 4.0, 30.0], depths=[10], seeds=200)
    assert (sweep.median() < 1e-3).all()


def test_random_weights_and_their_errors() -> None:
    normal = parse_weight_init("normal:0,2")
    assert chain.random_weights(4, normal, seed=7) == chain.random_weights(4, normal, 7)
    assert chain.random_weights(2, parse_weight_init("uniform:3,3")) == [3.0, 3.0]
    for bad in ("gauss:0,1", "normal:0", "normal:0,-1", "uniform:2,1", "constant:x"):
        with pytest.raises(ChainruleError):
            chain.random_weights(3, parse_weight_init(bad))
    with pytest.raises(ChainruleError):
        chain.analyse([1.0] * 3, 0.5, "softplus")


# --- the CLI ---------------------------------------------------------------------------------


def test_cli_table(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["chain", "--weights", "1,1,1,1,1", "--x", "0.5"]) == 0
    out = capsys.readouterr().out
    assert "σ'(z_i) = a_i(1 − a_i)" in out
    assert "dy/dx by backpropagation: 0.000607986274311" in out
    assert "(agree" in out and "(holds)" in out
    assert "max 1/4 at x = 0" in out


def test_cli_json_and_markdown(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["chain", "--weights=-1,2,3", "--x", "0.2", "--activation", "tanh",
                 "--format", "json"]) == 0  # fmt: skip
    doc = json.loads(capsys.readouterr().out)
    assert doc["depth"] == 3 and doc["weights"] == [-1.0, 2.0, 3.0]
    assert doc["dy_dx"]["agree"] and doc["derivative"]["max"]["value"] == 1.0
    assert doc["exploding"]["threshold"] == 1.0
    assert [row["layer"] for row in doc["layers"]] == [1, 2, 3]
    assert main(["chain", "--depth", "4", "--weight-init", "normal:0,3", "--seed", "2",
                 "--format", "markdown"]) == 0  # fmt: skip
    assert capsys.readouterr().out.count("\n| ") == 5  # header + 4 layers


def test_cli_examples(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    out_file = tmp_path / "explode.json"
    assert main(["chain", "--example", "exploding", "--depth", "12", "--format", "json",
                 "-o", str(out_file)]) == 0  # fmt: skip
    doc = json.loads(out_file.read_text())
    assert abs(doc["dy_dx"]["backprop"]) > 10
    assert main(["chain", "--example", "vanishing", "--depth", "12"]) == 0
    assert "dy/dx by backpropagation: 1.75869630544e-08" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--weights", "1,2", "--depth", "3"], "--weights has 2 values but --depth is 3"),
        (["--weights", "1,abc"], "'abc' is not a number"),
        (["--x", "nan"], "not a finite number"),
        (["--depth", "0"], "depth must be between"),
        (["--weight-init", "normal:0"], "takes 2 numbers"),
        (["--weights", "1", "--example", "vanishing"], "not allowed with"),
        (["--activation", "softplus"], "invalid choice"),
        (["--weights", "1000", "--x", "1e306", "--activation", "relu"], "overflows"),
    ],
)
def test_cli_bad_input_is_one_line(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["chain", *argv]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and message in err
    assert err.count("\n") == 1


@pytest.mark.slow
def test_cli_plot_writes_every_figure(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["chain", "--plot", str(tmp_path), "--seeds", "8"]) == 0
    written = capsys.readouterr().out.split()
    names = {Path(p).name for p in written}
    stems = ("activation_derivatives", "exploding_window", "depth_sweep", "heatmap")
    assert names == {f"{stem}.{ext}" for stem in stems for ext in ("png", "svg")}
    for path in written:
        assert Path(path).stat().st_size > 10_000
    assert Path(written[0]).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
