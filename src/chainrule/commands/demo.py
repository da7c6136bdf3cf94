"""``chainrule demo``: the worked graphs of the exercise sheet's three expressions."""

from __future__ import annotations

import argparse
from typing import Any

from chainrule.parser import parse
from chainrule.tables import to_text

SHEET_VALUES = {"a": 2.0, "b": -7.0, "c": 4.0, "d": 1.0}
SHEET_EXPRESSIONS = {
    "A": r"(a - (b \cdot c)) \cdot d",
    "B": r"\sqrt{a + b + c^3} + \log\left(\frac{a}{d}\right)",
    "C": r"d - \exp^{(a+b) \cdot c}",
}


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
