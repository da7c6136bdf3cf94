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

from chainrule import __version__, commands
from chainrule.errors import ChainruleError


class _Parser(argparse.ArgumentParser):
    """argparse that raises instead of exiting, so errors look like all others."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise ChainruleError(f"{self.prog}: {message}")


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The parser of every subcommand, or of ``command`` alone (all it needs to run it)."""
    parser = _Parser(
        prog="chainrule",
        description="From the chain rule to a trained digit recognizer.",
    )
    parser.add_argument("--version", action="version", version=f"chainrule {__version__}")
    subcommands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    for module in commands.modules([command] if command else commands.NAMES):
        module.register(subcommands)
    return parser


def dashes_as_values(parser: argparse.ArgumentParser, argv: Sequence[str]) -> list[str]:
    """Arguments that begin with ``-`` but are no option, kept as values.

    argparse takes ``-x*log(x)`` for an unknown option. Here a word that starts
    with ``-`` and is not one of the command's options is the value of the option
    before it (``--weights -1,2`` becomes ``--weights=-1,2``) or else a positional
    argument, moved behind ``--``. Everything after a ``--`` the user wrote is left
    as it is.

    >>> dashes_as_values(build_parser(), ["graph", "-x*log(x)", "--at", "x=2"])
    ['graph', '--at', 'x=2', '--', '-x*log(x)']
    >>> dashes_as_values(build_parser(), ["chain", "--weights", "-1,2", "--x", "0.5"])
    ['chain', '--weights=-1,2', '--x', '0.5']
    >>> dashes_as_values(build_parser(), ["mnist", "predict", "--checkpoint", "m.pt", "7.png"])
    ['mnist', 'predict', '--checkpoint', 'm.pt', '7.png']
    """
    words = list(argv)
    options = _options_of(parser, words)
    kept: list[str] = []
    positional: list[str] = []
    takes_value = False
    for position, word in enumerate(words):
        if word == "--":
            return kept + words[position:] + positional
        if word.startswith("-") and len(word) > 1 and not _is_option(word, options):
            if takes_value:
                kept[-1] = f"{kept[-1]}={word}"
            else:
                positional.append(word)
            takes_value = False
            continue
        kept.append(word)
        action = options.get(word)
        takes_value = action is not None and action.nargs != 0
    return kept + (["--", *positional] if positional else [])


def _options_of(
    parser: argparse.ArgumentParser, words: list[str]
) -> dict[str, argparse.Action]:
    """The option strings of the (sub)commands named in ``words``, nested ones included."""
    # argparse keeps its tables private; these two are stable since Python 3.2.
    options = dict(parser._option_string_actions)
    for word in words:
        subcommands = _subcommands(parser)
        if word in subcommands:
            parser = subcommands[word]
            options.update(parser._option_string_actions)
    return options


def _subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._subparsers._group_actions if parser._subparsers else ():
        if isinstance(action.choices, dict):
            return action.choices
    return {}


def _is_option(word: str, options: dict[str, argparse.Action]) -> bool:
    name = word.split("=", 1)[0]
    if name in options:
        return True
    if word.startswith("--"):  # argparse accepts unambiguous abbreviations
        return any(option.startswith(name) for option in options if option.startswith("--"))
    short = options.get(word[:2])  # -oA.png: a short option with its value attached
    return short is not None and short.nargs != 0


def flags_of(parser: argparse.ArgumentParser, *words: str) -> dict[str, str]:
    """The options of the command ``words`` name (``mnist train``: nested ones too), by
    destination: ``{"allow_nan": "--allow-nan", ...}``.

    An error that names a library parameter (``allow_nan``) is printed with the flag
    that sets it, where the command has one.

    >>> flags_of(build_parser(), "graph")["allow_nan"]
    '--allow-nan'
    """
    flags: dict[str, str] = {}
    for option, action in _options_of(parser, list(words)).items():
        if option.startswith("--"):
            flags.setdefault(action.dest, option)
    return flags


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit status (2 for any error the user can fix)."""
    flags: dict[str, str] = {}
    try:
        words = sys.argv[1:] if argv is None else argv
        # `chainrule graph ...` imports the graph command only; anything else (--help,
        # a misspelt command) gets the parser of every command, to list them all.
        named = words[0] if words and words[0] in commands.NAMES else None
        parser = build_parser(named)
        args = parser.parse_args(dashes_as_values(parser, words))
        flags = flags_of(parser, *words)
        status: int = args.run(args)
        return status
    except ChainruleError as error:
        print(error.render(flags), file=sys.stderr)
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
