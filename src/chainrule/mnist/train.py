"""Training and evaluation loops for MNIST, with checkpoints, exact resume and DDP.

The shape follows pytorch/examples ``mnist/main.py`` (train an epoch, test,
repeat) without its DataLoader: the data sits in memory as normalised tensors,
batches are index permutations and augmentation is one ``grid_sample`` per batch.
Under ``torchrun`` the same code trains with DistributedDataParallel.

>>> import torch
>>> from chainrule.mnist.config import PRESETS, replace
>>> result = train(replace(PRESETS["mlp"], hidden=(32,), epochs=1, limit_train=2000,
...                        limit_eval=500, val_size=500, batch_size=64), progress=False)
>>> [sorted(e) for e in result.epochs]
[['epoch', 'loss_curve', 'seconds', 'test_accuracy', 'train_loss', 'val_accuracy']]
>>> result.test_accuracy > 50
True
"""

from __future__ import annotations

import copy
import io
import json
import math
import os
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from chainrule.errors import ChainruleError
from chainrule.files import atomic_path, write_atomic
from chainrule.mnist.config import (
    EVAL_BATCH_SIZE,
    LOSS_CURVE_STEPS,
    TrainConfig,
    asdict,
    preset,
    validate,
)
from chainrule.mnist.data import (
    MNIST_MEAN,
    MNIST_STD,
    batch_indices,
    epoch_generator,
    load_mnist,
    random_affine,
    shard,
    split_validation,
)
from chainrule.mnist.models import build_model
from chainrule.mnist.optim import Optimizer, scheduled_rate
from chainrule.show.notation import percent

CHECKPOINT_FORMAT = "chainrule-mnist/1"
"""Marks a checkpoint as ours; load_checkpoint refuses anything else."""

# Fields a resumed run may change: they do not alter what is computed (threads
# may change rounding, so resume exactness holds only with the same threads).
RESUMABLE_CHANGES = frozenset({"threads", "device", "data_dir", "eval_batch_size"})


class TrainingDiverged(ChainruleError):
    """The loss became NaN or infinite; the last good checkpoint is kept."""


# ---------------------------------------------------------------- preprocessing


def normalize(images: torch.Tensor) -> torch.Tensor:
    """uint8 images [N, 28, 28] (or [N, 1, 28, 28]) as standardised float32 [N, 1, 28, 28].

    The exact preprocessing of training; evaluation and prediction must use it too.

    >>> round(normalize(torch.full((1, 28, 28), 255, dtype=torch.uint8))[0, 0, 0, 0].item(), 4)
    2.8215
    """
    x = images.to(torch.float32)
    if x.dim() == 3:
        x = x.unsqueeze(1)
    return x.div_(255.0).sub_(MNIST_MEAN).div_(MNIST_STD)


def model_device(model: nn.Module) -> torch.device:
    """The device a model's parameters live on."""
    return next(model.parameters()).device


def predict_logits(
    model: nn.Module, images_uint8: torch.Tensor, batch_size: int = EVAL_BATCH_SIZE
) -> torch.Tensor:
    """Logits [N, 10] (float32, on the CPU) of uint8 images [N, 28, 28], in eval mode, batched.

    >>> from chainrule.mnist.models import mlp
    >>> predict_logits(mlp((8,)), torch.zeros(3, 28, 28, dtype=torch.uint8)).shape
    torch.Size([3, 10])
    """
    device = model_device(model)
    was_training = model.training
    model.eval()
    outputs = []
    with torch.inference_mode():
        for start in range(0, len(images_uint8), batch_size):
            batch = normalize(images_uint8[start : start + batch_size]).to(device)
            outputs.append(model(batch).float().cpu())
    model.train(was_training)
    return torch.cat(outputs) if outputs else torch.empty(0, 10)


def resolve_device(name: str) -> torch.device:
    """``auto`` picks cuda, then mps, then cpu; an unavailable device is a one-line error."""
    mps = getattr(torch.backends, "mps", None)
    has_mps = bool(mps is not None and mps.is_available())
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "mps" if has_mps else "cpu"
    available = {"cpu": True, "cuda": torch.cuda.is_available(), "mps": has_mps}
    if not available.get(name, False):
        raise ChainruleError.naming(
            "{device} {name} is not available here; use {device} cpu", name=name
        )
    return torch.device(name)


