"""Assemble the hand-in: the report with the group on page 1, the executed notebook, the code.

Everything is checked before anything runs (the group, the folders, the notebook and its
tools, a browser for the PDF); then the report is built in a scratch folder with the
cache of ``chainrule report`` (so a hand-in right after a report costs only the
notebook), the notebook is executed, and the zip is written in one atomic step.

>>> from chainrule.report.group import group_from_options
>>> zip_name(group_from_options("7", ["Ada Lovelace:123456"]))
'exercise_1_group_7.zip'
"""

from __future__ import annotations

import datetime
import platform
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from chainrule import __version__
from chainrule.errors import ChainruleError
from chainrule.handin.archive import write_zip
from chainrule.handin.budget import HANDIN_BUDGETS
from chainrule.handin.notebook import NOTEBOOK, check_notebook_tools, execute_notebook
from chainrule.handin.scripts import FOLDER as SCRIPTS_FOLDER
from chainrule.handin.scripts import SCRIPTS
from chainrule.report.budget import BUDGETS
from chainrule.report.build import CACHE_FOLDER, ReportOptions, build_report
from chainrule.report.group import Group
from chainrule.report.progress import duration

PACKAGE = Path(__file__).resolve().parents[1]
"""chainrule's source folder: shipped in the zip so that the scripts and the notebook run."""

TRAINING_IMAGES = 55_000  # MNIST's 60,000 less the notebook's 5,000 for validation
VALIDATION_IMAGES = 5_000
TEST_IMAGES = 10_000


class HandinError(ChainruleError):
    """The hand-in cannot be made as asked."""


@dataclass(frozen=True)
class HandinOptions:
    """Everything ``chainrule handin`` takes from its command line."""

    group: Group
    out: Path = Path("handin")
    budget: str = "quick"
    report: Path = Path("report")  # the folder of `chainrule report` whose cache is reused
    quiet: bool = False
    command: str = "chainrule handin"  # the command line, for README.txt


@dataclass(frozen=True)
class HandinOutcome:
    """The zip written and what went into it."""

    zip: Path
    names: list[str]
    size: int
    notebook_seconds: float
    reused_parts: int
    parts: int


def zip_name(group: Group) -> str:
    """The zip's file name, from the group number (checked to be file-name safe)."""
    return f"exercise_1_group_{group.number}.zip"


def _say(options: HandinOptions, text: str) -> None:
    if not options.quiet:
        print(f"handin: {text}", file=sys.stderr, flush=True)


def check(options: HandinOptions) -> None:
    """Every problem that can be found before the work starts, as a one-line error."""
    from chainrule.report.pdf import find_browser

    if options.budget not in HANDIN_BUDGETS:
        raise HandinError(f"unknown budget {options.budget!r}: choose quick or full")
    for flag, folder in (("--out", options.out), ("--report", options.report)):
        if folder.exists() and not folder.is_dir():
            raise HandinError(f"{flag} {folder}: exists and is not a folder")
    target = options.out / zip_name(options.group)
    if target.is_dir():
        raise HandinError(f"{target} is a folder; the zip cannot be written there")
    check_notebook_tools()
    find_browser()  # the PDF is the heart of the hand-in: no browser, no hand-in


def cpu_name() -> str:
    """The processor's model name (``platform.processor()`` is often empty on Linux)."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as info:
            for line in info:
                if line.startswith("model name"):
                    return line.partition(":")[2].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _data_sentence(subset: int) -> str:
    if not subset:
        return (f"all {TRAINING_IMAGES:,} training images, the {VALIDATION_IMAGES:,} validation "
                f"and the {TEST_IMAGES:,} test images")
    used = min(subset, TRAINING_IMAGES)
    test = ("all 10,000 test images" if subset >= TEST_IMAGES
            else f"the first {subset:,} of the {TEST_IMAGES:,} test images")
    return (f"the first {used:,} of the {TRAINING_IMAGES:,} training images only "
            f"(`CHAINRULE_NOTEBOOK_SUBSET={subset}`), {min(subset, VALIDATION_IMAGES):,} "
            f"validation images and {test}")


def notebook_note(options: HandinOptions, when: datetime.datetime) -> str:
    """The Markdown cell at the top of the executed notebook: who, when, how, on what data."""
    budget = HANDIN_BUDGETS[options.budget]
    members = ", ".join(f"{m.name} ({m.matriculation})" for m in options.group.members)
    return (
        f"**Exercise 1, section 1.4: {options.group.title}** — {members}\n\n"
        f"Executed top to bottom for the hand-in by `chainrule handin` (chainrule {__version__}) "
        f"with nbclient on {when:%Y-%m-%d %H:%M}, on the CPU ({cpu_name()}). Budget "
        f"**{budget.name}**: the networks below train on "
        f"{_data_sentence(budget.notebook_subset)}."
    )


def _sources() -> dict[str, bytes]:
    """chainrule's Python files as ``chainrule/...`` (no caches, no compiled files)."""
    files = sorted(p for p in PACKAGE.rglob("*.py") if "__pycache__" not in p.parts)
    return {f"chainrule/{p.relative_to(PACKAGE).as_posix()}": p.read_bytes() for p in files}


