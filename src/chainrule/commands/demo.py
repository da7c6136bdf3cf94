"""``chainrule demo``: the worked graphs of the exercise sheet's three expressions."""

from __future__ import annotations

import argparse
from typing import Any

from chainrule.core.parser import parse
from chainrule.sheet import SHEET_EXPRESSIONS, SHEET_VALUES
from chainrule.show.tables import to_text


def register(subcommands: Any) -> None:
    parser = subcommands.add_parser(
        "demo", help="the exercise sheet's expressions A, B, C at a=2, b=-7, c=4, d=1"
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    for label, text in SHEET_EXPRESSIONS.items():
        graph = parse(text, names="letters")
        print(f"=== {label} ===")
        print(to_text(graph.evaluate(SHEET_VALUES)))
        print()
    return 0
