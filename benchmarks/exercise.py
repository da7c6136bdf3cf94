"""Time to write a class's exercises: 100 variants with every file, the PDFs included.

The target (issue 13): 100 variants with PDFs in under a minute on 2 cores. Each
repeat runs, interleaved so that load from other processes hits both alike:

  baseline   headless Chromium printing a one-page HTML file: the fixed cost of a
             browser start, paid twice (exercises.pdf and solutions.pdf print at once)
  exercise   ``python -m chainrule exercise --count N --seed 7`` in a fresh process,
             every format (what an instructor runs, imports included)

then once, in this process, the stages of the same run one after the other (the
command overlaps them: each PDF prints while the graphs are drawn and the next page
is written).

Run:  .venv/bin/python -m benchmarks.exercise [--count 100] [--repeat 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from benchmarks.machine import cpu_model


def timed(action: Callable[[], Any]) -> float:
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def print_blank_page(folder: Path) -> None:
    from chainrule.report.pdf import print_pdf

    page = folder / "blank.html"
    page.write_text("<!DOCTYPE html><html><body><p>baseline</p></body></html>")
    with ThreadPoolExecutor(max_workers=2) as pool:  # two at once, as the exercise prints
        for done in [pool.submit(print_pdf, page, folder / f"blank{i}.pdf") for i in (1, 2)]:
            done.result()


def run_command(count: int, folder: Path) -> None:
    environment = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1] / "src")}
    subprocess.run(
        [sys.executable, "-m", "chainrule", "exercise", "--count", str(count), "--seed", "7",
         "--out", str(folder)],
        check=True, env=environment, capture_output=True,
    )


def stages(count: int, folder: Path) -> dict[str, float]:
    """Seconds per stage of one run done one stage after the other, in this process."""
    from chainrule.exercise.build import FIGURE_THREADS
    from chainrule.exercise.documents import exercises_document, graph_figure, solutions_document
    from chainrule.exercise.generator import generate
    from chainrule.exercise.key import key_json
    from chainrule.exercise.moodle import moodle_xml
    from chainrule.exercise.options import ExerciseOptions
    from chainrule.report.html import to_html
    from chainrule.report.markdown import to_markdown
    from chainrule.report.pdf import print_pdf

    folder.mkdir(parents=True)
    seconds: dict[str, float] = {}

    def stage(name: str, action: Callable[[], Any]) -> Any:
        start = time.perf_counter()
        value = action()
        seconds[name] = time.perf_counter() - start
        return value

    variants = stage("generate the variants", lambda: generate(ExerciseOptions(count=count,
                                                                               seed=7)))
    stage("key.json and moodle.xml (local formulas: sympy)",
          lambda: (key_json(variants), moodle_xml(variants, "benchmark")))
    exercises = folder / "exercises.html"
    stage("exercises.html (typesets the expressions)", lambda: exercises.write_text(
        to_html(exercises_document(variants, "html", "benchmark"))))
    stage("print exercises.pdf (Chromium)", lambda: print_pdf(exercises, folder / "e.pdf"))

    def draw() -> list[Any]:
        with ThreadPoolExecutor(max_workers=FIGURE_THREADS) as pool:
            return list(pool.map(graph_figure, variants))

    figures = stage("draw the graphs (Graphviz, 2 at a time)", draw)
    stage("exercises.md and solutions.md", lambda: (
        to_markdown(exercises_document(variants, "markdown", "benchmark")),
        to_markdown(solutions_document(variants, "markdown", "benchmark", figures))))
    solutions = folder / "solutions.html"
    stage("solutions.html", lambda: solutions.write_text(
        to_html(solutions_document(variants, "html", "benchmark", figures))))
    stage("print solutions.pdf (Chromium)", lambda: print_pdf(solutions, folder / "s.pdf"))
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    import torch

    baseline, exercise = [], []
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        for repeat in range(args.repeat):
            baseline.append(timed(lambda: print_blank_page(root)))
            out = root / f"run{repeat}"
            exercise.append(timed(lambda out=out: run_command(args.count, out)))  # type: ignore[misc]
            print(f"repeat {repeat + 1}: baseline {baseline[-1]:.1f} s, "
                  f"exercise {exercise[-1]:.1f} s", file=sys.stderr)
        parts = stages(args.count, root / "stages")
        pdf_pages = subprocess.run(["pdfinfo", str(root / "run0" / "solutions.pdf")],
                                   capture_output=True, text=True).stdout
    pages = next((line.split()[-1] for line in pdf_pages.splitlines()
                  if line.startswith("Pages")), "?")
    print(f"CPU: {cpu_model()}, {os.cpu_count()} cores, torch capability "
          f"{torch.backends.cpu.get_cpu_capability()}; load average at the end "
          f"{os.getloadavg()[0]:.1f}")
    print(f"\n{args.count} variants, every format (median of {args.repeat}, interleaved):")
    print("| run | seconds |\n|---|---|")
    print(f"| baseline: Chromium prints two one-page PDFs | {statistics.median(baseline):.1f} |")
    print(f"| `chainrule exercise --count {args.count}` (all files; solutions.pdf: {pages} pages)"
          f" | {statistics.median(exercise):.1f} |")
    print(f"\nstages of one run, one after the other, in this process "
          f"({sum(parts.values()):.1f} s in all):")
    print("| stage | seconds |\n|---|---|")
    for name, value in parts.items():
        print(f"| {name} | {value:.1f} |")


if __name__ == "__main__":
    main()
