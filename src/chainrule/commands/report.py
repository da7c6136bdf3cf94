"""``chainrule report``: the complete worked solution of the exercise sheet.

Writes ``OUT/index.html`` (one self-contained page), ``OUT/report.md`` with its
pictures in ``OUT/assets/``, and ``OUT/report.pdf``. Every number is computed in
the run; parts that did not change since the last run come from ``OUT/.cache``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from chainrule.commands.parsing import parse_values
from chainrule.report.budget import BUDGETS
from chainrule.report.group import Group, group_from_options


def add_group_arguments(parser: argparse.ArgumentParser) -> None:
    """--group, --member and --members: the group block on the report's first page."""
    parser.add_argument("--group", metavar="NUMBER",
                        help="the group number, shown on the first page (e.g. 7)")
    parser.add_argument("--member", action="append", default=[], metavar="NAME:NUMBER",
                        help="a member's name and matriculation number (repeatable)")
    parser.add_argument("--members", metavar="FILE",
                        help="a TOML file with group = 7 and members = [\"NAME:NUMBER\", ...] "
                        "or tables {name = ..., matriculation = ...}")


def group_from_arguments(args: argparse.Namespace) -> Group | None:
    """The checked group, or None when none of the three options was given."""
    if args.group is None and not args.member and args.members is None:
        return None
    members_file = Path(args.members) if args.members is not None else None
    return group_from_options(args.group, args.member, members_file)


def register(subcommands: Any) -> None:
    parser = subcommands.add_parser(
        "report",
        help="write the worked solution of the exercise sheet (HTML, Markdown, PDF)",
        description="Compute every answer of the exercise sheet and write OUT/index.html, "
        "OUT/report.md and OUT/report.pdf. A second run reuses the parts whose inputs and "
        "code did not change.",
    )
    parser.add_argument("--out", default="report", metavar="DIR",
                        help="folder to write into (default: report)")
    parser.add_argument(
        "--expr", action="append", default=[], metavar="EXPR",
        help="an expression for section 1.2 instead of the sheet's (repeatable)",
    )
    parser.add_argument(
        "--at", action="append", default=[], metavar="a=2,b=-7",
        help="input values, over the sheet's a=2,b=-7,c=4,d=1 (repeatable)",
    )
    parser.add_argument(
        "--budget", default="quick", choices=list(BUDGETS),
        metavar="{quick,full}",  # "test" is for the test suite only
        help="quick: minutes on a laptop, >= 99%% on MNIST (default); full: the best recipe",
    )
    parser.add_argument("--fresh", action="store_true",
                        help="recompute everything instead of reusing the cache")
    parser.add_argument("--author", action="append", default=[], metavar="NAME",
                        help="a name for the title block, e.g. 'Group 7: A. Student (123456)'")
    add_group_arguments(parser)
    parser.add_argument("--no-pdf", dest="pdf", action="store_false",
                        help="skip report.pdf (it needs Chromium or Chrome)")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress display")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from chainrule.report.build import CACHE_FOLDER, ReportOptions, build_report

    options = ReportOptions(
        out=Path(args.out), expressions=tuple(args.expr), at=parse_values(*args.at),
        budget=args.budget, fresh=args.fresh, quiet=args.quiet, authors=tuple(args.author),
        pdf=args.pdf, group=group_from_arguments(args),
    )
    outcome = build_report(options)
    for problem in outcome.problems:
        print(f"warning: {problem}", file=sys.stderr)
    if not args.quiet:
        names = ", ".join(str(path) for path in outcome.files if path.suffix in (".html", ".md",
                                                                                ".pdf"))
        print(f"report: wrote {names}", file=sys.stderr)
    if outcome.failed:
        print(
            f"error: {len(outcome.failed)} part(s) failed (see the notes in the report and "
            f"{Path(args.out) / CACHE_FOLDER}/*.error.log); the rest of the report was written",
            file=sys.stderr,
        )
        return 1
    return 0
