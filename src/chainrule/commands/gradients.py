"""``chainrule gradients``: per-layer gradient norms of a deep MLP trained on MNIST.

One experiment::

    chainrule gradients --depth 10 --width 64 --activation sigmoid --init default

prints the table of gradient norms (layer by layer, at initialization, halfway
and at the end) and the test accuracy, and writes ``OUT/gradients.json`` and
``OUT/gradients.png`` / ``.svg`` (default ``OUT``: ``runs/gradients/<name>``).

``--suite`` runs the standard comparison instead (sigmoid with default and
Glorot init and with BatchNorm, tanh with Glorot, ReLU with He, and a ReLU
network whose He init is scaled by 2, without and with ``--clip 1``) and writes
``OUT/suite.json``, ``OUT/suite.md``, ``OUT/suite.png`` / ``.svg`` and one PNG
per experiment; the options given set what the experiments share.
"""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from chainrule.commands.config_options import add_config_options, given_options
from chainrule.errors import ChainruleError
from chainrule.files import write_atomic
from chainrule.vanishing.activations import NAMES

if TYPE_CHECKING:
    from chainrule.vanishing.deepnet import GradientConfig

DEFAULT_OUT = Path("runs") / "gradients"


def register(subcommands: Any) -> None:
    parser = subcommands.add_parser(
        "gradients",
        help="per-layer gradient norms of a deep MLP on MNIST (vanishing/exploding)",
        description="Train a deep MLP on MNIST with plain SGD for a short budget, measuring the "
        "gradient norm of every layer at initialization and during training, and report the "
        "test accuracy.",
    )
    from chainrule.vanishing.deepnet import INITS, GradientConfig

    add_config_options(
        parser,
        GradientConfig,
        defaults=GradientConfig(),
        skip={"progress"},  # --quiet says it
        choices={"activation": NAMES, "init": INITS},
        metavars={"data_dir": "DIR"},
    )
    parser.add_argument("--out", metavar="DIR", help=f"output folder (default {DEFAULT_OUT}/...)")
    parser.add_argument("--format", choices=["text", "json", "markdown"], default="text")
    parser.add_argument("--suite", action="store_true", help="run the standard comparison")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.set_defaults(run=run)


def config_from(args: argparse.Namespace) -> GradientConfig:
    """The :class:`~chainrule.vanishing.deepnet.GradientConfig` of the options, validated."""
    from chainrule.vanishing.deepnet import GradientConfig

    given = given_options(args, GradientConfig)
    return GradientConfig(**given, progress=not args.quiet).validated()


def slug(label: str) -> str:
    """``relu kaiming x2 +clip 1`` -> ``relu-kaiming-x2-clip-1``.

    >>> slug("sigmoid default +BN")
    'sigmoid-default-bn'
    """
    return re.sub(r"[^a-z0-9.]+", "-", label.lower()).strip("-")


def run(args: argparse.Namespace) -> int:
    config = config_from(args)
    if args.suite:
        return _suite(args, config)
    from chainrule.vanishing.deepnet import run_experiment

    out = Path(args.out) if args.out else DEFAULT_OUT / slug(config.label())
    report = run_experiment(config)
    document = json.dumps(report.to_dict(), indent=2, allow_nan=False)
    write_atomic(out / "gradients.json", document + "\n")
    paths = report.plot(out / "gradients")
    if args.format == "json":
        print(document)
    elif args.format == "markdown":
        from chainrule.vanishing.deepnet import comparison_table

        print(comparison_table([report], markdown=True) + "\n\n" + report.summary())
    else:
        print(report.table())
        print("wrote " + ", ".join(str(p) for p in [out / "gradients.json", *paths]))
    return 0


def _suite(args: argparse.Namespace, base: GradientConfig) -> int:
    from chainrule.vanishing import deepnet

    out = Path(args.out) if args.out else DEFAULT_OUT / "suite"
    if base.clip is not None or base.batchnorm:
        raise ChainruleError("--suite chooses --clip and --batchnorm itself; leave them out")
    reports = deepnet.run_suite(deepnet.suite_configs(base))
    written = [out / "suite.json", out / "suite.md"]
    document = json.dumps([r.to_dict() for r in reports], indent=2, allow_nan=False)
    write_atomic(written[0], document + "\n")
    write_atomic(written[1], deepnet.comparison_table(reports, markdown=True) + "\n")
    written += deepnet.plot_comparison(reports, out / "suite")
    for report in reports:
        written += report.plot(out / slug(report.config.label()), formats=("png",))
    if args.format == "json":
        print(document)
    else:
        print(deepnet.comparison_table(reports, markdown=args.format == "markdown"))
        print("\nwrote " + ", ".join(str(p) for p in written))
    return 0
