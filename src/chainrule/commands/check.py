"""``chainrule check EXPR --at a=2,b=-7 ANSWERS.txt``: grade a hand-computed pass, line by line.

Or against a generated exercise: ``chainrule check --key key.json --id 3 ANSWERS.txt``.
Exit status 0 when nothing is wrong, invalid or missing; 1 otherwise; 2 when the
input is unusable (an unreadable file, an expression that does not parse, a line
that cannot be read at all: the other lines are still graded and printed).
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from chainrule.errors import ChainruleError, ParseError
from chainrule.files import read_text

FORMATS = ("text", "json", "markdown")
MAX_ANSWER_BYTES = 1_000_000


def register(subcommands: Any) -> None:
    parser = subcommands.add_parser(
        "check",
        help="grade a learner's hand-computed forward and backward pass, line by line",
        usage="chainrule check EXPR --at a=2,b=-7,... ANSWERS [--format text|json|markdown]\n"
        "       chainrule check --key KEY.json --id N ANSWERS [options]",
        description="Check each line of ANSWERS (the learner's variables, forward values and "
        "gradients, one per line) against the truth and against the learner's own earlier "
        "numbers, and name the mistake of each wrong line.",
    )
    parser.add_argument("expression", nargs="?", help="e.g. '(a - b*c)*d' (not with --key)")
    parser.add_argument("answers", nargs="?", help="the answer file ('-' for standard input)")
    # nargs="+": argparse (3.11) cannot put a positional after an option's value otherwise,
    # and the form is EXPR --at a=2,... ANSWERS; what has no "=" is a positional.
    parser.add_argument("--at", action="extend", nargs="+", default=[], metavar="a=2,b=-7",
                        help="input values (repeatable)")
    parser.add_argument("--key", metavar="KEY.json", help="an answer key of chainrule exercise")
    parser.add_argument("--id", type=int, help="the exercise of --key to grade against")
    parser.add_argument("--format", choices=FORMATS, default="text")
    parser.add_argument("--rel-tol", type=float, default=1e-3,
                        help="relative tolerance of a number (default 1e-3)")
    parser.add_argument("--abs-tol", type=float, default=1e-6,
                        help="how close to zero a number may be written as 0 (default 1e-6)")
    parser.set_defaults(run=run)


def _operands(args: argparse.Namespace) -> tuple[list[str], list[str]]:
    """(EXPR and ANSWERS as given, the --at texts), wherever on the line they stood."""
    positional = [text for text in (args.expression, args.answers) if text is not None]
    values = [text for text in args.at if "=" in text]
    positional += [text for text in args.at if "=" not in text]
    return positional, values


def _exercise(args: argparse.Namespace) -> tuple[str, dict[str, float], str]:
    """(expression, point, answer file) from EXPR and --at, or from --key and --id."""
    from chainrule.commands.parsing import parse_values

    positional, values = _operands(args)
    if args.key is not None:
        if len(positional) != 1 or values:
            raise ChainruleError("check: with --key and --id give only ANSWERS (no EXPR, no --at)")
        if args.id is None:
            raise ChainruleError("check: --key needs --id (which exercise of the key)")
        from chainrule.grade.key import load_exercise

        exercise = load_exercise(args.key, args.id)
        return exercise.expression, exercise.at, positional[0]
    if args.id is not None:
        raise ChainruleError("check: --id goes with --key")
    if len(positional) != 2:
        raise ChainruleError("check: give EXPR, --at and ANSWERS (or --key, --id and ANSWERS)")
    if not values:
        raise ChainruleError("check: --at is needed, e.g. --at a=2,b=-7,c=4,d=1")
    return positional[0], parse_values(*values), positional[1]


def read_answers(name: str) -> str:
    """The answer file's text ('-': standard input), or a one-line error."""
    if name == "-":
        return sys.stdin.read(MAX_ANSWER_BYTES + 1)[:MAX_ANSWER_BYTES]
    return read_text(name, "the answer file", MAX_ANSWER_BYTES)


def run(args: argparse.Namespace) -> int:
    from chainrule.grade import check

    expression, at, answers = _exercise(args)
    text = read_answers(answers)
    report = check(expression, at, text, rel_tol=args.rel_tol, abs_tol=args.abs_tol)
    if args.format == "json":
        print(report.to_json())
    elif args.format == "markdown":
        print(report.to_markdown(), end="")
    else:
        print(report.to_text())
    for line in report.lines:
        if line.column is not None:  # with the caret, as every syntax error is shown
            what = line.message.removesuffix(f" at column {line.column}")
            shown = ParseError(what, line.text, line.column).render()
            print(shown.replace("error: ", f"error: line {line.line}: ", 1), file=sys.stderr)
    return report.exit_status