def use_bf16(precision: str, device: torch.device) -> bool:
    """Whether to train in bfloat16 autocast: ``auto`` only where the hardware does bf16 natively.

    (On CPUs without AVX512-BF16 or AMX, oneDNN emulates bf16 and is slower than fp32.)
    """
    if precision != "auto":
        return precision == "bf16"
    if device.type == "cuda":
        return bool(torch.cuda.is_bf16_supported())
    if device.type == "cpu":
        return native_bf16_cpu()
    return False


# oneDNN's ISA names below AVX512_CORE_BF16, its first with bf16 arithmetic.
ISAS_WITHOUT_BF16 = frozenset(
    {"SSE41", "AVX", "AVX2", "AVX2_VNNI", "AVX2_VNNI_2", "AVX512_CORE", "AVX512_CORE_VNNI"}
)


def native_bf16_cpu() -> bool:
    """Whether this CPU computes in bf16 natively, as torch and oneDNN are allowed to use it.

    ``ATEN_CPU_CAPABILITY=avx2`` or ``ONEDNN_MAX_CPU_ISA=AVX2`` make an AVX512-BF16
    machine behave as an AVX2 one, so the choice follows them too.
    """
    hardware = torch.cpu._is_avx512_bf16_supported() or torch.cpu._is_amx_tile_supported()
    capped = (
        torch.backends.cpu.get_cpu_capability() not in ("AVX512", "AVX512_BF16", "AMX")
        or os.environ.get("ONEDNN_MAX_CPU_ISA", "").upper() in ISAS_WITHOUT_BF16
    )
    return bool(hardware) and not capped


def machine_preset(name: str, overrides: Mapping[str, Any] | None = None) -> TrainConfig:
    """:func:`~chainrule.mnist.config.preset` for this machine: its float32 recipe where the
    training forward pass cannot run in bf16 (``--precision`` and ``--device`` decide)."""
    config = preset(name, overrides=overrides)
    if use_bf16(config.precision, resolve_device(config.device)):
        return config
    return preset(name, float32=True, overrides=overrides)


def cpu_cores() -> int:
    """CPU cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        return os.cpu_count() or 1


# ---------------------------------------------------------------- distributed


@dataclass
class Distributed:
    """This process's place in a ``torchrun`` job (world_size 1 without one)."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def enabled(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @classmethod
    def from_env(cls) -> Distributed:
        """Read torchrun's RANK / WORLD_SIZE / LOCAL_RANK."""
        world_size = int(os.environ.get("WORLD_SIZE", "1"))
        if world_size <= 1:
            return cls()
        return cls(int(os.environ["RANK"]), world_size, int(os.environ.get("LOCAL_RANK", "0")))

    def start(self, device: torch.device) -> None:
        """Join the process group: gloo on CPU, nccl on CUDA."""
        if not self.enabled or torch.distributed.is_initialized():
            return
        backend = "nccl" if device.type == "cuda" else "gloo"
        torch.distributed.init_process_group(backend)

    def close(self) -> None:
        if self.enabled and torch.distributed.is_initialized():
            torch.distributed.destroy_process_group()

    def sum(self, values: list[float], device: torch.device) -> list[float]:
        """Sum numbers over all ranks (identity when alone)."""
        if not self.enabled:
            return values
        tensor = torch.tensor(values, dtype=torch.float64, device=device)
        torch.distributed.all_reduce(tensor)
        return [float(v) for v in tensor.tolist()]


# ---------------------------------------------------------------- data


@dataclass
class Data:
    """Normalised tensors of the three splits, on the training device."""

    train_x: torch.Tensor
    train_y: torch.Tensor
    val_x: torch.Tensor
    val_y: torch.Tensor
    test_x: torch.Tensor
    test_y: torch.Tensor


