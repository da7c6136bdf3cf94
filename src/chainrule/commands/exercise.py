"""``chainrule exercise``: fresh variants of section 1.2 with worked solutions and keys.

``chainrule exercise --count 30 --seed 7 --out ex/`` writes ``ex/exercises.{md,html,pdf}``,
``ex/solutions.{md,html,pdf}``, ``ex/key.json`` (what ``chainrule check --key`` grades
against) and ``ex/moodle.xml`` (a Moodle quiz). Variant ``i`` depends only on the
seed, ``i`` and the shape options; ``--id i`` writes just that one.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any


def register(subcommands: Any) -> None:
    from chainrule.exercise.options import DEFAULT_OPS, FORMATS

    parser = subcommands.add_parser(
        "exercise",
        help="generate exercise variants with worked solutions, an answer key and a Moodle quiz",
        description="Generate seeded variants of the sheet's section 1.2: an expression in "
        "the sheet's style and a point of small integers for each, with the worked solution, "
        "key.json for 'chainrule check --key' and moodle.xml.",
    )
    parser.add_argument("--count", type=int, default=30, help="number of variants (default 30)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument("--out", default="exercises", metavar="DIR",
                        help="folder to write into (default: exercises)")
    parser.add_argument("--ops", default=",".join(DEFAULT_OPS), metavar="LIST",
                        help=f"operations to draw from (default {','.join(DEFAULT_OPS)}); any "
                        "operation of the registry")
    parser.add_argument("--operations", default="4-7", metavar="N|LOW-HIGH",
                        help="operations per expression (default 4-7)")
    parser.add_argument("--inputs", default="3-4", metavar="N|LOW-HIGH",
                        help="inputs per expression, named a, b, c, d, g, ... (default 3-4)")
    parser.add_argument("--shared-inputs", type=int, default=1, metavar="N",
                        help="at least N inputs used by two operations (default 1)")
    parser.add_argument("--format", default=",".join(FORMATS), metavar="LIST",
                        help=f"files to write, of {','.join(FORMATS)} (default all)")
    parser.add_argument("--id", type=int, default=None, metavar="I",
                        help="write only variant I (the same as in any run with --count >= I)")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from chainrule.exercise.build import build_exercises
    from chainrule.exercise.options import ExerciseOptions, parse_list, parse_range

    options = ExerciseOptions(
        count=args.count,
        seed=args.seed,
        ops=parse_list(args.ops, "--ops"),
        operations=parse_range(args.operations, "--operations"),
        inputs=parse_range(args.inputs, "--inputs"),
        shared_inputs=args.shared_inputs,
        formats=parse_list(args.format, "--format"),
        only=args.id,
    )
    built = build_exercises(options, Path(args.out))
    for problem in built.problems:
        print(f"warning: {problem}", file=sys.stderr)
    names = ", ".join(path.name for path in built.files if path.parent == Path(args.out))
    print(f"exercise: {len(built.variants)} variant(s), seed {options.seed}: wrote {names} "
          f"in {args.out}", file=sys.stderr)
    return 0
