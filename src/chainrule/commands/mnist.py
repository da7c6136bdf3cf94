"""``chainrule mnist``: train, evaluate and use handwritten-digit recognizers.

One nested subcommand per task (``train``; ``evaluate`` and ``predict`` join it
here), each with its own ``register_*`` and ``run_*`` function.
"""

from __future__ import annotations

import argparse
import dataclasses
import time
from pathlib import Path
from typing import Any, get_args

from chainrule.errors import ChainruleError

# Developer options: hidden from --help, used by tests to train on a subset.
HIDDEN_FIELDS = frozenset({"limit_train", "limit_eval"})


def register(subcommands: Any) -> None:
    parser = subcommands.add_parser(
        "mnist",
        help="train, evaluate and use a handwritten-digit recognizer (MNIST)",
        description="Handwritten digit recognition with PyTorch on MNIST.",
    )
    nested = parser.add_subparsers(dest="mnist_command", required=True, parser_class=type(parser))
    register_train(nested)


# ---------------------------------------------------------------- train


def register_train(nested: Any) -> None:
    from chainrule.mnist.config import PRESETS

    parser = nested.add_parser(
        "train",
        help="train a network (presets: " + ", ".join(PRESETS) + ")",
        description="Train a digit recognizer. Every config field can be overridden; "
        "under `torchrun --nproc_per_node=N` the same command trains with DDP.",
    )
    parser.add_argument("--preset", choices=list(PRESETS), default="fast", help="the recipe")
    parser.add_argument("--out", type=Path, metavar="RUN_DIR", help="write checkpoints here")
    parser.add_argument("--resume", action="store_true", help="continue the run in RUN_DIR")
    parser.add_argument("--quiet", action="store_true", help="no progress bar or epoch lines")
    add_config_arguments(parser)
    parser.set_defaults(run=run_train)


def add_config_arguments(parser: argparse.ArgumentParser) -> None:
    """One ``--field-name`` option per TrainConfig field, typed after its annotation."""
    from chainrule.mnist import config as config_module

    helps = config_module.field_help()
    literals = {
        "ModelName": config_module.ModelName,
        "OptimizerName": config_module.OptimizerName,
        "ScheduleName": config_module.ScheduleName,
        "DeviceName": config_module.DeviceName,
    }
    group = parser.add_argument_group("config overrides (default: the preset's value)")
    for field in dataclasses.fields(config_module.TrainConfig):
        flag = "--" + field.name.replace("_", "-")
        kind = str(field.type)
        shown = argparse.SUPPRESS if field.name in HIDDEN_FIELDS else helps.get(field.name)
        options: dict[str, Any] = {"dest": field.name, "default": None, "help": shown}
        if kind == "bool":
            options["action"] = argparse.BooleanOptionalAction
        elif kind == "tuple[int, ...]":
            options.update(type=int, nargs="+", metavar="N")
        elif kind in literals:
            options["choices"] = get_args(literals[kind])
        else:
            options["type"] = {"int": int, "float": float}.get(kind, str)
            options["metavar"] = "DIR" if field.name == "data_dir" else kind.upper()
        group.add_argument(flag, **options)


def config_from_args(args: argparse.Namespace) -> Any:
    """The preset with the options given on the command line applied (and checked)."""
    from chainrule.mnist.config import PRESETS, TrainConfig, asdict

    values = asdict(PRESETS[args.preset])
    for name in values:
        given = getattr(args, name, None)
        if given is not None:
            values[name] = tuple(given) if isinstance(given, list) else given
    return TrainConfig.from_dict(values)


def run_train(args: argparse.Namespace) -> int:
    from chainrule.mnist.train import train

    config = config_from_args(args)
    out = args.out
    if out is None:
        if args.resume:
            raise ChainruleError("--resume needs --out RUN_DIR (the run to continue)")
        out = Path("runs") / f"mnist-{args.preset}-{time.strftime('%Y%m%d-%H%M%S')}"
    result = train(config, out, progress=not args.quiet, resume=args.resume)
    if args.quiet:
        print(f"test accuracy {result.test_accuracy:.2f}%")
    if result.out_dir is not None and _is_main_process():
        print(f"saved {result.out_dir / 'best.pt'}, last.pt and metrics.json")
    return 0


def _is_main_process() -> bool:
    import os

    return os.environ.get("RANK", "0") == "0"
