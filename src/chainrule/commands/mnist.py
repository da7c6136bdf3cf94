"""``chainrule mnist``: train, evaluate and use handwritten-digit recognizers.

One nested subcommand per task (``train``; ``evaluate`` and ``predict`` join it
here), each with its own ``register_*`` and ``run_*`` function.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path
from typing import Any

from chainrule.commands.config_options import add_config_options, given_options
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
    register_evaluate(nested)
    register_predict(nested)
    register_graph(nested)


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
    # dest out_dir, train()'s own name, so its errors name the flag (ChainruleError.naming).
    parser.add_argument("--out", dest="out_dir", type=Path, metavar="RUN_DIR",
                        help="write checkpoints here")
    parser.add_argument("--resume", action="store_true", help="continue the run in RUN_DIR")
    parser.add_argument("--quiet", action="store_true", help="no progress bar or epoch lines")
    add_config_arguments(parser)
    parser.set_defaults(run=run_train)


def add_config_arguments(parser: argparse.ArgumentParser) -> None:
    """One ``--field-name`` option per TrainConfig field, typed after its annotation."""
    from chainrule.mnist.config import TrainConfig

    group = parser.add_argument_group("config overrides (default: the preset's value)")
    add_config_options(group, TrainConfig, hidden=HIDDEN_FIELDS, metavars={"data_dir": "DIR"})


def config_from_args(args: argparse.Namespace) -> Any:
    """The preset (its float32 recipe on a CPU without bf16) with the options given applied."""
    from chainrule.mnist.config import TrainConfig
    from chainrule.mnist.train import machine_preset

    return machine_preset(args.preset, given_options(args, TrainConfig))


def run_train(args: argparse.Namespace) -> int:
    quiet_openmp_threads()
    from chainrule.mnist.train import train

    config = config_from_args(args)
    out = args.out_dir
    if out is None:
        if args.resume:
            raise ChainruleError("--resume needs --out RUN_DIR (the run to continue)")
        out = Path("runs") / f"mnist-{args.preset}-{time.strftime('%Y%m%d-%H%M%S')}"
    if config.engine == "chainrule":  # chainrule's own backpropagation on numpy
        from chainrule.mnist.numpy_train import train as train_with_chainrule

        result: Any = train_with_chainrule(config, out, progress=not args.quiet, resume=args.resume)
        suffix = ".npz"
    else:
        result = train(config, out, progress=not args.quiet, resume=args.resume)
        suffix = ".pt"
    if args.quiet:
        print(f"test accuracy {result.test_accuracy:.2f}%")
    if result.out_dir is not None and _is_main_process():
        print(f"saved {result.out_dir / ('best' + suffix)}, last{suffix} and metrics.json")
    return 0


def quiet_openmp_threads() -> None:
    """Let idle OpenMP threads sleep instead of spinning, unless the user chose otherwise.

    With torch's default (spinning) another busy program on a 2-core laptop makes
    training 1.4x (one other job) to 3-4x (several) slower, as the spinning
    threads fight it for the cores; sleeping costs about a tenth on a free
    machine (docs/benchmarks.md). Effective only before torch is imported, which
    the CLI has not done yet.
    """
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


def _is_main_process() -> bool:
    return os.environ.get("RANK", "0") == "0"


# ---------------------------------------------------------------- evaluate


def register_evaluate(nested: Any) -> None:
    parser = nested.add_parser(
        "evaluate",
        help="test accuracy, per-class precision/recall, confusion matrix, mistakes",
        description="Evaluate a checkpoint on the test split: print accuracy and per-class "
        "precision/recall; write a confusion-matrix PNG and a gallery of misclassified digits.",
    )
    parser.add_argument(
        "--checkpoint",
        type=Path,
        required=True,
        metavar="FILE",
        help="best.pt or last.pt of `chainrule mnist train` (.npz: --engine chainrule)",
    )
    parser.add_argument(
        "--data-dir",
        type=Path,
        metavar="DIR",
        help="folder with the IDX files (default: what the model was trained on)",
    )
    parser.add_argument(
        "--out",
        type=Path,
        metavar="DIR",
        help="where the PNGs go (default: the checkpoint's folder)",
    )
    parser.add_argument(
        "--max-images",
        type=int,
        default=60,
        metavar="N",
        help="misclassified digits in the gallery (default 60)",
    )
    parser.set_defaults(run=run_evaluate)


def run_evaluate(args: argparse.Namespace) -> int:
    from chainrule.mnist import evaluate
    from chainrule.mnist.train import load_checkpoint

    if args.max_images < 1:
        raise ChainruleError(f"--max-images must be at least 1, got {args.max_images}")
    model, config = load_checkpoint(args.checkpoint)
    images, labels = evaluate.load_test_split(args.data_dir or config.data_dir)
    result = evaluate.evaluate_model(model, images, labels)
    print(evaluate.format_report(result))
    out = args.out if args.out is not None else args.checkpoint.parent
    confusion = out / f"confusion-{args.checkpoint.stem}.png"
    gallery = out / f"misclassified-{args.checkpoint.stem}.png"
    evaluate.plot_confusion(result, confusion)
    evaluate.plot_misclassified(result, images, gallery, max_images=args.max_images)
    print(f"\nwrote {confusion} and {gallery}")
    return 0


# ---------------------------------------------------------------- predict


def register_predict(nested: Any) -> None:
    parser = nested.add_parser(
        "predict",
        help="recognize the digit in image files (PNG, JPEG, a photo of a digit on paper)",
        description="Read each image (any size or colours), prepare it as MNIST was made "
        "(cropped, 20x20, centred by mass in 28x28) and print the digit and its probability.",
    )
    parser.add_argument(
        "--checkpoint",
        type=Path,
        required=True,
        metavar="FILE",
        help="best.pt or last.pt of `chainrule mnist train` (.npz: --engine chainrule)",
    )
    parser.add_argument("images", nargs="+", metavar="IMAGE", help="image files, one digit each")
    parser.add_argument(
        "--format",
        choices=["text", "json"],
        default="text",
        help='text: FILE: DIGIT (PROBABILITY); json: a list of {"file", "digit", "probabilities"}',
    )
    parser.add_argument(
        "--save-digits",
        type=Path,
        metavar="DIR",
        help="also write each 28x28 digit as the network sees it (NAME.png)",
    )
    parser.set_defaults(run=run_predict)


def run_predict(args: argparse.Namespace) -> int:
    from chainrule.mnist import predict
    from chainrule.mnist.train import load_checkpoint

    model, _ = load_checkpoint(args.checkpoint)
    digits = [predict.load_digit(path) for path in args.images]
    predictions = predict.classify(model, args.images, digits)
    print(predict.FORMATS[args.format](predictions))
    if args.save_digits is not None:
        for path, digit in zip(args.images, digits, strict=True):
            predict.save_digit(digit, args.save_digits / f"{Path(path).stem}.png")
    return 0


# ---------------------------------------------------------------- graph


def register_graph(nested: Any) -> None:
    parser = nested.add_parser(
        "graph",
        help="the tensor graph of one training step, drawn and explained (chainrule's engine)",
        description="Record one training step of an MLP with chainrule's tensors: print the "
        "forward pass with shapes and the backward pass rule by rule, and draw the graph.",
    )
    parser.add_argument("--hidden", type=int, nargs="+", default=[128], metavar="N",
                        help="hidden layer sizes (default 128: the sheet's network)")  # fmt: skip
    parser.add_argument("--checkpoint", type=Path, metavar="FILE",
                        help="best.npz of `mnist train --engine chainrule`")  # fmt: skip
    parser.add_argument("--batch", type=int, default=32, metavar="N",
                        help="images in the batch (default 32)")  # fmt: skip
    parser.add_argument("--out", type=Path, metavar="FILE",
                        help="also draw the graph: .svg, .png, .pdf or .dot")  # fmt: skip
    parser.add_argument("--renderer", dest="engine", choices=["auto", "dot", "builtin"],
                        default="auto", help="who draws svg, png and pdf")  # fmt: skip
    parser.set_defaults(run=run_graph)


def run_graph(args: argparse.Namespace) -> int:
    import numpy as np

    from chainrule.mnist.npz import load_network
    from chainrule.mnist.numpy_train import step_graph
    from chainrule.tensor import nn
    from chainrule.tensor.graph import draw, explain

    formats = {".svg": "svg", ".png": "png", ".pdf": "pdf", ".dot": "dot"}
    if args.out is not None and args.out.suffix not in formats:
        raise ChainruleError(f"--out {args.out}: the picture's name must end in "
                             f"{', '.join(formats)}")  # fmt: skip
    if min(args.hidden) < 1:
        raise ChainruleError(f"--hidden: layer sizes must be positive, got {args.hidden}")
    if args.checkpoint is not None:
        network, _ = load_network(args.checkpoint)
    else:
        network = nn.mlp(tuple(args.hidden), rng=np.random.default_rng(0))
    loss = step_graph(network, args.batch)
    print(explain(loss), end="")
    if args.out is not None:
        from chainrule.files import write_atomic

        write_atomic(args.out, draw(loss, formats[args.out.suffix], engine=args.engine))
        print(f"wrote {args.out}")
    return 0
