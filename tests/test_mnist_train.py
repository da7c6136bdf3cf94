"""The MNIST trainer: CLI, metrics and checkpoints, exact resume after kill -9, NaN, DDP."""

from __future__ import annotations

import json
import math
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from chainrule.cli import main
from chainrule.errors import ChainruleError
from chainrule.mnist import train as train_module
from chainrule.mnist.config import PRESETS, TrainConfig, asdict, replace
from chainrule.mnist.models import build_model
from chainrule.mnist.train import (
    load_checkpoint,
    machine_preset,
    native_bf16_cpu,
    normalize,
    predict_logits,
    train,
)

# A small run: an MLP on 3,000 training images, 500 validation and 1,000 test images.
SMALL = ["--preset", "mlp", "--hidden", "64", "--limit-train", "3000", "--val-size", "500"]
SMALL += ["--limit-eval", "1000", "--batch-size", "128", "--threads", "1", "--quiet"]
SMALL_CONFIG = replace(
    PRESETS["mlp"], hidden=(64,), limit_train=3000, val_size=500, limit_eval=1000, batch_size=128,
    threads=1,
)  # fmt: skip
REPO = Path(__file__).resolve().parents[1]


def run_cli(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "chainrule", "mnist", "train", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout, cwd=REPO)


def weights(path: Path) -> dict[str, torch.Tensor]:
    state: dict[str, Any] = torch.load(path, map_location="cpu", weights_only=True)
    model: dict[str, torch.Tensor] = state["model"]
    return model


# ---------------------------------------------------------------- CLI, metrics, checkpoints


