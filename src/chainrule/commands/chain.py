"""``chainrule chain``: the sigmoid chain of section 1.3, layer by layer, and its figures.

Weights come from exactly one source:

- ``--weights 1,1,1,1,1`` (or ``--weights 1 -2 3``; a list that starts with a
  minus sign needs ``--weights=-1,2``), the depth is their number;
- ``--depth N --weight-init normal:0,1 --seed S`` (also ``uniform:LOW,HIGH`` and
  ``constant:V``);
- ``--example exploding|vanishing [--depth N]``: the constructed chains.

Without any of them the chain is the sheet's: five layers, every weight 1.
``--plot DIR`` writes the figures instead (PNG and SVG).
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING, Any

from chainrule.commands.parsing import parse_numbers
from chainrule.errors import ChainruleError
from chainrule.files import write_atomic
from chainrule.vanishing.activations import NAMES

if TYPE_CHECKING:
    from chainrule.vanishing.chain import ChainAnalysis, WeightInit

FORMATS = ("text", "json", "markdown")
DEFAULT_DEPTH = 5


def register(subcommands: Any) -> None:
    parser = subcommands.add_parser(
        "chain",
        help="vanishing and exploding gradients in the chain a_i = sigmoid(w_i a_{i-1})",
        description="Build the chain a_0 = x, a_i = f(w_i a_{i-1}), y = a_n as a graph, "
        "backpropagate, and print per layer the pre-activation, the activation, the local "
        "factor w_i f'(w_i a_{i-1}) and dy/da_i; then dy/dx by backprop and in closed form, "
        "and the bound |dy/dx| <= prod |w_i| * (max f')^n.",
    )
    source = parser.add_mutually_exclusive_group()
    source.add_argument(
        "--weights",
        nargs="+",
        metavar="W",
        help="the weights w_1..w_n, comma- or space-separated (use --weights=-1,2 "
        "when the first is negative)",
    )
    source.add_argument(
        "--weight-init",
        metavar="DIST",
        help="draw the weights: normal:MEAN,STD, uniform:LOW,HIGH or constant:V "
        "(default constant:1)",
    )
    source.add_argument(
        "--example",
        choices=["exploding", "vanishing"],
        help="a constructed chain whose gradient explodes or vanishes",
    )
    parser.add_argument("--depth", type=int, help=f"number of layers (default {DEFAULT_DEPTH})")
    parser.add_argument("--seed", type=int, default=0, help="seed for --weight-init (default 0)")
    parser.add_argument("--x", default="0.5", metavar="X", help="the input x = a_0 (default 0.5)")
    parser.add_argument("--activation", choices=NAMES, default="sigmoid")
    parser.add_argument("--format", choices=FORMATS, default="text")
    parser.add_argument("-o", "--output", metavar="FILE", help="write to FILE instead of stdout")
    parser.add_argument(
        "--plot",
        metavar="DIR",
        help="write the figures (derivatives, exploding window, depth sweep, heat map) to DIR",
    )
    parser.add_argument(
        "--seeds",
        type=int,
        default=500,
        help="random chains per point of the --plot sweeps (default 500)",
    )
    parser.set_defaults(run=run)


def parse_weight_init(text: str) -> WeightInit:
    """``--weight-init`` text: ``normal:MEAN,STD``, ``uniform:LOW,HIGH`` or ``constant:V``.

    >>> parse_weight_init("normal:0,2.5")
    WeightInit(kind='normal', params=(0.0, 2.5))
    >>> parse_weight_init("normal:0")
    Traceback (most recent call last):
    chainrule.errors.ChainruleError: --weight-init: normal takes 2 numbers (normal:MEAN,STD), got 1
    """
    from chainrule.vanishing.chain import WEIGHT_INITS, WeightInit

    kind, _, rest = text.partition(":")
    kind = kind.strip().lower()
    known = kind in WEIGHT_INITS and rest.strip()
    params = parse_numbers(rest, f"--weight-init {kind}") if known else []
    try:
        return WeightInit(kind, tuple(params))
    except ChainruleError as error:
        raise ChainruleError(f"--weight-init: {error}") from None


def chain_weights(args: argparse.Namespace) -> list[float]:
    """The weights the options ask for, checked against ``--depth``."""
    from chainrule.vanishing.chain import random_weights

    if args.weights:
        weights = parse_numbers(",".join(args.weights), "--weights")
        if args.depth is not None and args.depth != len(weights):
            raise ChainruleError(f"--weights has {len(weights)} values but --depth is {args.depth}")
        return weights
    depth = DEFAULT_DEPTH if args.depth is None else args.depth
    return random_weights(depth, parse_weight_init(args.weight_init or "constant:1"), args.seed)


def analysis_for(args: argparse.Namespace) -> ChainAnalysis:
    """The :class:`~chainrule.vanishing.chain.ChainAnalysis` the options describe."""
    from chainrule.vanishing import chain

    depth = DEFAULT_DEPTH if args.depth is None else args.depth
    if args.example == "exploding":
        return chain.exploding_example(depth, args.activation)
    if args.example == "vanishing":
        return chain.vanishing_example(depth, args.activation)
    (x,) = parse_numbers(args.x, "--x")
    return chain.analyse(chain_weights(args), x, args.activation)


def render(analysis: ChainAnalysis, form: str) -> str:
    from chainrule.vanishing import text

    if form == "json":
        return json.dumps(analysis.to_dict(), indent=2, allow_nan=False, ensure_ascii=False)
    if form == "markdown":
        return text.to_markdown(analysis)
    return text.to_text(analysis)


def run(args: argparse.Namespace) -> int:
    if args.plot:
        return _plot(args)
    analysis = analysis_for(args)
    rendered = render(analysis, args.format)
    if args.output:
        write_atomic(args.output, rendered + "\n")
    else:
        print(rendered)
    for warning in analysis.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    return 0


def _plot(args: argparse.Namespace) -> int:
    from chainrule.vanishing.plots import write_all

    if args.seeds < 1:
        raise ChainruleError(f"--seeds must be at least 1, got {args.seeds}")
    for path in write_all(args.plot, seeds=args.seeds, seed=args.seed):
        print(path)
    return 0
