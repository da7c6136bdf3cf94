"""The ``chainrule`` command line: ``main(argv) -> int``.

Each subcommand lives in :mod:`chainrule.commands` and registers itself there;
heavy libraries (torch, matplotlib, sympy) are imported only when a command
runs, so ``chainrule graph`` starts fast.

>>> main(["graph", "x*x*x", "--at", "x=3", "--format", "json"])  # doctest: +ELLIPSIS
{
  "expression": "x*x*x",
...
0
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from chainrule import __version__
from chainrule.commands import COMMANDS
from chainrule.errors import ChainruleError


class _Parser(argparse.ArgumentParser):
    """argparse that raises instead of exiting, so errors look like all others."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise ChainruleError(f"{self.prog}: {message}")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="chainrule",
        description="From the chain rule to a trained digit recognizer.",
    )
    parser.add_argument("--version", action="version", version=f"chainrule {__version__}")
    subcommands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    for command in COMMANDS:
        command.register(subcommands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit status (2 for any error the user can fix)."""
    try:
        args = build_parser().parse_args(argv)
        status: int = args.run(args)
        return status
    except ChainruleError as error:
        print(error.render(), file=sys.stderr)
        return 2
    except SystemExit as done:  # --help and --version
        return done.code if isinstance(done.code, int) else 0
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # e.g. `chainrule graph ... | head`
        sys.stderr.close()
        return 0


if __name__ == "__main__":
    sys.exit(main())
