"""All the files of ``chainrule exercise``, written atomically into one folder.

``exercises.{md,html,pdf}``, ``solutions.{md,html,pdf}`` (the Markdown's pictures in
``assets/``), ``key.json`` and ``moodle.xml``; ``--format`` names fewer. Each PDF is
printed by its own headless Chromium as soon as its HTML page is written; the graphs
are drawn (Graphviz, two at a time) while the expressions are typeset, and the
exercises print while the solutions are written.

>>> import tempfile, pathlib
>>> from chainrule.exercise.options import ExerciseOptions
>>> out = pathlib.Path(tempfile.mkdtemp())
>>> done = build_exercises(ExerciseOptions(count=2, seed=7, formats=("json", "moodle")), out)
>>> sorted(path.name for path in done.files)
['key.json', 'moodle.xml']
"""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from tempfile import TemporaryDirectory

from chainrule.errors import ChainruleError
from chainrule.exercise.documents import (
    exercises_document,
    graph_figure,
    solutions_document,
)
from chainrule.exercise.generator import Variant, generate
from chainrule.exercise.key import KEY_FILE, key_json
from chainrule.exercise.moodle import MOODLE_FILE, moodle_xml
from chainrule.exercise.options import DEFAULT_OPS, ExerciseOptions
from chainrule.files import write_atomic
from chainrule.report.html import to_html
from chainrule.report.markdown import write_markdown

DOCUMENTS = ("exercises", "solutions")

FIGURE_THREADS = 2
"""Graphs drawn at once: each waits on its own Graphviz process most of the time."""


@dataclass
class Built:
    """What a run wrote, and what it could not (a PDF without a browser)."""

    variants: list[Variant]
    files: list[Path] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def command_line(options: ExerciseOptions) -> str:
    """The command that regenerates these variants (printed in every document)."""
    def span(low_high: tuple[int, int]) -> str:
        low, high = low_high
        return str(low) if low == high else f"{low}-{high}"

    words = ["chainrule exercise", f"--count {options.count}", f"--seed {options.seed}"]
    if options.ops != DEFAULT_OPS:
        words.append(f"--ops {','.join(options.ops)}")
    words += [f"--operations {span(options.operations)}", f"--inputs {span(options.inputs)}",
              f"--shared-inputs {options.shared_inputs}"]
    if options.only is not None:
        words.append(f"--id {options.only}")
    return " ".join(words)


class _Printer:
    """Prints each HTML page to its PDF in the background, as soon as the page is written,
    so that Chromium works while Python draws the graphs and writes the next page."""

    def __init__(self, out: Path, enabled: bool) -> None:
        from chainrule.report.pdf import NoBrowserError, find_browser

        self.out = out
        self.browser: str | None = None
        self.problems: list[str] = []
        self.jobs: list[tuple[Path, Future[None]]] = []
        self.pool = ThreadPoolExecutor(max_workers=len(DOCUMENTS))
        if enabled:
            try:
                self.browser = find_browser()
            except NoBrowserError as missing:
                self.problems.append(f"no PDFs written: {missing}")

    def __enter__(self) -> _Printer:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.pool.shutdown(wait=True)  # before the pages' scratch folder goes

    def submit(self, page: Path) -> None:
        from chainrule.report.pdf import print_pdf

        if self.browser is not None:
            target = self.out / f"{page.stem}.pdf"
            self.jobs.append((target, self.pool.submit(print_pdf, page, target, self.browser)))

    def finish(self) -> list[Path]:
        """The PDFs, once all are printed (a failed print raises its error here)."""
        for _, job in self.jobs:
            job.result()
        return [target for target, _ in self.jobs]


def _write_documents(variants: list[Variant], options: ExerciseOptions, out: Path,
                     built: Built) -> None:
    """exercises and solutions in Markdown, HTML and PDF, as many as asked."""
    formats = set(options.formats)
    command = command_line(options)
    pages = formats & {"html", "pdf"}
    with TemporaryDirectory(prefix="chainrule-exercise-") as scratch, \
            _Printer(out, "pdf" in formats) as printer:
        folder = out if "html" in formats else Path(scratch)
        with ThreadPoolExecutor(max_workers=FIGURE_THREADS) as drawing:
            # Graphviz draws (outside the GIL) while the expressions are typeset here.
            drawn = [drawing.submit(graph_figure, variant) for variant in variants]
            if pages:
                write_atomic(folder / "exercises.html",
                             to_html(exercises_document(variants, "html", command)))
                printer.submit(folder / "exercises.html")
            figures = [future.result() for future in drawn]
        if "md" in formats:
            built.files += write_markdown(out, {
                "exercises": exercises_document(variants, "markdown", command),
                "solutions": solutions_document(variants, "markdown", command, figures),
            })
        if pages:
            write_atomic(folder / "solutions.html",
                         to_html(solutions_document(variants, "html", command, figures)))
            printer.submit(folder / "solutions.html")
        if "html" in formats:
            built.files += [folder / f"{name}.html" for name in DOCUMENTS]
        built.files += printer.finish()
        built.problems += printer.problems


def write_files(variants: list[Variant], options: ExerciseOptions, out: Path) -> Built:
    """Write every requested file for ``variants`` into ``out``."""
    built = Built(variants)
    formats = set(options.formats)
    if "json" in formats:
        write_atomic(out / KEY_FILE, key_json(variants))
        built.files.append(out / KEY_FILE)
    if "moodle" in formats:
        write_atomic(out / MOODLE_FILE, moodle_xml(variants, f"chainrule exercises, seed "
                                                             f"{options.seed}"))
        built.files.append(out / MOODLE_FILE)
    if formats & {"md", "html", "pdf"}:
        _write_documents(variants, options, out, built)
    return built


def build_exercises(options: ExerciseOptions, out: Path) -> Built:
    """Generate the variants and write their files."""
    if out.exists() and not out.is_dir():
        raise ChainruleError(f"--out {out}: exists and is not a folder")
    variants = generate(options)
    return write_files(variants, options, out)