def prepare_data(config: TrainConfig, device: torch.device) -> Data:
    """Load, split off validation (fixed by seed), limit, normalise once, move to the device."""
    data_dir = Path(config.data_dir) if config.data_dir else None
    images, labels = load_mnist("train", data_dir)
    test_images, test_labels = load_mnist("test", data_dir)
    for name, values in (("training", labels), ("test", test_labels)):
        if len(values) and (int(values.min()) < 0 or int(values.max()) > 9):
            raise ChainruleError(f"{name} labels must be 0..9 (10 classes)")
    train_x, train_y, val_x, val_y = split_validation(images, labels, config.val_size, config.seed)
    if config.limit_train:
        train_x, train_y = train_x[: config.limit_train], train_y[: config.limit_train]
    if config.limit_eval:
        val_x, val_y = val_x[: config.limit_eval], val_y[: config.limit_eval]
        test_images = test_images[: config.limit_eval]
        test_labels = test_labels[: config.limit_eval]
    if len(train_x) < config.batch_size:
        raise ChainruleError(
            f"batch size {config.batch_size} is larger than the {len(train_x)} training images"
        )
    tensors = (train_x, train_y, val_x, val_y, test_images, test_labels)
    moved = [normalize(t) if t.dtype == torch.uint8 else t for t in tensors]
    return Data(*(t.to(device) for t in moved))


# ---------------------------------------------------------------- optimisation


def make_optimizer(config: TrainConfig, model: nn.Module) -> Optimizer:
    """The config's optimizer; weight decay spares biases and BatchNorm parameters."""
    params = list(model.parameters())
    decay = [p for p in params if p.dim() > 1]
    return Optimizer(
        params, config.optimizer, config.momentum, config.weight_decay, decay, config.beta2
    )


class WeightAverage:
    """Exponential moving average of a model's weights and buffers (evaluated instead of it).

    The decay ramps up as (1 + t) / (10 + t) so that early, random weights fade fast.
    """

    def __init__(self, model: nn.Module, decay: float) -> None:
        self.model = copy.deepcopy(model).eval().requires_grad_(False)
        self.decay = decay
        self.updates = 0

    @torch.no_grad()
    def update(self, model: nn.Module) -> None:
        self.updates += 1
        weight = 1 - min(self.decay, (1 + self.updates) / (10 + self.updates))
        averaged = [*self.model.parameters(), *self._float_buffers(self.model)]
        current = [*model.parameters(), *self._float_buffers(model)]
        torch._foreach_lerp_(averaged, current, weight)

    @staticmethod
    def _float_buffers(model: nn.Module) -> list[torch.Tensor]:
        return [b for b in model.buffers() if b.is_floating_point()]

    def state_dict(self) -> dict[str, Any]:
        return {"model": self.model.state_dict(), "updates": self.updates}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.model.load_state_dict(state["model"])
        self.updates = int(state["updates"])


# ---------------------------------------------------------------- checkpoints


def load_checkpoint(path: Path | str) -> tuple[nn.Module, TrainConfig]:
    """The model (in eval mode, on the CPU) and config stored in a checkpoint.

    Uses the averaged weights when the run kept an EMA. Anything that is not a
    chainrule MNIST checkpoint gives a one-line error naming the file. An ``.npz``
    checkpoint of ``--engine chainrule`` comes back as the same PyTorch network.
    """
    if Path(path).suffix == ".npz":
        from chainrule.mnist.npz import load_as_torch

        return load_as_torch(path)
    state = read_checkpoint(Path(path))
    config = TrainConfig.from_dict(state["config"])
    model = build_model(config)
    weights = evaluated_weights(state)
    try:
        model.load_state_dict(weights)
    except (RuntimeError, KeyError, TypeError) as error:
        first_line = str(error).strip().splitlines()[0]
        message = f"{path}: weights do not fit the {config.model} model ({first_line})"
        raise ChainruleError(message) from None
    return model.eval(), config


def evaluated_weights(state: dict[str, Any]) -> dict[str, Any]:
    """The weights a checkpoint is evaluated with: the averaged ones when it kept an EMA."""
    weights: dict[str, Any] = state["ema"]["model"] if state.get("ema") else state["model"]
    return weights


