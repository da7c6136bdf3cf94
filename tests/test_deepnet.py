"""The deep network on MNIST: gradient norms per layer, learning, clipping, the CLI."""

from __future__ import annotations

import itertools
import json
import math
from dataclasses import replace
from pathlib import Path

import pytest

from chainrule.cli import main
from chainrule.errors import ChainruleError
from chainrule.vanishing import deepnet

pytestmark = pytest.mark.slow  # trains real networks on MNIST: seconds, not milliseconds

# Small and quick: 1000 training images, 10 hidden layers of 32; the effects are large.
SMALL = deepnet.GradientConfig(
    depth=10,
    width=32,
    train_size=1000,
    epochs=1,
    batch_size=50,
    log_every=5,
    probe_size=250,
    progress=False,
)


@pytest.fixture(scope="module")
def sigmoid_report() -> deepnet.GradientReport:
    return deepnet.run_experiment(replace(SMALL, epochs=4))


@pytest.fixture(scope="module")
def relu_report() -> deepnet.GradientReport:
    return deepnet.run_experiment(replace(SMALL, activation="relu", init="kaiming", epochs=4))


def test_sigmoid_gradients_shrink_towards_the_input(
    sigmoid_report: deepnet.GradientReport,
) -> None:
    norms = sigmoid_report.at_init  # layer 1 ... layer 10, output
    assert len(norms) == 11
    assert norms[0] < 1e-3 * norms[-2]  # orders of magnitude between layer 1 and layer 10
    assert sigmoid_report.spread_at_init() > 3
    hidden = norms[1:-1]  # layer 2 to 10: every layer closer to the output has a larger gradient
    assert all(a < b for a, b in itertools.pairwise(hidden))


def test_sigmoid_learning_stalls_while_relu_kaiming_learns(
    sigmoid_report: deepnet.GradientReport, relu_report: deepnet.GradientReport
) -> None:
    chance = math.log(10)
    assert sigmoid_report.snapshots[-1].probe_loss > 0.95 * chance
    assert relu_report.snapshots[-1].probe_loss < 0.8 * chance
    assert relu_report.test_accuracy > sigmoid_report.test_accuracy + 20
    assert relu_report.steps == sigmoid_report.steps == 80


def test_relu_kaiming_keeps_gradients_balanced(relu_report: deepnet.GradientReport) -> None:
    assert abs(relu_report.spread_at_init()) < 1
    for snapshot in relu_report.snapshots:
        assert max(snapshot.grad_norms) < 100 * min(snapshot.grad_norms)


def test_clipping_tames_an_exploding_network() -> None:
    exploding = replace(SMALL, activation="relu", init="kaiming", init_gain=2.0)
    wild = deepnet.run_experiment(exploding)
    assert min(wild.at_init) > 100  # every layer's gradient is huge
    assert wild.diverged_at is not None and wild.diverged_at <= 5
    tamed = deepnet.run_experiment(replace(exploding, clip=1.0))
    assert tamed.diverged_at is None and tamed.steps == 20
    assert tamed.clipped_steps == tamed.steps
    assert tamed.max_total_grad_norm > 100
    assert tamed.snapshots[-1].probe_loss < tamed.snapshots[0].probe_loss / 10
    json.dumps(wild.to_dict(), allow_nan=False)  # a diverged run is still valid JSON


def test_batchnorm_and_init_options_build_the_right_network() -> None:
    network = deepnet.build_network(replace(SMALL, depth=3, batchnorm=True, init="xavier"))
    kinds = [type(m).__name__ for m in network]
    assert kinds == ["Flatten"] + ["Linear", "BatchNorm1d", "Sigmoid"] * 3 + ["Linear"]
    assert all(
        float(layer.bias.detach().abs().sum()) == 0 for layer in deepnet.linear_layers(network)
    )
    doubled = deepnet.build_network(replace(SMALL, depth=2, init="kaiming", init_gain=2.0, seed=1))
    plain = deepnet.build_network(replace(SMALL, depth=2, init="kaiming", seed=1))
    assert len(deepnet.linear_layers(doubled)) == 3 and len(deepnet.linear_layers(plain)) == 3


def test_report_outputs(sigmoid_report: deepnet.GradientReport, tmp_path: Path) -> None:
    doc = sigmoid_report.to_dict()
    assert doc["layers"][0] == "layer 1" and doc["layers"][-1] == "output"
    assert doc["snapshots"][0]["step"] == 0 and doc["snapshots"][-1]["step"] == 80
    assert 0 <= doc["test_accuracy"] <= 100
    table = sigmoid_report.table()
    assert "layer 1" in table and "test accuracy" in table
    paths = sigmoid_report.plot(tmp_path / "one")
    assert [p.name for p in paths] == ["one.png", "one.svg"]
    assert all(p.stat().st_size > 10_000 for p in paths)
    assert "| sigmoid default |" in deepnet.comparison_table([sigmoid_report], markdown=True)


@pytest.mark.parametrize(
    ("field", "value"),
    [("activation", "softplus"), ("init", "orthogonal"), ("lr", -0.1), ("clip", 0.0),
     ("depth", 0), ("probe_size", 5000), ("epochs", math.nan)],
)  # fmt: skip
def test_bad_configs_are_one_line_errors(field: str, value: object) -> None:
    with pytest.raises(ChainruleError):
        replace(SMALL, **{field: value}).validated()


def test_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = [
        "gradients",
        "--depth",
        "3",
        "--width",
        "8",
        "--train-size",
        "300",
        "--epochs",
        "1",
        "--probe-size",
        "100",
        "--log-every",
        "2",
        "--quiet",
        "--out",
        str(tmp_path),
    ]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "sigmoid default: 3 hidden layers of 8" in out and "test accuracy" in out
    doc = json.loads((tmp_path / "gradients.json").read_text())
    assert doc["config"]["depth"] == 3 and len(doc["snapshots"][0]["grad_norms"]) == 4
    assert (tmp_path / "gradients.png").exists() and (tmp_path / "gradients.svg").exists()
    assert main(["gradients", "--lr", "-1"]) == 2
    assert capsys.readouterr().err == "error: --lr must be a positive number, got -1.0\n"
    assert main(["gradients", "--suite", "--clip", "1"]) == 2