def readme(options: HandinOptions, when: datetime.datetime, outcome_lines: list[str]) -> str:
    """README.txt: what is where, how to run it, how it was produced."""
    budget = HANDIN_BUDGETS[options.budget]
    group = options.group
    width = max(len(name) for name in ("exercise_1.ipynb", *SCRIPTS)) + 2
    lines = [
        f"Exercise 1 - Computational Graphs and Gradients: hand-in of {group.title.lower()}",
        *(f"  {member.name} ({member.matriculation})" for member in group.members),
        "",
        "What is where",
        f"  {'report.pdf':<{width}}the worked solution of 1.1-1.4; the group and its members "
        "are on page 1",
        f"  {'exercise_1.ipynb':<{width}}section 1.4: the notebook, every cell executed in order, "
        "saved with its outputs",
        *(f"  {name:<{width}}{what}" for name, what in SCRIPTS.items()),
        f"  {'chainrule/':<{width}}the source of chainrule {__version__}, which the scripts and "
        "the notebook import",
        "",
        "Running the code (Python 3.11 or later with torch, numpy, sympy and matplotlib), in "
        "this folder:",
        *(f"  python {name}" for name in SCRIPTS),
        "  jupyter nbconvert --to notebook --execute exercise_1.ipynb   (or open it in Jupyter)",
        "The MNIST files are downloaded on first use (11 MB) unless CHAINRULE_DATA_DIR names a "
        "folder with them.",
        "",
        "How this was produced",
        f"  {options.command}",
        f"  chainrule {__version__}, {when:%Y-%m-%d %H:%M}, Python {platform.python_version()}, "
        f"{platform.system()} {platform.machine()}, {cpu_name()}",
        f"  budget {budget.name}: report {BUDGETS[budget.report_budget].describe()}; notebook "
        f"on {_data_sentence(budget.notebook_subset).replace('`', '')}",
        *(f"  {line}" for line in outcome_lines),
    ]
    return "\n".join(lines) + "\n"


def _report_pdf(options: HandinOptions, staging: Path) -> tuple[bytes, int, int]:
    """Build the report with the group block; its PDF and how many of its parts were reused."""
    budget = HANDIN_BUDGETS[options.budget]
    cache = options.report / CACHE_FOLDER
    _say(options, f"building the report (budget {budget.report_budget}, reusing {cache})")
    report = build_report(ReportOptions(
        out=staging / "report", budget=budget.report_budget, quiet=options.quiet,
        group=options.group, cache=cache,
    ))  # fmt: skip
    if report.problems:
        raise HandinError(f"the report is not complete, so no hand-in: {report.problems[0]}")
    reused = sum(result.status == "cached" for result in report.results.values())
    return (staging / "report" / "report.pdf").read_bytes(), reused, len(report.results)


def build_handin(options: HandinOptions) -> HandinOutcome:
    """Check, build the report, execute the notebook, write the zip; see the module doc."""
    check(options)
    when = datetime.datetime.now().astimezone()
    budget = HANDIN_BUDGETS[options.budget]
    with tempfile.TemporaryDirectory(prefix="chainrule-handin-") as staging:
        pdf, reused, parts = _report_pdf(options, Path(staging))
    subset = budget.notebook_subset
    _say(options, f"executing {NOTEBOOK.name} as exercise_1.ipynb "
                  f"({f'first {subset:,} training images' if subset else 'all training images'})")
    started = datetime.datetime.now().astimezone()  # after the report, which can take minutes
    notebook = execute_notebook(notebook_note(options, started), subset)
    lines = [f"report: {parts} parts, {reused} reused from {options.report / CACHE_FOLDER}",
             f"notebook: {notebook.code_cells} code cells in {duration(notebook.seconds)}"]
    entries: dict[str, str | bytes] = {
        "README.txt": readme(options, when, lines),
        "report.pdf": pdf,
        "exercise_1.ipynb": notebook.text,
        **{name: (SCRIPTS_FOLDER / name).read_bytes() for name in SCRIPTS},
        **_sources(),
    }
    target = options.out / zip_name(options.group)
    write_zip(target, entries, when)
    size = target.stat().st_size
    _say(options, f"wrote {target} ({size / 1e6:.1f} MB, {len(entries)} files)")
    return HandinOutcome(target, list(entries), size, notebook.seconds, reused, parts)