def read_checkpoint(path: Path) -> dict[str, Any]:
    """The raw checkpoint dict, loaded with ``weights_only=True`` (no code runs)."""
    if not path.is_file():
        raise ChainruleError(f"{path}: no such checkpoint")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # torch raises many kinds for a corrupt or foreign file
        reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise ChainruleError(f"{path}: not a readable checkpoint ({reason[:200]})") from None
    if not isinstance(state, dict) or state.get("format") != CHECKPOINT_FORMAT:
        raise ChainruleError(f"{path}: not a chainrule MNIST checkpoint")
    return state


def refuse_changed_settings(path: Path, saved: TrainConfig, config: TrainConfig) -> None:
    """A one-line error when ``config`` differs from the checkpoint's beyond RESUMABLE_CHANGES.

    Both engines (this one and :mod:`chainrule.mnist.numpy_train`) resume only the same run.

    >>> from chainrule.mnist.config import PRESETS, replace
    >>> refuse_changed_settings(Path("last.pt"), PRESETS["mlp"], replace(PRESETS["mlp"], threads=1))
    >>> refuse_changed_settings(Path("last.pt"), PRESETS["mlp"], replace(PRESETS["mlp"], seed=9))
    Traceback (most recent call last):
    chainrule.errors.ChainruleError: last.pt was trained with other settings (seed); resume \
without changing them, or train into another out_dir
    """
    changed = [
        name
        for name, value in asdict(saved).items()
        if getattr(config, name) != value and name not in RESUMABLE_CHANGES
    ]
    if changed:
        raise ChainruleError.naming(
            "{path} was trained with other settings ({changed}); "
            "resume without changing them, or train into another {out_dir}",
            path=path,
            changed=", ".join(changed),
        )


def checkpoint_to_resume(
    out_dir: Path | None, resume: bool, last: str, runs: tuple[str, ...]
) -> Path | None:
    """``out_dir / last`` when resuming (it must exist), else None; ``runs``: the files that
    mark ``out_dir`` as holding a run already, which a fresh run refuses to overwrite."""
    checkpoint = out_dir / last if out_dir is not None else None
    if resume and checkpoint is None:
        raise ChainruleError.naming("nothing to resume: {resume} needs {out_dir}")
    if resume and checkpoint is not None and not checkpoint.is_file():
        raise ChainruleError.naming("nothing to resume: no checkpoint {path}", path=checkpoint)
    if not resume and out_dir is not None and any((out_dir / name).is_file() for name in runs):
        raise ChainruleError.naming(
            "{folder} already holds a run; pass {resume} to continue it or choose another "
            "{out_dir}",
            folder=out_dir,
        )
    return checkpoint if resume else None


def recorded_test_accuracy(history: list[dict[str, Any]], epoch: int) -> float | None:
    """The test accuracy measured after ``epoch``, if it was (see ``--test-each-epoch``).

    >>> recorded_test_accuracy([{"epoch": 1, "test_accuracy": None},
    ...                         {"epoch": 2, "test_accuracy": 97.5}], 2)
    97.5
    """
    for record in history:
        if record["epoch"] == epoch and record["test_accuracy"] is not None:
            return float(record["test_accuracy"])
    return None


def epoch_record(
    epoch: int,
    train_loss: float,
    val: float | None,
    test: float | None,
    started: float,
    loss_curve: list[list[float]],
) -> dict[str, Any]:
    """An epoch's line of ``metrics.json`` (both engines write the same), timed from ``started``."""
    return {
        "epoch": epoch,
        "train_loss": round(train_loss, 6),
        "val_accuracy": None if val is None else round(val, 4),
        "test_accuracy": None if test is None else round(test, 4),
        "seconds": round(time.perf_counter() - started, 3),
        "loss_curve": loss_curve,
    }


# ---------------------------------------------------------------- results


@dataclass
class TrainResult:
    """What a run produced; ``model`` is the one selected on validation accuracy, in eval mode."""

    model: nn.Module
    config: TrainConfig
    epochs: list[dict[str, Any]]
    test_accuracy: float
    val_accuracy: float | None
    best_epoch: int
    seconds: float
    out_dir: Path | None = None
    checkpoint_seconds: float = 0.0  # time spent writing checkpoints and metrics


# ---------------------------------------------------------------- the trainer


