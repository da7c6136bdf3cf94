"""`chainrule mnist train --engine chainrule`: the MLP trained by chainrule's backpropagation."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from threadpoolctl import threadpool_limits

from chainrule.cli import main
from chainrule.errors import ChainruleError
from chainrule.mnist.config import PRESETS, replace
from chainrule.mnist.npz import load_network, model_weights, read_checkpoint
from chainrule.mnist.numpy_train import EngineTrainer, train
from chainrule.mnist.train import load_checkpoint, normalize
from chainrule.tensor import Tensor, no_grad

# A small run: 2,000 training images, 500 validation and 500 test images.
SMALL = ["--preset", "mlp", "--engine", "chainrule", "--hidden", "32", "--limit-train", "2000"]
SMALL += ["--val-size", "500", "--limit-eval", "500", "--batch-size", "128", "--threads", "1"]
SMALL += ["--quiet"]
SMALL_CONFIG = replace(
    PRESETS["mlp"], engine="chainrule", hidden=(32,), limit_train=2000, val_size=500,
    limit_eval=500, batch_size=128, threads=1,
)  # fmt: skip


def test_cli_trains_writes_npz_checkpoints_and_metrics(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "run"
    assert main(["mnist", "train", *SMALL, "--epochs", "2", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert f"saved {out / 'best.npz'}, last.npz and metrics.json" in printed
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["config"]["engine"] == "chainrule"
    assert [e["epoch"] for e in metrics["epochs"]] == [1, 2]
    assert metrics["epochs"][1]["train_loss"] < metrics["epochs"][0]["train_loss"]
    assert metrics["epochs"][1]["test_accuracy"] > 70  # 2,000 images, 2 epochs (torch: 70.8)
    assert len(metrics["epochs"][0]["loss_curve"]) >= 1
    arrays, config = read_checkpoint(out / "last.npz")
    assert config.hidden == (32,)
    assert model_weights(arrays)["1.weight"].shape == (784, 32)


@pytest.mark.slow  # evaluates the whole test split and draws its two pictures
def test_evaluate_and_predict_accept_npz_checkpoints(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "run"
    assert main(["mnist", "train", *SMALL, "--epochs", "1", "--out", str(out)]) == 0
    capsys.readouterr()
    # The PyTorch network evaluate and predict run gives the chainrule network's logits.
    model, _ = load_checkpoint(out / "best.npz")
    network, _ = load_network(out / "best.npz")
    images = torch.randint(0, 256, (5, 28, 28), dtype=torch.uint8)
    with torch.no_grad():
        theirs = model(normalize(images)).numpy()
    with no_grad():
        ours = network(Tensor(normalize(images).numpy())).data
    np.testing.assert_allclose(ours, theirs, atol=1e-4)

    data = str(Path(__file__).resolve().parents[1] / "data" / "mnist")
    args = ["--checkpoint", str(out / "best.npz"), "--data-dir", data, "--out", str(tmp_path)]
    assert main(["mnist", "evaluate", *args]) == 0
    assert "accuracy" in capsys.readouterr().out
    digit = np.zeros((28, 28), dtype=np.uint8)
    digit[4:24, 13:16] = 255  # a one
    Image.fromarray(digit).save(tmp_path / "one.png")
    assert main(["mnist", "predict", "--checkpoint", str(out / "best.npz"),
                 str(tmp_path / "one.png")]) == 0  # fmt: skip
    assert "one.png:" in capsys.readouterr().out


def test_resume_after_an_epoch_ends_with_identical_weights(tmp_path: Path) -> None:
    """Two epochs in one go equal one epoch, a stop, then --resume (dropout's stream too)."""
    config = replace(SMALL_CONFIG, epochs=2, dropout=0.2)
    train(config, tmp_path / "straight", progress=False)
    stopped = EngineTrainer(config, tmp_path / "cut", progress=False)
    # train() limits BLAS to config.threads; by hand, so must the test (threads change rounding)
    with threadpool_limits(limits=config.threads, user_api="blas"):
        stopped.run_epoch(1)  # writes last.npz after epoch 1, then the process "dies"
    with pytest.raises(ChainruleError, match="already holds a run"):
        train(config, tmp_path / "cut", progress=False)
    with pytest.raises(ChainruleError, match="other settings"):
        train(replace(config, lr=0.1), tmp_path / "cut", progress=False, resume=True)
    resumed = train(config, tmp_path / "cut", progress=False, resume=True)
    assert [e["epoch"] for e in resumed.epochs] == [1, 2]
    straight = model_weights(read_checkpoint(tmp_path / "straight" / "last.npz")[0])
    after = model_weights(read_checkpoint(tmp_path / "cut" / "last.npz")[0])
    for name, value in straight.items():
        np.testing.assert_array_equal(after[name], value, err_msg=name)


def test_bad_engine_settings_are_one_line_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["mnist", "train", "--preset", "fast", "--engine", "chainrule", "--quiet",
                 "--out", str(tmp_path / "x")]) == 2  # fmt: skip
    assert "--engine chainrule trains MLPs (model mlp, any --hidden)" in capsys.readouterr().err
    assert main(["mnist", "train", *SMALL, "--optimizer", "adadelta"]) == 2
    assert "adadelta" in capsys.readouterr().err
    (tmp_path / "foreign.npz").write_bytes(b"PK junk")
    assert main(["mnist", "evaluate", "--checkpoint", str(tmp_path / "foreign.npz")]) == 2
    assert capsys.readouterr().err.startswith("error: ")
    np.savez(tmp_path / "weights.npz", a=np.zeros(2))
    assert main(["mnist", "predict", "--checkpoint", str(tmp_path / "weights.npz"), "x.png"]) == 2
    assert "not a chainrule MNIST checkpoint" in capsys.readouterr().err


def test_graph_command_explains_and_draws_a_training_step(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    picture = tmp_path / "mlp.svg"
    args = ["mnist", "graph", "--hidden", "16", "--batch", "8", "--renderer", "builtin"]
    assert main([*args, "--out", str(picture)]) == 0
    text = capsys.readouterr().out
    assert "v1 = x @ W1" in text and "[8×16]" in text
    assert "∂L/∂W1 = xᵀ · ∂L/∂v1" in text and "[784×8] · [8×16] → [784×16]" in text
    assert picture.read_text().count('class="node"') > 10
    assert main(["mnist", "graph", "--out", str(tmp_path / "mlp.jpg")]) == 2
    assert "must end in .svg" in capsys.readouterr().err
    assert main(["mnist", "graph", "--batch", "0"]) == 2
    assert "--batch must be at least 1" in capsys.readouterr().err


def test_either_engine_refuses_an_out_dir_holding_the_others_run(tmp_path: Path) -> None:
    from chainrule.mnist.train import train as train_with_torch

    (tmp_path / "last.npz").write_bytes(b"a chainrule-engine run")
    with pytest.raises(ChainruleError, match="already holds a run"):
        train_with_torch(replace(SMALL_CONFIG, engine="torch"), tmp_path, progress=False)
    (tmp_path / "last.npz").rename(tmp_path / "last.pt")
    with pytest.raises(ChainruleError, match="already holds a run"):
        train(SMALL_CONFIG, tmp_path, progress=False)
