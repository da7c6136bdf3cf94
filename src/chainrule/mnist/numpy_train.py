"""``chainrule mnist train --engine chainrule``: the MLP trained by chainrule's own backpropagation.

The same run as :mod:`chainrule.mnist.train` — the same data pipeline and validation
split (:func:`~chainrule.mnist.train.prepare_data`), the same shuffling and
augmentation streams per epoch, the same schedules, progress bar, ``metrics.json``
and atomic checkpoints with exact ``--resume`` — but forward and backward passes
are :mod:`chainrule.tensor` on numpy, and checkpoints are ``.npz`` (``best.npz``,
``last.npz``). ``chainrule mnist evaluate`` and ``predict`` read them through
:func:`chainrule.mnist.npz.load_as_torch`: the weights go into the identical PyTorch network.

>>> from chainrule.mnist.config import PRESETS, replace
>>> config = replace(PRESETS["mlp"], engine="chainrule", hidden=(32,), epochs=1,
...                  limit_train=2000, limit_eval=500, val_size=500)
>>> result = train(config, progress=False)
>>> [sorted(e) for e in result.epochs]
[['epoch', 'loss_curve', 'seconds', 'test_accuracy', 'train_loss', 'val_accuracy']]
>>> result.test_accuracy > 50
True
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from chainrule.errors import ChainruleError
from chainrule.files import write_atomic
from chainrule.mnist.config import LOSS_CURVE_STEPS, TrainConfig, asdict, validate
from chainrule.mnist.data import batch_indices, epoch_generator, random_affine
from chainrule.mnist.npz import CHECKPOINT_FORMAT, build_network, model_weights, read_checkpoint
from chainrule.mnist.optim import scheduled_rate
from chainrule.mnist.train import (
    checkpoint_to_resume,
    cpu_cores,
    diverged,
    epoch_record,
    format_epoch,
    prepare_data,
    progress_bar,
    recorded_test_accuracy,
    refuse_changed_settings,
    update_bar,
)
from chainrule.show.notation import percent
from chainrule.tensor import Tensor, nn, no_grad, optim
from chainrule.tensor import functional as F
from chainrule.tensor.tensor import Array

SUPPORTED_OPTIMIZERS = ("adam", "adamw", "sgd")


def check_supported(config: TrainConfig) -> None:
    """One-line errors for what the chainrule engine does not train (naming the options)."""
    if config.model != "mlp":
        raise ChainruleError.naming(
            "{engine} chainrule trains MLPs (model mlp, any {hidden}); {model_name} is a CNN: "
            "train it with {engine} torch",
            model_name=repr(config.model),
        )
    if config.optimizer not in SUPPORTED_OPTIMIZERS:
        raise ChainruleError.naming(
            "{engine} chainrule has the optimizers {names}, not {optimizer} {value}",
            names=", ".join(SUPPORTED_OPTIMIZERS),
            value=config.optimizer,
        )
    unsupported = {
        "ema_decay": config.ema_decay != 0,
        "device": config.device not in ("auto", "cpu"),
        "precision": config.precision == "bf16",
    }
    for name, given in unsupported.items():
        if given:
            raise ChainruleError.naming(
                "{engine} chainrule runs on the CPU in float32 without weight averaging, "
                "not {" + name + "} {value}",
                value=getattr(config, name),
            )


# ---------------------------------------------------------------- data, network, optimizer


@dataclass
class Arrays:
    """The three splits as float32 [N, 784] arrays and int64 labels (train also as torch)."""

    train_images: torch.Tensor  # [N, 1, 28, 28], for augmentation
    train_x: Array
    train_y: Array
    val_x: Array
    val_y: Array
    test_x: Array
    test_y: Array


def prepare_arrays(config: TrainConfig) -> Arrays:
    """The torch engine's data (same split, limits and normalisation) as numpy arrays."""
    data = prepare_data(config, torch.device("cpu"))

    def flat(images: torch.Tensor) -> Array:
        return images.numpy().reshape(len(images), -1)

    return Arrays(
        data.train_x,
        flat(data.train_x),
        data.train_y.numpy(),
        flat(data.val_x),
        data.val_y.numpy(),
        flat(data.test_x),
        data.test_y.numpy(),
    )


