"""Time to grade an answer file with ``chainrule check``, against ``chainrule graph``.

For the sheet's A, B and C at a = 2, b = −7, c = 4, d = 1, the answer file is
chainrule's own worked solution (``--explain``, the longest file a learner would
hand in: 30-60 lines), once as written and once with one forward value changed
(so that the mistake catalogue is searched). Two measurements, interleaved
repeat by repeat so that load from other jobs falls on both alike:

- the whole command, a fresh ``python -m chainrule check`` process (start-up and
  imports included: what a learner waits for), against ``python -m chainrule graph
  EXPR --at ...`` (parse, forward and backward pass, text tables) as the baseline;
- the API alone, ``chainrule.check(expr, at, text)`` in a warm process, against
  ``chainrule.parse(expr).evaluate(at)``.

Run:  .venv/bin/python -m benchmarks.check [--repeat 7]
"""

from __future__ import annotations

import argparse
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

import chainrule
from benchmarks.machine import cpu_model
from chainrule.sheet import SHEET_EXPRESSIONS, SHEET_VALUES
from chainrule.show.explain import explain

AT = ",".join(f"{name}={value:g}" for name, value in SHEET_VALUES.items())


def answer_files() -> dict[str, str]:
    """(sheet key, variant) -> answer text: the worked solution, and one with a slip."""
    files = {}
    for key, expression in SHEET_EXPRESSIONS.items():
        text = explain(chainrule.parse(expression).evaluate(SHEET_VALUES))
        files[f"{key} worked solution"] = text
        files[f"{key} one value wrong"] = text.replace("= −28", "= 28", 1).replace(
            "= 59", "= 58", 1).replace("= −20", "= 20", 1)  # fmt: skip
    return files


def seconds(action: Callable[[], object]) -> float:
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def command(*argv: str) -> Callable[[], object]:
    return lambda: subprocess.run(
        [sys.executable, "-m", "chainrule", *argv], capture_output=True, check=False
    )


def evaluate(expression: str) -> object:
    return chainrule.parse(expression).evaluate(SHEET_VALUES)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    import torch

    print(f"CPU: {cpu_model()}; torch.backends.cpu.get_cpu_capability(): "
          f"{torch.backends.cpu.get_cpu_capability()}; Python {platform.python_version()}")
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        for label, text in answer_files().items():
            key = label.split()[0]
            expression = SHEET_EXPRESSIONS[key]
            path = Path(folder) / "answers.txt"
            path.write_text(text, encoding="utf-8")
            report = chainrule.check(expression, SHEET_VALUES, text)
            timings: dict[str, list[float]] = {"check": [], "graph": [], "api": [], "eval": []}
            for _ in range(args.repeat):  # interleaved: the baseline right after the command
                timings["check"].append(seconds(command("check", expression, "--at", AT,
                                                        str(path))))  # fmt: skip
                timings["graph"].append(seconds(command("graph", expression, "--at", AT)))
                timings["api"].append(seconds(partial(chainrule.check, expression, SHEET_VALUES,
                                                      text)))  # fmt: skip
                timings["eval"].append(seconds(partial(evaluate, expression)))
            median = {name: statistics.median(values) for name, values in timings.items()}
            rows.append((label, len(report.lines), report.score, report.max_score, median))
    print("| answer file | lines graded | score | `check` s | `graph` s | check/graph "
          "| API ms | evaluate ms |")
    print("|---|---|---|---|---|---|---|---|")
    for label, lines, score, max_score, m in rows:
        print(f"| {label} | {lines} | {score}/{max_score} | {m['check']:.3f} | {m['graph']:.3f} "
              f"| {m['check'] / m['graph']:.2f} | {1e3 * m['api']:.1f} | {1e3 * m['eval']:.2f} |")


if __name__ == "__main__":
    main()
