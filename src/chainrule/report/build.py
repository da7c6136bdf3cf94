"""Run the plan, assemble the document, write index.html, report.md and report.pdf.

Parts are cached in ``OUT/.cache``; the document is assembled fresh each run
from the parts' blocks (cheap), so a change of the writers never recomputes.
"""

from __future__ import annotations

import datetime
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from chainrule import __version__
from chainrule.errors import ChainruleError
from chainrule.files import write_atomic
from chainrule.report.budget import BUDGETS
from chainrule.report.cache import Cache
from chainrule.report.document import Block, Document, Note, unique_anchors
from chainrule.report.group import Group
from chainrule.report.html import to_html
from chainrule.report.markdown import write_markdown
from chainrule.report.parts import PartResult, run_parts
from chainrule.report.progress import Progress, duration
from chainrule.report.sections import Plan, plan

TITLE = "Exercise 1: Computational Graphs and Gradients"
CACHE_FOLDER = ".cache"


@dataclass(frozen=True)
class ReportOptions:
    """Everything ``chainrule report`` takes from its command line."""

    out: Path = Path("report")
    expressions: Sequence[str] = ()  # user expressions; empty: the sheet's
    at: Mapping[str, float] = field(default_factory=dict)  # values over the sheet's
    budget: str = "quick"
    fresh: bool = False
    quiet: bool = False
    authors: Sequence[str] = ()
    pdf: bool = True
    group: Group | None = None  # the group block under the title
    cache: Path | None = None  # the cache's folder; None: OUT/.cache

    @property
    def cache_folder(self) -> Path:
        return self.cache if self.cache is not None else self.out / CACHE_FOLDER


@dataclass
class ReportOutcome:
    """What a run wrote and which parts failed."""

    files: list[Path]
    results: dict[str, PartResult]
    problems: list[str]  # one line per failed part or skipped output

    @property
    def failed(self) -> list[PartResult]:
        return [r for r in self.results.values() if r.status == "failed"]


def assemble(
    report_plan: Plan, results: Mapping[str, PartResult], subtitle: list[str],
    group: Group | None = None,
) -> Document:
    """The document: sections in the sheet's order, each with its parts' blocks."""
    blocks: list[Block] = []
    for section in report_plan.sections:
        blocks.append(section.heading())
        blocks += section.intro()
        for part_id in section.parts:
            result = results.get(part_id)
            if result is None:
                blocks.append(Note(f"Part {part_id} did not run.", "error"))
            else:
                blocks += result.output.blocks
    return Document(TITLE, subtitle, unique_anchors(blocks), group)


def _subtitle(
    options: ReportOptions, results: Mapping[str, PartResult], timings: Mapping[str, float]
) -> list[str]:
    budget = BUDGETS[options.budget]
    today = datetime.date.today().isoformat()
    lines = [", ".join(options.authors)] if options.authors else []
    seconds = sum(timings.get(part, r.seconds) for part, r in results.items())
    cached = sum(r.status == "cached" for r in results.values())
    reused = f" ({cached} of {len(results)} parts reused from an earlier run)" if cached else ""
    lines.append(f"Worked solution computed by chainrule {__version__} on {today}")
    lines.append(f"{budget.describe()}; {duration(seconds)} of computing{reused}")
    return lines


def _write_pdf(out: Path, progress: Progress) -> tuple[list[Path], list[str]]:
    from chainrule.report.pdf import NoBrowserError, print_pdf

    progress.note("printing report.pdf with headless Chromium")
    try:
        print_pdf(out / "index.html", out / "report.pdf")
    except NoBrowserError as missing:
        return [], [f"report.pdf not written: {missing}"]
    return [out / "report.pdf"], []


def build_report(options: ReportOptions) -> ReportOutcome:
    """Compute (or reuse) every part and write the report's files; see the module doc."""
    if options.budget not in BUDGETS:
        raise ChainruleError(f"unknown budget {options.budget!r}: choose quick or full")
    if options.out.exists() and not options.out.is_dir():
        raise ChainruleError(f"--out {options.out}: exists and is not a folder")
    report_plan = plan(BUDGETS[options.budget], list(options.expressions), options.at)
    cache = Cache(options.cache_folder)
    timings = cache.timings()
    estimates = {p.id: timings.get(p.id, p.estimate) for p in report_plan.parts}
    progress = Progress(estimates, enabled=not options.quiet)
    show_bars = not options.quiet and sys.stderr.isatty()
    results = run_parts(report_plan.parts, cache, progress, fresh=options.fresh,
                        show_progress=show_bars)
    subtitle = _subtitle(options, results, cache.timings())
    document = assemble(report_plan, results, subtitle, options.group)
    write_atomic(options.out / "index.html", to_html(document))
    files = [options.out / "index.html", *write_markdown(options.out, {"report": document})]
    problems = [f"part {r.part.id} failed: {r.error}" for r in results.values()
                if r.status == "failed"]
    if options.pdf:
        printed, skipped = _write_pdf(options.out, progress)
        files += printed
        problems += skipped
    elif (options.out / "report.pdf").exists():  # never leave a PDF of an older run beside
        (options.out / "report.pdf").unlink()
    return ReportOutcome(files, results, problems)