def make_optimizer(config: TrainConfig, network: nn.Module) -> optim.Optimizer:
    """The config's optimizer; weight decay spares biases, as the torch engine's does."""
    params = network.parameters()
    weights = [p for p in params if p.ndim > 1]
    if config.optimizer == "sgd":
        return optim.SGD(params, config.lr, config.momentum, nesterov=True,
                         weight_decay=config.weight_decay, decay=weights)  # fmt: skip
    return optim.Adam(
        params,
        config.lr,
        betas=(config.momentum, config.beta2),
        weight_decay=config.weight_decay,
        decoupled=config.optimizer == "adamw",
        decay=weights,
    )


# ---------------------------------------------------------------- results


@dataclass
class EngineResult:
    """What a run produced; ``network`` is the one selected on validation accuracy (eval mode)."""

    network: nn.Sequential
    config: TrainConfig
    epochs: list[dict[str, Any]]
    test_accuracy: float
    val_accuracy: float | None
    best_epoch: int
    seconds: float
    out_dir: Path | None = None
    checkpoint_seconds: float = 0.0


# ---------------------------------------------------------------- the trainer


class EngineTrainer:
    """One run of the chainrule engine: epoch by epoch, saving .npz checkpoints."""

    def __init__(self, config: TrainConfig, out_dir: Path | None, progress: bool) -> None:
        check_supported(config)
        self.config = config
        self.out_dir = out_dir
        self.progress = progress
        torch.manual_seed(config.seed)
        self.data = prepare_arrays(config)
        self.rng = np.random.default_rng(config.seed)  # initialisation, then dropout
        self.network = build_network(config, self.rng)
        self.optimizer = make_optimizer(config, self.network)
        self.steps_per_epoch = len(self.data.train_x) // config.batch_size
        self.history: list[dict[str, Any]] = []
        self.best_val = -1.0
        self.best_epoch = 0
        self.best_weights: dict[str, Array] | None = None
        self.checkpoint_seconds = 0.0

    # -- one epoch of training

    def train_epoch(self, epoch: int) -> tuple[float, list[list[float]]]:
        """Train one epoch; the mean loss and the loss curve, as the torch engine reports them."""
        config, data = self.config, self.data
        self.network.train()
        generator = epoch_generator(config.seed, epoch)
        augment = config.rotate or config.translate or config.scale
        loss_sum, correct, seen = 0.0, 0, 0
        curve: list[list[float]] = []
        last_total, last_step = 0.0, 0
        bar = progress_bar(self.progress, config, self.steps_per_epoch, epoch)
        batches = batch_indices(len(data.train_x), config.batch_size, generator, drop_last=True)
        for step, batch in enumerate(batches, 1):
            if augment:
                draws = torch.rand(len(batch), 4, generator=generator)
                moved = random_affine(data.train_images[batch], draws, config.rotate,
                                      config.translate, config.scale)  # fmt: skip
                x = moved.numpy().reshape(len(batch), -1)
            else:
                x = data.train_x[batch.numpy()]
            y = data.train_y[batch.numpy()]
            loss, hits = self._step(x, y)
            loss_sum += loss * len(y)
            correct += hits
            seen += len(y)
            if step % LOSS_CURVE_STEPS == 0 or step == self.steps_per_epoch:
                self._check_finite(loss_sum, epoch, step)
                images = (step - last_step) * config.batch_size
                point = epoch - 1 + step / self.steps_per_epoch
                curve.append([round(point, 4), round((loss_sum - last_total) / images, 6)])
                last_total, last_step = loss_sum, step
                if bar is not None:
                    update_bar(bar, config, self.steps_per_epoch, epoch, step,
                               loss_sum / seen, 100 * correct / seen)  # fmt: skip
        if bar is not None:
            bar.close()
        return loss_sum / max(seen, 1), curve

    def _step(self, x: Array, y: Array) -> tuple[float, int]:
        """Forward, backward (chainrule's), one optimizer step; the loss and the hits."""
        logits = self.network(Tensor(x, name="x"))
        loss = F.cross_entropy(logits, y, self.config.label_smoothing)
        self.optimizer.zero_grad()
        loss.backward()
        rate, momentum = scheduled_rate(self.config, self.optimizer.steps, self.steps_per_epoch)
        self.optimizer.step(rate, momentum)
        return loss.item(), int((logits.data.argmax(1) == y).sum())

    def _check_finite(self, loss_sum: float, epoch: int, step: int) -> None:
        if not math.isfinite(loss_sum):
            raise diverged(loss_sum, epoch, step, self.out_dir, "last.npz")

    # -- evaluation

    def accuracy(self, x: Array, y: Array) -> float | None:
        """Accuracy in percent on (x, y), in eval mode, without recording a graph."""
        if len(y) == 0:
            return None
        return accuracy(self.network, x, y, self.config.eval_batch_size)

    # -- checkpoints

    def state(self, epoch: int) -> dict[str, Array]:
        """Everything a resumed run needs, as arrays (text as 0-d string arrays)."""
        meta = {
            "epoch": epoch,
            "history": self.history,
            "best_val": self.best_val,
            "best_epoch": self.best_epoch,
            "optimizer_steps": self.optimizer.steps,
            "rng": self.rng.bit_generator.state,
        }
        arrays: dict[str, Array] = {
            "format": np.array(CHECKPOINT_FORMAT),
            "config": np.array(json.dumps(asdict(self.config))),
            "meta": np.array(json.dumps(meta)),
        }
        arrays |= {f"model/{name}": value for name, value in self.network.state_dict().items()}
        for k, row in enumerate(self.optimizer.buffers):
            arrays |= {f"optimizer/{k}/{i}": buffer for i, buffer in enumerate(row)}
        return arrays

    def save(self, epoch: int, improved: bool) -> None:
        """last.npz (and best.npz when validation improved) and metrics.json, atomically."""
        if self.out_dir is None:
            return
        started = time.perf_counter()
        state = self.state(epoch)
        for name in ["last.npz", "best.npz"] if improved else ["last.npz"]:
            nn.write_npz(self.out_dir / name, state)
        metrics = {"config": asdict(self.config), "epochs": self.history}
        write_atomic(self.out_dir / "metrics.json", json.dumps(metrics, indent=2) + "\n")
        self.checkpoint_seconds += time.perf_counter() - started

    def restore(self, path: Path) -> int:
        """Continue from a checkpoint of the same config; returns the epochs already done."""
        saved, config = read_checkpoint(path)
        refuse_changed_settings(path, config, self.config)
        meta = json.loads(str(saved["meta"]))
        self.network.load_state_dict(model_weights(saved), where=str(path))
        buffers = [
            [saved[f"optimizer/{k}/{i}"] for i in range(len(row))]
            for k, row in enumerate(self.optimizer.buffers)
        ]
        self.optimizer.load_state_dict({"steps": meta["optimizer_steps"], "buffers": buffers})
        self.rng.bit_generator.state = meta["rng"]
        self.history = list(meta["history"])
        self.best_val, self.best_epoch = float(meta["best_val"]), int(meta["best_epoch"])
        best = path.with_name("best.npz")
        if best.is_file():
            self.best_weights = model_weights(read_checkpoint(best)[0])
        return int(meta["epoch"])

    # -- the run

    def run_epoch(self, epoch: int) -> dict[str, Any]:
        started = time.perf_counter()
        train_loss, loss_curve = self.train_epoch(epoch)
        val = self.accuracy(self.data.val_x, self.data.val_y)
        last = epoch == self.config.epochs
        test = (
            self.accuracy(self.data.test_x, self.data.test_y)
            if self.config.test_each_epoch or last
            else None
        )
        improved = val is None or val >= self.best_val  # ties go to the later epoch
        if improved:
            self.best_val, self.best_epoch = (val if val is not None else -1.0), epoch
            self.best_weights = self.network.state_dict()
        record = epoch_record(epoch, train_loss, val, test, started, loss_curve)
        self.history.append(record)
        self.save(epoch, improved)
        return record

    def selected_network(self) -> nn.Sequential:
        """The validation-selected network, in eval mode."""
        network = build_network(self.config, np.random.default_rng(0))
        network.load_state_dict(self.best_weights or self.network.state_dict())
        network.eval()
        return network

    def selected_test_accuracy(self, network: nn.Sequential) -> float:
        recorded = recorded_test_accuracy(self.history, self.best_epoch)
        if recorded is not None:
            return recorded
        found = accuracy(network, self.data.test_x, self.data.test_y, self.config.eval_batch_size)
        return found if len(self.data.test_y) else 0.0


