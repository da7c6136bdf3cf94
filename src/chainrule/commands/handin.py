"""``chainrule handin``: the zip the sheet's "Submission" asks for.

Writes ``OUT/exercise_1_group_N.zip`` with report.pdf (the group and its members on
page 1), exercise_1.ipynb executed with its outputs, the scripts that reproduce
sections 1.2 to 1.4, chainrule's source and a README.txt. Bad input is reported
before anything runs; the report's parts come from the cache of ``chainrule report``.
"""

from __future__ import annotations

import argparse
import shlex
from pathlib import Path
from typing import Any

from chainrule.commands.report import add_group_arguments, group_from_arguments
from chainrule.handin.budget import HANDIN_BUDGETS


def register(subcommands: Any) -> None:
    parser = subcommands.add_parser(
        "handin",
        help="write the submission zip: report.pdf with the group, the executed notebook, code",
        description="Write OUT/exercise_1_group_N.zip: report.pdf with the group and its members "
        "on page 1, exercise_1.ipynb executed with its outputs, plain .py scripts that reproduce "
        "sections 1.2 to 1.4, and README.txt. Reuses the cache of `chainrule report`.",
    )
    add_group_arguments(parser)
    parser.add_argument(
        "--budget", default="quick", choices=list(HANDIN_BUDGETS),
        metavar="{quick,full}",  # "test" is for the test suite only
        help="quick: the report's quick budget, the notebook on 10,000 training images "
        "(default); full: the report's full budget, the notebook on all of them",
    )
    parser.add_argument("--out", default="handin", metavar="DIR",
                        help="folder for the zip (default: handin)")
    parser.add_argument("--report", default="report", metavar="DIR",
                        help="the folder of `chainrule report` whose cache to reuse "
                        "(default: report)")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress display")
    parser.set_defaults(run=run)


def command_line(args: argparse.Namespace) -> str:
    """The command as the user could type it again, for README.txt."""
    words = ["chainrule", "handin"]
    if args.group is not None:
        words += ["--group", args.group]
    for member in args.member:
        words += ["--member", member]
    if args.members is not None:
        words += ["--members", args.members]
    words += ["--budget", args.budget, "--out", args.out]
    if args.report != "report":
        words += ["--report", args.report]
    return shlex.join(words)


def run(args: argparse.Namespace) -> int:
    from chainrule.handin.build import HandinOptions, build_handin
    from chainrule.report.group import GroupError

    group = group_from_arguments(args)
    if group is None:
        raise GroupError("--group is missing: give the group number and its members, e.g. "
                         "--group 7 --member 'Ada Lovelace:123456'")
    options = HandinOptions(group=group, out=Path(args.out), budget=args.budget,
                            report=Path(args.report), quiet=args.quiet,
                            command=command_line(args))
    outcome = build_handin(options)
    print(outcome.zip)
    return 0
