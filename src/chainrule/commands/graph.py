"""``chainrule graph EXPR --at a=2,b=-7``: intermediate variables, forward and backward."""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from chainrule.commands.parsing import parse_values
from chainrule.core.evaluate import Result
from chainrule.core.graph import Graph
from chainrule.core.parser import parse
from chainrule.errors import ChainruleError
from chainrule.show.render import ENGINES, PICTURE_FORMATS, using
from chainrule.show.render import render as draw_picture
from chainrule.show.tables import document, structure_text, to_json, to_markdown, to_text

if TYPE_CHECKING:
    from chainrule.show.explain import Format


def _evaluated(graph: Graph, result: Result | None) -> Result:
    """The result, or without --at the structure evaluated at NaN (for JSON's keys)."""
    if result is not None:
        return result
    return graph.evaluate(dict.fromkeys(graph.inputs, math.nan), allow_nan=True)


def _explained(graph: Graph, result: Result | None, fmt: Format) -> str:
    from chainrule.show.explain import explain

    return explain(result if result is not None else graph, fmt)


def _picture(fmt: str) -> Callable[[Graph, Result | None], str | bytes]:
    return lambda graph, result: draw_picture(graph, result, fmt)


# format name -> renderer of an evaluated graph (None: structure only)
FORMATS: dict[str, Callable[[Graph, Result | None], str | bytes]] = {
    "text": lambda g, r: to_text(r) if r else structure_text(g),
    "json": lambda g, r: to_json(_evaluated(g, r)),
    "markdown": lambda g, r: to_markdown(r) if r else structure_text(g),
    "latex": lambda g, r: _explained(g, r, "latex"),  # LaTeX is always the worked solution
    **{fmt: _picture(fmt) for fmt in PICTURE_FORMATS},  # dot, svg: text; png, pdf: bytes
}
EXPLAINED_FORMATS = ("text", "markdown", "latex")

def add_expression_arguments(parser: argparse.ArgumentParser) -> None:
    """The options every expression-taking command shares."""
    parser.add_argument("expression", help="e.g. '(a - b*c)*d' or LaTeX '\\frac{a}{d}'")
    parser.add_argument(
        "--syntax", choices=["auto", "plain", "latex"], default="auto",
        help="input syntax; auto picks latex when the text has a backslash",
    )
    parser.add_argument(
        "--names", default="v",
        help="names of intermediate variables: v (v1, v2, ...), letters, or a comma list",
    )


def load_graph(args: argparse.Namespace) -> Graph:
    names: str | list[str] = args.names
    if "," in args.names:
        names = [name.strip() for name in args.names.split(",") if name.strip()]
    return parse(args.expression, syntax=args.syntax, names=names)


def register(subcommands: Any) -> None:
    parser = subcommands.add_parser(
        "graph",
        help="intermediate variables, forward pass and backpropagation of an expression",
        description="Build the computational graph of EXPRESSION; with --at, evaluate it "
        "forward and backpropagate to every node.",
    )
    add_expression_arguments(parser)
    parser.add_argument(
        "--at", action="append", default=[], metavar="a=2,b=-7",
        help="input values (repeatable)",
    )
    parser.add_argument("--format", choices=sorted(FORMATS), default="text")
    parser.add_argument("-o", "--output", metavar="FILE", help="write to FILE instead of stdout")
    parser.add_argument(
        "--explain", action="store_true",
        help="write the worked solution (forward and backward pass line by line, symbolic "
        "gradients, verification) as text, markdown or latex; with json, add 'symbolic'",
    )
    parser.add_argument(
        "--symbolic", action="store_true",
        help="with --format json: add the key 'symbolic' (closed-form gradients, by sympy)",
    )
    parser.add_argument(
        "--renderer", dest="engine", choices=ENGINES, default="auto",
        help="for svg, png and pdf: Graphviz's dot program, the builtin renderer (no "
        "Graphviz needed), or auto: dot when installed",
    )
    parser.add_argument(
        "--allow-nan", action="store_true",
        help="give IEEE results (inf, nan) with a warning instead of a domain error",
    )
    parser.set_defaults(run=run)


def render(args: argparse.Namespace, graph: Graph, result: Result | None) -> str | bytes:
    """What ``chainrule graph`` writes for the parsed arguments."""
    fmt = args.format
    if args.explain and fmt in EXPLAINED_FORMATS:
        return _explained(graph, result, fmt)
    if (args.explain or args.symbolic) and fmt == "json":
        from chainrule.verify.symbolic import with_symbolic

        with_closed_forms = with_symbolic(document(_evaluated(graph, result)), graph)
        return json.dumps(with_closed_forms, indent=2, allow_nan=False)
    if args.explain:
        raise ChainruleError(f"--explain writes text, markdown, latex or json, not {fmt}")
    if args.symbolic:
        raise ChainruleError("--symbolic adds closed-form gradients to --format json "
                             "(the --explain output has them too)")
    return FORMATS[fmt](graph, result)


def run(args: argparse.Namespace) -> int:
    graph = load_graph(args)
    values = parse_values(*args.at)
    # A graph without inputs (9^9^9) has its value without --at; with or without
    # inputs, an inf or nan result is refused unless --allow-nan.
    evaluated = bool(args.at) or not graph.inputs
    result = graph.evaluate(values, allow_nan=args.allow_nan) if evaluated else None
    with using(args.engine):
        rendered = render(args, graph, result)
    if args.output:
        from chainrule.files import write_atomic  # tempfile and shutil: only to write a file

        write_atomic(args.output, rendered)
    elif isinstance(rendered, bytes):
        raise ChainruleError(f"--format {args.format} writes binary data: add -o FILE")
    else:
        print(rendered)
    if result is not None:
        for warning in result.warnings:
            print(f"warning: {warning}", file=sys.stderr)
    return 0