def test_cli_trains_and_writes_metrics_and_checkpoints(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "run"
    assert main(["mnist", "train", *SMALL, "--epochs", "2", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "test accuracy" in printed and "best.pt" in printed
    metrics = json.loads((out / "metrics.json").read_text())
    assert sorted(metrics) == ["config", "epochs"]
    assert TrainConfig.from_dict(metrics["config"]) == replace(SMALL_CONFIG, epochs=2)
    assert [e["epoch"] for e in metrics["epochs"]] == [1, 2]
    for epoch in metrics["epochs"]:
        assert sorted(epoch) == [
            "epoch", "loss_curve", "seconds", "test_accuracy", "train_loss", "val_accuracy"
        ]
        assert 80 < epoch["val_accuracy"] <= 100 and 80 < epoch["test_accuracy"] <= 100
    assert metrics["epochs"][1]["train_loss"] < metrics["epochs"][0]["train_loss"]
    model, config = load_checkpoint(out / "best.pt")
    assert config.hidden == (64,) and not model.training
    images, labels = train_module.load_mnist("test")
    logits = predict_logits(model, images[:1000])
    # Counted as an integer: a float32 mean of 1000 hits is 84.3999981880188, not 84.4.
    correct = int((logits.argmax(1) == labels[:1000]).sum())
    best = max(metrics["epochs"], key=lambda e: (e["val_accuracy"], e["epoch"]))
    assert 100 * correct / 1000 == pytest.approx(best["test_accuracy"], abs=1e-9)


def test_the_loss_curve_averages_to_the_epoch_loss(tmp_path: Path) -> None:
    out = tmp_path / "run"
    one_epoch = ["--epochs", "1", "--batch-size", "32", "--out", str(out)]
    assert main(["mnist", "train", *SMALL, *one_epoch]) == 0
    (epoch,) = json.loads((out / "metrics.json").read_text())["epochs"]
    points, losses = zip(*epoch["loss_curve"], strict=True)
    steps = 3000 // 32  # --limit-train images; a point every 20 steps, and the last one
    assert len(points) == math.ceil(steps / 20) and points[-1] == 1.0
    widths = np.diff([0.0, *points])
    assert (widths > 0).all()
    mean = float(np.dot(widths, losses))  # each point averages the steps since the last
    assert mean == pytest.approx(epoch["train_loss"], rel=1e-3)
    assert losses[-1] < losses[0]


def test_every_config_field_is_an_option(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["mnist", "train", "--help"]) == 0
    shown = capsys.readouterr().out
    for name in asdict(PRESETS["fast"]):
        flag = "--" + name.replace("_", "-")
        assert (flag in shown) == (name not in {"limit_train", "limit_eval"}), flag


def test_checkpoint_loads_with_weights_only_and_holds_the_training_state(tmp_path: Path) -> None:
    result = train(replace(SMALL_CONFIG, epochs=1, ema_decay=0.9), tmp_path, progress=False)
    state = torch.load(tmp_path / "last.pt", map_location="cpu", weights_only=True)
    assert state["epoch"] == 1 and state["config"] == asdict(result.config)
    assert {"model", "ema", "optimizer", "rng", "history"} <= set(state)
    model, _ = load_checkpoint(tmp_path / "last.pt")
    for name, value in model.state_dict().items():  # the averaged weights are the ones used
        assert torch.equal(value, state["ema"]["model"][name])


def test_existing_run_needs_resume_and_resume_needs_a_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = ["--out", str(tmp_path)]
    assert main(["mnist", "train", *SMALL, "--epochs", "1", "--resume", *out]) == 2
    assert "nothing to resume" in capsys.readouterr().err
    assert main(["mnist", "train", *SMALL, "--epochs", "1", *out]) == 0
    assert main(["mnist", "train", *SMALL, "--epochs", "1", *out]) == 2
    assert "pass --resume to continue it or choose another --out" in capsys.readouterr().err
    assert main(["mnist", "train", *SMALL, "--epochs", "1", "--lr", "0.1", "--resume", *out]) == 2
    assert "other settings (lr); resume without changing them, or train into another --out" in (
        capsys.readouterr().err)
    assert main(["mnist", "train", *SMALL, "--epochs", "1", "--resume", *out]) == 0  # done already


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--epochs", "0"], "epochs must be at least 1"),
        (["--lr", "-1"], "lr must be positive"),
        (["--dropout", "1.5"], r"dropout must be in \[0, 1\)"),
        (["--optimizer", "rmsprop"], "invalid choice"),
        (["--batch-size", "5000"], "larger than the 3000 training images"),
        (["--device", "mps"], "--device mps is not available here; use --device cpu|least"),
        (["--data-dir", str(REPO / "src")], r"missing.*train-images-idx3-ubyte\.gz"),
    ],
)
def test_bad_options_are_one_line_errors(
    arguments: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["mnist", "train", *SMALL, *arguments]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1
    assert re.search(message, err), err


def test_checkpoint_errors(tmp_path: Path) -> None:
    garbage = tmp_path / "garbage.pt"
    garbage.write_bytes(os.urandom(1000))
    with pytest.raises(ChainruleError, match=r"garbage\.pt: not a readable checkpoint"):
        load_checkpoint(garbage)
    foreign = tmp_path / "foreign.pt"
    torch.save(build_model(PRESETS["mlp"]).state_dict(), foreign)
    with pytest.raises(ChainruleError, match="not a chainrule MNIST checkpoint"):
        load_checkpoint(foreign)
    train(replace(SMALL_CONFIG, epochs=1), tmp_path / "run", progress=False)
    state = torch.load(tmp_path / "run" / "last.pt", weights_only=True)
    state["config"]["model"] = "fast"  # an mlp's weights under a CNN's config
    mismatched = tmp_path / "mismatched.pt"
    torch.save(state, mismatched)
    with pytest.raises(ChainruleError, match="weights do not fit the fast model"):
        load_checkpoint(mismatched)
    truncated = tmp_path / "truncated.pt"
    truncated.write_bytes((tmp_path / "run" / "last.pt").read_bytes()[:2000])
    with pytest.raises(ChainruleError, match=r"truncated\.pt: not a readable checkpoint"):
        load_checkpoint(truncated)
    with pytest.raises(ChainruleError, match="no such checkpoint"):
        load_checkpoint(tmp_path / "absent.pt")


def test_predict_logits_uses_the_training_preprocessing() -> None:
    model = build_model(SMALL_CONFIG).eval()
    images = torch.randint(0, 256, (7, 28, 28), dtype=torch.uint8)
    expected = model(normalize(images))
    torch.testing.assert_close(predict_logits(model, images, batch_size=3), expected)
    assert normalize(images).shape == (7, 1, 28, 28)


# ---------------------------------------------------------------- NaN


def test_nan_loss_stops_with_the_last_good_checkpoint(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    original = train_module.Trainer.train_epoch

    def poisoned(self: train_module.Trainer, epoch: int) -> float:
        if epoch == 2:  # weights blow up during the second epoch
            with torch.no_grad():
                next(self.model.parameters()).fill_(float("inf"))
        return original(self, epoch)

    monkeypatch.setattr(train_module.Trainer, "train_epoch", poisoned)
    assert main(["mnist", "train", *SMALL, "--epochs", "3", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "loss became nan at epoch 2" in err
    assert f"last good checkpoint kept: {tmp_path / 'last.pt'} (epoch 1)" in err
    model, _ = load_checkpoint(tmp_path / "last.pt")
    assert all(torch.isfinite(p).all() for p in model.parameters())
    assert torch.load(tmp_path / "last.pt", weights_only=True)["epoch"] == 1


def test_a_huge_learning_rate_ends_with_a_one_line_error(tmp_path: Path) -> None:
    with pytest.raises(train_module.TrainingDiverged, match=r"try a lower lr$") as error:
        train(replace(SMALL_CONFIG, lr=1e30, optimizer="sgd"), tmp_path, progress=False)
    assert error.value.render({"lr": "--lr"}).endswith("try a lower --lr")  # as the CLI says it


# ---------------------------------------------------------------- resume after kill -9


@pytest.mark.slow
def test_resume_after_kill_9_ends_with_identical_weights(tmp_path: Path) -> None:
    # Dropout (global RNG) and augmentation (per-epoch streams) both have to resume exactly.
    extra = {"epochs": 10, "dropout": 0.2, "rotate": 10.0, "translate": 0.1}
    args = [*SMALL, "--epochs", "10", "--dropout", "0.2", "--rotate", "10", "--translate", "0.1"]
    killed = tmp_path / "killed"
    command = [sys.executable, "-m", "chainrule", "mnist", "train", *args, "--out", str(killed)]
    process = subprocess.Popen(command, cwd=REPO, stdout=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and process.poll() is None:
        metrics = killed / "metrics.json"
        if metrics.exists() and len(json.loads(metrics.read_text())["epochs"]) >= 2:
            break
        time.sleep(0.005)
    assert process.poll() is None, "the run ended before it could be killed"
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    assert 2 <= torch.load(killed / "last.pt", weights_only=True)["epoch"] < 10
    resumed = run_cli(*args, "--out", str(killed), "--resume")
    assert resumed.returncode == 0, resumed.stderr
    whole = train(replace(SMALL_CONFIG, **extra), tmp_path / "whole", progress=False)
    expected, again = weights(tmp_path / "whole" / "last.pt"), weights(killed / "last.pt")
    assert all(torch.equal(expected[name], again[name]) for name in expected)
    history = json.loads((killed / "metrics.json").read_text())["epochs"]
    assert [e["val_accuracy"] for e in history] == [e["val_accuracy"] for e in whole.epochs]


# ---------------------------------------------------------------- distributed


DDP_SCRIPT = """
import os, sys, torch
from pathlib import Path
from chainrule.mnist.config import TrainConfig
from chainrule.mnist.train import train
config = TrainConfig.from_dict({config})
out = Path(sys.argv[1])
result = train(config, out / "run", progress=False)
rank = os.environ.get("RANK", "single")
torch.save(result.model.state_dict(), out / f"weights-{{rank}}.pt")
(out / f"accuracy-{{rank}}.txt").write_text(str(result.test_accuracy))
"""


@pytest.mark.slow
def test_two_processes_match_one_at_the_same_global_batch(tmp_path: Path) -> None:
    config = replace(
        SMALL_CONFIG, epochs=2, batch_size=128, rotate=10.0, translate=0.1, precision="fp32"
    )
    script = tmp_path / "ddp.py"
    script.write_text(DDP_SCRIPT.format(config=repr(asdict(config))))
    single = tmp_path / "single"
    single.mkdir()
    done = subprocess.run([sys.executable, script, single], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    double = tmp_path / "double"
    double.mkdir()
    # --standalone lets the rendezvous pick its own free port (no race for one chosen here).
    torchrun = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2"]
    done = subprocess.run(
        [*torchrun, str(script), str(double)], capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-3000:]
    rank0, rank1 = (torch.load(double / f"weights-{r}.pt", weights_only=True) for r in "01")
    assert all(torch.equal(rank0[name], rank1[name]) for name in rank0)
    alone = torch.load(single / "weights-single.pt", weights_only=True)
    for name in alone:  # the same updates, summed in another order (Adam magnifies rounding)
        difference = float((rank0[name] - alone[name]).abs().max())
        assert difference <= 0.05 * float(alone[name].abs().max()), name
    accuracy = {r: float((p / f"accuracy-{r}.txt").read_text()) for r, p in
                (("0", double), ("1", double), ("single", single))}  # fmt: skip
    assert accuracy["0"] == accuracy["1"]
    assert abs(accuracy["0"] - accuracy["single"]) <= 0.2
    assert (double / "run" / "last.pt").exists()  # written by rank 0


def test_best_trains_its_float32_recipe_where_bf16_is_not_native() -> None:
    assert machine_preset("best", {"precision": "bf16"}) == replace(PRESETS["best"],
                                                                    precision="bf16")  # fmt: skip
    float32 = machine_preset("best", {"precision": "fp32"})
    assert float32 == replace(PRESETS["best"], width=24, epochs=8, precision="fp32")
    assert machine_preset("best", {"precision": "fp32", "width": 32}).width == 32  # user's choice
    assert machine_preset("fast", {"precision": "fp32"}) == replace(PRESETS["fast"],
                                                                    precision="fp32")  # fmt: skip


def test_capability_caps_make_an_avx512_bf16_cpu_train_as_an_avx2_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # ATEN_CPU_CAPABILITY=avx2 and ONEDNN_MAX_CPU_ISA=AVX2 measure the AVX2 case on a big CPU.
    monkeypatch.setattr(torch.cpu, "_is_avx512_bf16_supported", lambda: True)
    monkeypatch.setattr(torch.backends.cpu, "get_cpu_capability", lambda: "AVX512")
    monkeypatch.delenv("ONEDNN_MAX_CPU_ISA", raising=False)
    assert native_bf16_cpu()
    monkeypatch.setenv("ONEDNN_MAX_CPU_ISA", "avx2")
    assert not native_bf16_cpu()
    monkeypatch.setenv("ONEDNN_MAX_CPU_ISA", "AVX512_CORE_AMX")
    assert native_bf16_cpu()
    monkeypatch.setattr(torch.backends.cpu, "get_cpu_capability", lambda: "AVX2")
    assert not native_bf16_cpu()