class Trainer:
    """One run: data, model, optimizer, schedule; trains epoch by epoch, saving on rank 0."""

    def __init__(
        self,
        config: TrainConfig,
        out_dir: Path | None,
        progress: bool,
        dist: Distributed,
        on_progress: Callable[[float], None] | None = None,
    ) -> None:
        self.config = config
        self.out_dir = out_dir
        self.progress = progress and dist.is_main
        self.on_progress = on_progress if dist.is_main else None
        self.dist = dist
        self.device = resolve_device(config.device)
        if dist.enabled and self.device.type == "cuda":  # one GPU per process
            self.device = torch.device("cuda", dist.local_rank)
            torch.cuda.set_device(self.device)
        self.bf16 = use_bf16(config.precision, self.device)
        if config.batch_size % dist.world_size:
            raise ChainruleError(
                f"batch size {config.batch_size} must divide among {dist.world_size} processes"
            )
        torch.set_num_threads(config.threads or max(1, cpu_cores() // dist.world_size))
        dist.start(self.device)
        torch.manual_seed(config.seed)
        self.data = prepare_data(config, self.device)
        self.model = self._build_model()
        self.steps_per_epoch = len(self.data.train_x) // config.batch_size
        self.optimizer = make_optimizer(config, self.model)
        self.ema = WeightAverage(self.model, config.ema_decay) if config.ema_decay else None
        self.trainable: nn.Module = self.model
        if dist.enabled:
            device_ids = [self.device.index or 0] if self.device.type == "cuda" else None
            parallel = nn.parallel.DistributedDataParallel
            self.trainable = parallel(self.model, device_ids=device_ids)
        self.history: list[dict[str, Any]] = []
        self.best_val = -1.0
        self.best_epoch = 0
        self.best_weights: dict[str, torch.Tensor] | None = None
        self.checkpoint_seconds = 0.0

    def _build_model(self) -> nn.Module:
        return build_model(self.config).to(self.device)  # .to keeps the memory layout

    @property
    def eval_model(self) -> nn.Module:
        return self.ema.model if self.ema is not None else self.model

    # -- one epoch of training

    def train_epoch(self, epoch: int) -> tuple[float, list[list[float]]]:
        """Train one epoch (1-based).

        Returns the mean training loss over all ranks, and the loss curve: every
        ``LOSS_CURVE_STEPS`` steps, [epochs trained so far, mean loss since the last point].
        """
        self.trainable.train()
        log = EpochLog(self, epoch)
        for step, (x, y) in enumerate(self.batches(epoch), 1):
            self.optimizer.zero_grad()
            logits = self.forward(x)
            loss = F.cross_entropy(logits, y, label_smoothing=self.config.label_smoothing)
            loss.backward()  # type: ignore[no-untyped-call]
            self.optimizer.step(*self.learning_rate())
            if self.ema is not None:
                self.ema.update(self.model)
            log.record(step, loss.detach(), logits.detach(), y)
        return log.finish()

    def batches(self, epoch: int) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        """This rank's share of each shuffled (and augmented) global batch of the epoch."""
        config, data, dist = self.config, self.data, self.dist
        generator = epoch_generator(config.seed, epoch)
        augment = config.rotate or config.translate or config.scale
        for batch in batch_indices(len(data.train_x), config.batch_size, generator, drop_last=True):
            # Draw augmentation for the whole global batch, then take this rank's share, so
            # N processes see exactly the images one process would.
            draws = torch.rand(len(batch), 4, generator=generator) if augment else None
            local = shard(batch, dist.rank, dist.world_size).to(self.device)
            x, y = data.train_x[local], data.train_y[local]
            if draws is not None:
                mine = shard(draws, dist.rank, dist.world_size)
                x = random_affine(x, mine, config.rotate, config.translate, config.scale)
            yield x, y

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Float32 logits of the training forward pass (in bf16 autocast where chosen)."""
        with torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.bf16):
            logits: torch.Tensor = self.trainable(x).float()
        return logits

    def learning_rate(self) -> tuple[float, float | None]:
        """The schedule's (rate, momentum) for the optimizer's next step."""
        return scheduled_rate(self.config, self.optimizer.steps, self.steps_per_epoch)

    def check_finite(self, loss_sum: torch.Tensor, epoch: int, step: int) -> float:
        """The loss summed over ranks (and images); stops training when it is not finite."""
        # Summed over ranks so every process stops at the same step (no rank left waiting).
        (total,) = self.dist.sum([float(loss_sum)], self.device)
        if math.isfinite(total):
            return total
        raise diverged(total, epoch, step, self.out_dir, "last.pt")

    # -- evaluation

    def accuracy(
        self, x: torch.Tensor, y: torch.Tensor, model: nn.Module | None = None
    ) -> float | None:
        """Accuracy in percent of ``model`` (default: the evaluated one) on (x, y), over ranks."""
        if len(y) == 0:
            return None
        model = model if model is not None else self.eval_model
        model.eval()
        mine = shard(torch.arange(len(y), device=self.device), self.dist.rank, self.dist.world_size)
        correct = 0
        with torch.inference_mode():
            for start in range(0, len(mine), self.config.eval_batch_size):
                index = mine[start : start + self.config.eval_batch_size]
                correct += int((model(x[index]).argmax(1) == y[index]).sum())
        (total,) = self.dist.sum([float(correct)], self.device)
        return 100.0 * total / len(y)

    # -- checkpoints

    def state(self, epoch: int) -> dict[str, Any]:
        return {
            "format": CHECKPOINT_FORMAT,
            "config": asdict(self.config),
            "epoch": epoch,
            "model": self.model.state_dict(),
            "ema": self.ema.state_dict() if self.ema is not None else None,
            "optimizer": self.optimizer.state_dict(),
            "rng": torch.get_rng_state(),
            "cuda_rng": torch.cuda.get_rng_state_all() if self.device.type == "cuda" else [],
            "history": self.history,
            "best_val": self.best_val,
            "best_epoch": self.best_epoch,
        }

    def save(self, epoch: int, improved: bool) -> None:
        """Write last.pt (and best.pt when validation improved) and metrics.json, atomically."""
        if self.out_dir is None or not self.dist.is_main:
            return
        started = time.perf_counter()
        buffer = io.BytesIO()
        torch.save(self.state(epoch), buffer)
        names = ["last.pt", "best.pt"] if improved else ["last.pt"]
        for name in names:
            with atomic_path(self.out_dir / name) as tmp:
                tmp.write_bytes(buffer.getbuffer())
        metrics = {"config": asdict(self.config), "epochs": self.history}
        write_atomic(self.out_dir / "metrics.json", json.dumps(metrics, indent=2) + "\n")
        self.checkpoint_seconds += time.perf_counter() - started

    def restore(self, path: Path) -> int:
        """Continue from a checkpoint of the same config; returns the epochs already done."""
        state = read_checkpoint(path)
        refuse_changed_settings(path, TrainConfig.from_dict(state["config"]), self.config)
        self.model.load_state_dict(state["model"])
        if self.ema is not None:
            self.ema.load_state_dict(state["ema"])
        self.optimizer.load_state_dict(state["optimizer"])
        torch.set_rng_state(state["rng"])
        if self.device.type == "cuda" and state["cuda_rng"]:
            torch.cuda.set_rng_state_all(state["cuda_rng"])
        self.history = list(state["history"])
        self.best_val, self.best_epoch = float(state["best_val"]), int(state["best_epoch"])
        best_path = path.with_name("best.pt")
        if best_path.is_file():
            best = read_checkpoint(best_path)
            self.best_weights = evaluated_weights(best)
        return int(state["epoch"])

    # -- the run

    def run_epoch(self, epoch: int) -> dict[str, Any]:
        started = time.perf_counter()
        train_loss, loss_curve = self.train_epoch(epoch)
        val = self.accuracy(self.data.val_x, self.data.val_y)
        test = (
            self.accuracy(self.data.test_x, self.data.test_y)
            if self.config.test_each_epoch or epoch == self.config.epochs
            else None
        )
        # Select on validation only; ties go to the later epoch (further trained).
        improved = val is None or val >= self.best_val
        if improved:
            self.best_val, self.best_epoch = (val if val is not None else -1.0), epoch
            self.best_weights = {k: v.clone() for k, v in self.eval_model.state_dict().items()}
        record = epoch_record(epoch, train_loss, val, test, started, loss_curve)
        self.history.append(record)
        self.save(epoch, improved)
        return record

    def selected_test_accuracy(self, model: nn.Module) -> float:
        """Test accuracy of the selected model (measured after its epoch, or now)."""
        recorded = recorded_test_accuracy(self.history, self.best_epoch)
        if recorded is not None:
            return recorded
        return self.accuracy(self.data.test_x, self.data.test_y, model) or 0.0

    def selected_model(self) -> nn.Module:
        """The validation-selected model (in eval mode), a copy on the training device."""
        model = copy.deepcopy(self.eval_model)
        if self.best_weights is not None:
            model.load_state_dict(self.best_weights)
        return model.eval()


# ---------------------------------------------------------------- one epoch's bookkeeping


class EpochLog:
    """What the training loop records of an epoch, kept out of the loop's way.

    The running loss and accuracy (summed on the device, so no step waits for the
    GPU), the loss curve with its NaN check every ``LOSS_CURVE_STEPS`` steps, and
    the progress bar on a terminal.
    """

    def __init__(self, trainer: Trainer, epoch: int) -> None:
        self.trainer = trainer
        self.epoch = epoch
        device = trainer.device
        self.loss_sum = torch.zeros((), dtype=torch.float64, device=device)
        self.correct = torch.zeros((), dtype=torch.int64, device=device)
        self.seen = 0
        self.curve: list[list[float]] = []
        self.last_total, self.last_step = 0.0, 0
        self.bar = progress_bar(trainer.progress, trainer.config, trainer.steps_per_epoch, epoch)

    def record(self, step: int, loss: torch.Tensor, logits: torch.Tensor, y: torch.Tensor) -> None:
        """Count step ``step`` (1-based): its mean loss and the logits of its images."""
        self.loss_sum += loss * len(y)
        self.correct += (logits.argmax(1) == y).sum()
        self.seen += len(y)
        steps = self.trainer.steps_per_epoch
        if step % LOSS_CURVE_STEPS == 0 or step == steps:
            self._add_point(step, steps)

    def finish(self) -> tuple[float, list[list[float]]]:
        """The epoch's mean loss over all ranks, and its loss curve."""
        if self.bar is not None:
            self.bar.close()
        trainer = self.trainer
        total_loss, total_seen = trainer.dist.sum(
            [float(self.loss_sum), float(self.seen)], trainer.device
        )
        return total_loss / max(total_seen, 1), self.curve

    def _add_point(self, step: int, steps: int) -> None:
        total = self.trainer.check_finite(self.loss_sum, self.epoch, step)
        # Every rank holds batch_size / world_size images of each step.
        images = (step - self.last_step) * self.trainer.config.batch_size
        point = self.epoch - 1 + step / steps
        self.curve.append([round(point, 4), round((total - self.last_total) / images, 6)])
        self.last_total, self.last_step = total, step
        if self.bar is not None:
            seen = self.seen
            loss, accuracy = float(self.loss_sum) / seen, 100 * int(self.correct) / seen
            config, steps = self.trainer.config, self.trainer.steps_per_epoch
            update_bar(self.bar, config, steps, self.epoch, step, loss, accuracy)
        if self.trainer.on_progress is not None:
            self.trainer.on_progress(point / self.trainer.config.epochs)



# ---------------------------------------------------------------- shared by both engines


def diverged(
    loss: float, epoch: int, step: int, out_dir: Path | None, checkpoint: str
) -> TrainingDiverged:
    """The error for a loss that is not finite, naming the checkpoint (``last.pt``) kept."""
    kept = (
        f"last good checkpoint kept: {out_dir / checkpoint} (epoch {epoch - 1})"
        if out_dir is not None and epoch > 1
        else "no checkpoint was written yet"
    )
    return TrainingDiverged.naming(
        "loss became {loss} at epoch {epoch}, step {step}; {kept}; try a lower {lr}",
        loss=loss, epoch=epoch, step=step, kept=kept,
    )


def progress_bar(enabled: bool, config: TrainConfig, steps_per_epoch: int, epoch: int) -> Any:
    """A tqdm bar over the epoch's images on a terminal's stderr; None when off or no terminal."""
    if not enabled or not sys.stderr.isatty():
        return None
    from tqdm import tqdm

    return tqdm(
        total=steps_per_epoch * config.batch_size,
        desc=f"epoch {epoch}/{config.epochs}",
        unit="img",
        unit_scale=True,
        leave=False,
        file=sys.stderr,
    )


def update_bar(
    bar: Any,
    config: TrainConfig,
    steps_per_epoch: int,
    epoch: int,
    step: int,
    loss: float,
    accuracy: float,
) -> None:
    """Move ``bar`` to step ``step`` (1-based), showing the running loss, accuracy and time left."""
    postfix = {"loss": f"{loss:.4f}", "acc": percent(accuracy)}
    if epoch < config.epochs:  # the bar's own estimate covers this epoch only
        per_step = bar.format_dict["elapsed"] / step
        steps_left = steps_per_epoch * (config.epochs - epoch + 1) - step
        postfix["run left"] = bar.format_interval(per_step * steps_left)
    bar.set_postfix(postfix, refresh=False)
    bar.update(step * config.batch_size - bar.n)


def train(
    config: TrainConfig,
    out_dir: Path | None = None,
    *,
    progress: bool = True,
    resume: bool = False,
    on_progress: Callable[[float], None] | None = None,
) -> TrainResult:
    """Train ``config``; write checkpoints and metrics to ``out_dir`` when given.

    ``progress`` shows a bar (on a terminal) and prints a line per epoch;
    ``resume`` continues the run saved in ``out_dir/last.pt``; ``on_progress``
    is called every few steps with the fraction of training done (0..1], e.g. to
    show it on a web page. Under torchrun every process calls this; only rank 0
    prints, writes and reports progress.
    """
    started = time.perf_counter()
    config = validate(config)
    dist = Distributed.from_env()
    try:
        return _run(config, out_dir, progress, resume, dist, started, on_progress)
    finally:
        dist.close()


def _run(
    config: TrainConfig,
    out_dir: Path | None,
    progress: bool,
    resume: bool,
    dist: Distributed,
    started: float,
    on_progress: Callable[[float], None] | None = None,
) -> TrainResult:
    out_dir = Path(out_dir) if out_dir is not None else None
    last = checkpoint_to_resume(out_dir, resume, "last.pt", runs=("last.pt", "last.npz"))
    trainer = Trainer(config, out_dir, progress, dist, on_progress)
    done = trainer.restore(last) if last is not None else 0
    say = print if progress and dist.is_main else _silent
    if done:
        say(f"resuming {out_dir} after epoch {done}")
    for epoch in range(done + 1, config.epochs + 1):
        say(format_epoch(trainer.run_epoch(epoch), config.epochs))
    model = trainer.selected_model()
    test = trainer.selected_test_accuracy(model)
    seconds = time.perf_counter() - started
    result = TrainResult(
        model=model,
        config=config,
        epochs=trainer.history,
        test_accuracy=test,
        val_accuracy=trainer.best_val if trainer.best_val >= 0 else None,
        best_epoch=trainer.best_epoch,
        seconds=seconds,
        out_dir=out_dir,
        checkpoint_seconds=trainer.checkpoint_seconds,
    )
    say(
        f"test accuracy {percent(test)} (model of epoch {trainer.best_epoch}, "
        "chosen on validation) "
        f"in {seconds:.1f} s"
    )
    return result


def _silent(*_: object) -> None:
    pass


def format_epoch(record: dict[str, Any], epochs: int) -> str:
    """The one-line summary of an epoch.

    >>> format_epoch({"epoch": 1, "train_loss": 0.25, "val_accuracy": 98.5,
    ...               "test_accuracy": 98.61, "seconds": 3.2}, 2)
    'epoch 1/2  loss 0.2500  val 98.50%  test 98.61%  3.2 s'
    """

    def percent_or_dash(value: float | None) -> str:
        return "-" if value is None else percent(value)

    return (
        f"epoch {record['epoch']}/{epochs}  loss {record['train_loss']:.4f}  "
        f"val {percent_or_dash(record['val_accuracy'])}  "
        f"test {percent_or_dash(record['test_accuracy'])}  "
        f"{record['seconds']:.1f} s"
    )