def accuracy(network: nn.Module, x: Array, y: Array, batch_size: int = 1000) -> float:
    """Percent of ``x`` [N, 784] that ``network`` classifies as ``y``, batched, no graph."""
    was_training = network.training
    network.eval()
    correct = 0
    with no_grad():
        for start in range(0, len(y), batch_size):
            logits = network(Tensor(x[start : start + batch_size]))
            correct += int((logits.data.argmax(1) == y[start : start + batch_size]).sum())
    network.train(was_training)
    return 100.0 * correct / max(len(y), 1)


def train(
    config: TrainConfig,
    out_dir: Path | None = None,
    *,
    progress: bool = True,
    resume: bool = False,
) -> EngineResult:
    """Train ``config`` (an MLP) with chainrule's engine; checkpoints to ``out_dir`` when given."""
    from threadpoolctl import threadpool_limits

    started = time.perf_counter()
    config = validate(config)
    # numpy's BLAS threads, as many as the torch engine would use (--threads, else the cores).
    with threadpool_limits(limits=config.threads or cpu_cores(), user_api="blas"):
        return _run(config, out_dir, progress, resume, started)


def _run(
    config: TrainConfig, out_dir: Path | None, progress: bool, resume: bool, started: float
) -> EngineResult:
    out_dir = Path(out_dir) if out_dir is not None else None
    last = checkpoint_to_resume(out_dir, resume, "last.npz", runs=("last.npz", "last.pt"))
    trainer = EngineTrainer(config, out_dir, progress)
    done = trainer.restore(last) if last is not None else 0
    say = print if progress else _silent
    if done:
        say(f"resuming {out_dir} after epoch {done}")
    for epoch in range(done + 1, config.epochs + 1):
        say(format_epoch(trainer.run_epoch(epoch), config.epochs))
    network = trainer.selected_network()
    test = trainer.selected_test_accuracy(network)
    seconds = time.perf_counter() - started
    say(
        f"test accuracy {percent(test)} (model of epoch {trainer.best_epoch}, "
        "chosen on validation) "
        f"in {seconds:.1f} s (chainrule's backpropagation)"
    )
    return EngineResult(
        network=network,
        config=config,
        epochs=trainer.history,
        test_accuracy=test,
        val_accuracy=trainer.best_val if trainer.best_val >= 0 else None,
        best_epoch=trainer.best_epoch,
        seconds=seconds,
        out_dir=out_dir,
        checkpoint_seconds=trainer.checkpoint_seconds,
    )


def _silent(*_: object) -> None:
    pass


def step_graph(network: nn.Module, batch: int = 32, data_dir: str | None = None) -> Tensor:
    """The loss of one training batch (the first test images), as chainrule records it.

    For pictures and explanations of the graph (:mod:`chainrule.tensor.graph`): the
    network's forward pass and the cross-entropy, every node with its shape.
    """
    from chainrule.mnist.data import load_mnist
    from chainrule.mnist.train import normalize

    if batch < 1:
        raise ChainruleError.naming("{batch} must be at least 1, got {value}", value=batch)
    images, labels = load_mnist("test", Path(data_dir) if data_dir else None)
    x = normalize(images[:batch]).numpy().reshape(min(batch, len(images)), -1)
    return F.cross_entropy(network(Tensor(x, name="x")), labels[:batch].numpy())
