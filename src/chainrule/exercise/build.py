"""All the files of ``chainrule exercise``, written atomically into one folder.

``exercises.{md,html,pdf}``, ``solutions.{md,html,pdf}`` (the Markdown's pictures in
``assets/``), ``key.json`` and ``moodle.xml``; ``--format`` names fewer. The two PDFs
print at the same time, each in its own headless Chromium.

>>> import tempfile, pathlib
>>> from chainrule.exercise.options import ExerciseOptions
>>> out = pathlib.Path(tempfile.mkdtemp())
>>> done = build_exercises(ExerciseOptions(count=2, seed=7, formats=("json", "moodle")), out)
>>> sorted(path.name for path in done.files)
['key.json', 'moodle.xml']
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from tempfile import TemporaryDirectory

from chainrule.errors import ChainruleError
from chainrule.exercise.documents import (
    Flavour,
    exercises_document,
    graph_figure,
    solutions_document,
)
from chainrule.exercise.generator import Variant, generate
from chainrule.exercise.key import KEY_FILE, key_json
from chainrule.exercise.moodle import MOODLE_FILE, moodle_xml
from chainrule.exercise.options import DEFAULT_OPS, ExerciseOptions
from chainrule.files import write_atomic
from chainrule.report.document import Document, Figure
from chainrule.report.html import to_html
from chainrule.report.markdown import to_markdown

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


def _documents(variants: list[Variant], flavour: Flavour, command: str,
               figures: list[Figure]) -> dict[str, Document]:
    return {
        "exercises": exercises_document(variants, flavour, command),
        "solutions": solutions_document(variants, flavour, command, figures),
    }


def _write_markdown(out: Path, documents: dict[str, Document]) -> list[Path]:
    written = []
    for name, document in documents.items():
        text, assets = to_markdown(document)
        for relative, data in assets.items():
            write_atomic(out / relative, data)
            written.append(out / relative)
        write_atomic(out / f"{name}.md", text)
        written.append(out / f"{name}.md")
    return written


def _write_html(folder: Path, documents: dict[str, Document]) -> list[Path]:
    for name, document in documents.items():
        write_atomic(folder / f"{name}.html", to_html(document))
    return [folder / f"{name}.html" for name in documents]


def _print_pdfs(pages: list[Path], out: Path) -> tuple[list[Path], list[str]]:
    from chainrule.report.pdf import NoBrowserError, find_browser, print_pdf

    try:
        browser = find_browser()
    except NoBrowserError as missing:
        return [], [f"no PDFs written: {missing}"]
    targets = [out / f"{page.stem}.pdf" for page in pages]
    with ThreadPoolExecutor(max_workers=len(pages)) as pool:
        for done in [pool.submit(print_pdf, page, target, browser)
                     for page, target in zip(pages, targets, strict=True)]:
            done.result()
    return targets, []


def write_files(variants: list[Variant], options: ExerciseOptions, out: Path) -> Built:
    """Write every requested file for ``variants`` into ``out``."""
    built = Built(variants)
    formats = set(options.formats)
    command = command_line(options)
    if "json" in formats:
        write_atomic(out / KEY_FILE, key_json(variants))
        built.files.append(out / KEY_FILE)
    if "moodle" in formats:
        write_atomic(out / MOODLE_FILE, moodle_xml(variants, f"chainrule exercises, seed "
                                                             f"{options.seed}"))
        built.files.append(out / MOODLE_FILE)
    if not formats & {"md", "html", "pdf"}:
        return built
    with ThreadPoolExecutor(max_workers=FIGURE_THREADS) as pool:  # dot runs outside the GIL
        figures = list(pool.map(graph_figure, variants))
    if "md" in formats:
        built.files += _write_markdown(out, _documents(variants, "markdown", command, figures))
    if not formats & {"html", "pdf"}:
        return built
    documents = _documents(variants, "html", command, figures)
    with TemporaryDirectory(prefix="chainrule-exercise-") as scratch:
        pages = _write_html(out if "html" in formats else Path(scratch), documents)
        if "html" in formats:
            built.files += pages
        if "pdf" in formats:
            printed, problems = _print_pdfs(pages, out)
            built.files += printed
            built.problems += problems
    return built


def build_exercises(options: ExerciseOptions, out: Path) -> Built:
    """Generate the variants and write their files."""
    if out.exists() and not out.is_dir():
        raise ChainruleError(f"--out {out}: exists and is not a folder")
    variants = generate(options)
    return write_files(variants, options, out)
