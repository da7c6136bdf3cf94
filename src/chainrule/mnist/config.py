"""Training configurations: one typed dataclass, one preset per recipe.

Every field can be overridden on the command line (``--batch-size 128``; the
comment after a field is its ``--help``), and a config round-trips through a
plain dict (``asdict`` / :meth:`TrainConfig.from_dict`), which is how
checkpoints and ``metrics.json`` store it.

>>> config = PRESETS["fast"]
>>> TrainConfig.from_dict(asdict(config)) == config
True
>>> replace(config, epochs=3).epochs
3
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields, replace
from typing import Any, Literal, get_args

from chainrule.errors import ChainruleError

__all__ = [
    "EVAL_BATCH_SIZE", "FLOAT32_CHANGES", "PRESETS", "TrainConfig", "asdict", "preset", "replace",
]  # fmt: skip

ModelName = Literal["mlp", "examples", "fast", "best"]
OptimizerName = Literal["adam", "adamw", "sgd", "adadelta"]
ScheduleName = Literal["onecycle", "cosine", "step", "constant"]
DeviceName = Literal["auto", "cpu", "cuda", "mps"]
PrecisionName = Literal["auto", "fp32", "bf16"]
EngineName = Literal["torch", "chainrule"]


EVAL_BATCH_SIZE = 256
"""Images per forward pass when evaluating: on 2 AVX2 cores ``best`` evaluates 1.4x and
``examples`` 1.2x faster in batches of 256 than of 1000, whose activations outgrow the
cache; ``fast`` and the MLP take the same (``benchmarks/mnist_eval_batch.py``)."""

LOSS_CURVE_STEPS = 20
"""Training steps per point of the loss curve in ``metrics.json`` (and per check for NaN)."""


@dataclass(frozen=True)
class TrainConfig:
    """Everything that determines a training run (and nothing that does not)."""

    # --- model ---
    model: ModelName = "fast"  # architecture (see chainrule.mnist.models)
    hidden: tuple[int, ...] = (256,)  # fully connected hidden layers (mlp, fast)
    width: int = 32  # CNNs: channels of the first stage (later stages scale from it)
    dropout: float = 0.0  # dropout before the classifier (examples: its own fixed two dropouts)
    # --- data ---
    data_dir: str | None = None  # folder with the four IDX files; None = the repo's data/mnist
    val_size: int = 5000  # training images set aside for validation (model selection)
    limit_train: int = 0  # developer option: train on the first N training images only (0 = all)
    limit_eval: int = 0  # developer option: evaluate on the first N val/test images only (0 = all)
    # --- optimisation ---
    epochs: int = 1  # passes over the training split
    batch_size: int = 256  # global batch (split over processes under torchrun)
    optimizer: OptimizerName = "adam"  # adam, adamw, sgd (Nesterov) or adadelta
    lr: float = 0.01  # peak learning rate
    momentum: float = 0.9  # sgd momentum / adam beta1 (onecycle cycles it, see cycle_momentum)
    beta2: float = 0.999  # adam/adamw: decay of the squared-gradient average
    cycle_momentum: bool = True  # onecycle: cycle momentum 0.95 -> 0.85 -> 0.95 against the rate
    weight_decay: float = 0.0  # L2 (sgd, adam) or decoupled (adamw) weight decay
    schedule: ScheduleName = "onecycle"  # learning-rate schedule over all steps (step: per epoch)
    warmup: float = 0.25  # onecycle: fraction of steps spent warming up
    gamma: float = 0.7  # step: multiply the rate by gamma after each epoch
    label_smoothing: float = 0.0  # cross-entropy label smoothing
    ema_decay: float = 0.0  # exponential moving average of the weights (0 = off); eval uses it
    # --- augmentation (random affine on whole batches; all 0 = off) ---
    rotate: float = 0.0  # max rotation in degrees
    translate: float = 0.0  # max shift as a fraction of the image size
    scale: float = 0.0  # max relative zoom (0.1 = 0.9x..1.1x)
    # --- run ---
    engine: EngineName = "torch"  # torch, or chainrule's own backpropagation (MLPs, numpy, .npz)
    seed: int = 0  # seeds initialisation, validation split, shuffling, augmentation, dropout
    threads: int = 0  # CPU threads per process (0 = cores // processes)
    device: DeviceName = "auto"  # auto picks cuda, then mps, then cpu
    channels_last: bool = True  # NHWC memory layout for CNNs (faster convolutions on CPU)
    precision: PrecisionName = "auto"  # training forward pass: auto = bf16 where the chip has it
    eval_batch_size: int = EVAL_BATCH_SIZE  # batch size for validation and test passes
    test_each_epoch: bool = True  # report test accuracy after every epoch (never used to choose)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainConfig:
        """Rebuild a config from :func:`asdict` output (e.g. read from JSON); checks every field.

        >>> TrainConfig.from_dict({"model": "mlp", "hidden": [100, 50]}).hidden
        (100, 50)
        >>> TrainConfig.from_dict({"colour": "red"})
        Traceback (most recent call last):
        chainrule.errors.ChainruleError: unknown config field 'colour'
        """
        known = {f.name: f for f in fields(cls)}
        values: dict[str, Any] = {}
        for name, value in data.items():
            if name not in known:
                raise ChainruleError(f"unknown config field {name!r}")
            values[name] = _coerce(name, known[name].type, value)
        return validate(cls(**values))


def _coerce(name: str, annotation: Any, value: Any) -> Any:
    """Check one field value against its annotation (a string, as annotations are postponed)."""
    kind = str(annotation)
    if kind == "tuple[int, ...]":
        if not isinstance(value, list | tuple) or not all(_is_int(v) for v in value):
            raise ChainruleError(f"config field {name!r} must be a list of integers, got {value!r}")
        return tuple(int(v) for v in value)
    if kind == "str | None":
        if value is not None and not isinstance(value, str):
            raise ChainruleError(f"config field {name!r} must be a string, got {value!r}")
        return value
    checks: dict[str, Any] = {"int": _is_int, "float": _is_number, "bool": _is_bool}
    if kind in checks:
        if not checks[kind](value):
            raise ChainruleError(f"config field {name!r} must be {kind}, got {value!r}")
        return float(value) if kind == "float" else value
    choices = LITERALS[kind]
    if value not in choices:
        raise ChainruleError(f"config field {name!r} must be one of {', '.join(choices)}")
    return value


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _is_bool(value: Any) -> bool:
    return isinstance(value, bool)


LITERALS: dict[str, tuple[str, ...]] = {
    "ModelName": get_args(ModelName),
    "OptimizerName": get_args(OptimizerName),
    "ScheduleName": get_args(ScheduleName),
    "DeviceName": get_args(DeviceName),
    "PrecisionName": get_args(PrecisionName),
    "EngineName": get_args(EngineName),
}


def validate(config: TrainConfig) -> TrainConfig:
    """Reject values no run can use, with a one-line error naming the field."""
    positive = ("epochs", "batch_size", "width", "eval_batch_size")
    for name in positive:
        if getattr(config, name) < 1:
            raise ChainruleError(f"{name} must be at least 1, got {getattr(config, name)}")
    non_negative = ("val_size", "limit_train", "limit_eval", "threads", "weight_decay", "rotate",
                    "translate", "scale", "label_smoothing", "momentum", "seed")  # fmt: skip
    for name in non_negative:
        if getattr(config, name) < 0:
            raise ChainruleError(f"{name} must not be negative, got {getattr(config, name)}")
    if not config.lr > 0:
        raise ChainruleError(f"lr must be positive, got {config.lr}")
    unit = ("dropout", "ema_decay", "label_smoothing", "warmup", "momentum", "beta2", "scale")
    for name in unit:
        if not 0 <= getattr(config, name) < 1:
            raise ChainruleError(f"{name} must be in [0, 1), got {getattr(config, name)}")
    if config.model in ("mlp", "fast") and config.hidden and min(config.hidden) < 1:
        raise ChainruleError("hidden layer sizes must be positive")
    if config.model == "mlp" and not config.hidden:
        raise ChainruleError("the mlp needs at least one hidden layer")
    return config


PRESETS: dict[str, TrainConfig] = {
    # The sheet's kind of network: flatten -> hidden layer(s) -> 10.
    "mlp": TrainConfig(
        model="mlp",
        hidden=(512,),
        epochs=3,
        batch_size=512,
        lr=5e-3,
        momentum=0.7,
        beta2=0.9,
        cycle_momentum=False,
        label_smoothing=0.1,
        channels_last=False,
    ),
    # pytorch/examples mnist/main.py: its network, Adadelta lr 1.0, StepLR(gamma=0.7), batch 64.
    "examples": TrainConfig(
        model="examples",
        epochs=14,
        batch_size=64,
        optimizer="adadelta",
        lr=1.0,
        schedule="step",
        gamma=0.7,
        precision="fp32",  # as the example; in bf16 one seed in three lost 0.7% after epoch 1
    ),
    # The quickest to 99%: a small CNN for one epoch, Adam as the fastest public recipe
    # sets it (beta1 0.7 held, beta2 0.9: a one-epoch run needs a short memory).
    "fast": TrainConfig(
        model="fast",
        width=16,
        hidden=(256,),
        epochs=1,
        batch_size=256,
        lr=0.01,
        momentum=0.7,
        beta2=0.9,
        cycle_momentum=False,
        label_smoothing=0.1,
    ),
    # The most accurate in about a quarter of an hour on 2 cores: a BatchNorm CNN,
    # augmentation, EMA (24 channels for 8 epochs where it trains in float32: FLOAT32_CHANGES).
    "best": TrainConfig(
        model="best",
        width=32,
        dropout=0.1,
        epochs=18,
        batch_size=128,
        optimizer="sgd",
        lr=0.1,
        weight_decay=5e-4,
        label_smoothing=0.1,
        ema_decay=0.999,
        rotate=12.0,
        translate=0.12,
        scale=0.12,
    ),
}
"""The named recipes of ``chainrule mnist train --preset NAME``."""


FLOAT32_CHANGES: dict[str, dict[str, Any]] = {
    # 32 channels for 18 epochs take 46 minutes in float32 on 2 AVX2 cores (11 in bf16 on
    # AVX512-BF16). 16 channels level off at 99.67% however long they train (18 or 24
    # epochs); 24 channels, 2.2x the cost a step, reach 99.68-99.70% in 8 (as long in all).
    "best": {"width": 24, "epochs": 8},
}
"""What a preset changes where it trains in float32 (a CPU without native bf16), to keep
the time it promises; the presets not named here are the same everywhere."""


def preset(
    name: str, float32: bool = False, overrides: Mapping[str, Any] | None = None
) -> TrainConfig:
    """The preset ``name``, in its float32 recipe if asked, with ``overrides`` applied last.

    >>> preset("best", float32=True).width, preset("best").width
    (24, 32)
    >>> preset("best", float32=True, overrides={"width": 16}).width  # the user's choice wins
    16
    >>> preset("fast", float32=True) == PRESETS["fast"]
    True
    """
    values = asdict(PRESETS[name])
    if float32:
        values.update(FLOAT32_CHANGES.get(name, {}))
    values.update(overrides or {})
    return TrainConfig.from_dict(values)
