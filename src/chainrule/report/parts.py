"""Parts: the units the report is computed in, each cached and failing on its own.

A part (expression B of section 1.2, the baseline network of 1.4) computes a
list of blocks and a few named *facts* (numbers other parts quote, e.g. the test
accuracy an answer in 1.1 cites). Its cache key covers its inputs, the facts it
reads and the source of the modules it runs. A part that raises becomes an error
note in the report; the parts before and after it keep their results.

>>> import tempfile
>>> from chainrule.report.cache import Cache
>>> from chainrule.report.document import Paragraph
>>> from chainrule.report.progress import Progress
>>> def square(ctx): return PartOutput([Paragraph("9")], {"square": 9})
>>> def broken(ctx): raise RuntimeError("no data")
>>> parts = [Part("sq", "a square", square, {"x": 3}), Part("bad", "a failure", broken)]
>>> done = run_parts(parts, Cache(Path(tempfile.mkdtemp())), Progress({}, enabled=False))
>>> done["sq"].status, done["sq"].output.facts, done["bad"].status
('ran', {'square': 9}, 'failed')
>>> done["bad"].error
'RuntimeError: no data'
"""

from __future__ import annotations

import shutil
import tempfile
import time
import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from chainrule.errors import ChainruleError
from chainrule.files import write_atomic
from chainrule.report.cache import Cache, cache_key, safe_name
from chainrule.report.document import Block, Note, from_json, to_json
from chainrule.report.progress import Progress

Status = Literal["ran", "cached", "failed"]

REPORT_MODULES = ("chainrule.report.document", "chainrule.report.parts")
"""Modules every part's output depends on (the shape of what it stores)."""


@dataclass
class PartOutput:
    """What a part computed: blocks for the report, facts for the other parts."""

    blocks: list[Block]
    facts: dict[str, Any] = field(default_factory=dict)  # JSON-ready values


@dataclass(frozen=True)
class PartContext:
    """What a running part may use besides its inputs."""

    facts: Mapping[str, Mapping[str, Any]]  # part id -> facts, for the parts it uses
    workdir: Path  # a scratch folder, removed after the part
    show_progress: bool  # whether inner progress bars (training) may draw
    files: Path  # the cache's folder for files that outlive the run (a trained model)

    def keep(self, part: str) -> Path:
        """The folder where ``part`` keeps its files (emptied before the part runs)."""
        return self.files / safe_name(part)


@dataclass(frozen=True)
class Part:
    """One cacheable unit of the report."""

    id: str  # "1.2-B"
    title: str  # shown by the progress display
    run: Callable[[PartContext], PartOutput]
    inputs: Mapping[str, Any] = field(default_factory=dict)  # JSON-ready: part of the cache key
    modules: tuple[str, ...] = ()  # chainrule modules whose source the result depends on
    estimate: float = 1.0  # seconds it takes when it has to run
    uses: tuple[str, ...] = ()  # parts whose facts it reads (they must come earlier)
    # For an expensive part: makes its blocks from its facts on every run, so that only the
    # facts are cached and a change of presentation never recomputes them (a trained model).
    present: Callable[[Mapping[str, Any]], list[Block]] | None = None


@dataclass
class PartResult:
    """A part after the run: its output, how it was obtained, how long it took."""

    part: Part
    output: PartOutput
    status: Status
    seconds: float = 0.0
    error: str | None = None


def _key(part: Part, facts: Mapping[str, Mapping[str, Any]]) -> str:
    inputs = {"inputs": part.inputs, "facts": facts}
    shape = REPORT_MODULES if part.present is None else ()  # stored blocks or facts only
    return cache_key(part.id, inputs, (*part.modules, *shape))


def _cached(cache: Cache, part: Part, key: str) -> PartOutput | None:
    stored = cache.load(part.id, key)
    if not isinstance(stored, dict):
        return None
    try:
        return PartOutput(from_json(stored["blocks"]), dict(stored["facts"]))
    except (KeyError, TypeError, ValueError):  # written by an older shape: run again
        return None


def _execute(
    part: Part, facts: Mapping[str, Mapping[str, Any]], show: bool, files: Path
) -> PartOutput:
    with tempfile.TemporaryDirectory(prefix="chainrule-report-") as scratch:
        context = PartContext(facts, Path(scratch), show, files)
        kept = context.keep(part.id)
        shutil.rmtree(kept, ignore_errors=True)  # files of an older run of this part
        kept.mkdir(parents=True)
        return part.run(context)


def _failure(part: Part, problem: Exception, cache: Cache) -> tuple[PartOutput, str]:
    """The error note that stands in for a failed part; the traceback goes to a log file."""
    if isinstance(problem, ChainruleError):
        message = str(problem)
    else:
        message = f"{type(problem).__name__}: {problem}".strip()
    log = cache.folder / f"{safe_name(part.id)}.error.log"
    write_atomic(log, "".join(traceback.format_exception(problem)))
    note = Note(
        f"**This part could not be computed** ({part.title}): {message}. "
        "The rest of the report is complete; run the command again to retry this part.",
        "error",
    )
    return PartOutput([note]), message


def _run_or_reuse(
    part: Part, reused: PartOutput | None, facts: Mapping[str, Mapping[str, Any]], key: str,
    cache: Cache, show_progress: bool,
) -> PartResult:
    """The part's computed output: from the cache, or run now and stored."""
    if reused is not None:
        return PartResult(part, reused, "cached")
    start = time.perf_counter()
    try:
        output = _execute(part, facts, show_progress, cache.folder / "files")
    except Exception as problem:  # isolate the failure; KeyboardInterrupt still stops
        output, message = _failure(part, problem, cache)
        return PartResult(part, output, "failed", time.perf_counter() - start, message)
    seconds = time.perf_counter() - start
    cache.store(part.id, key, {"blocks": to_json(output.blocks), "facts": output.facts})
    cache.record_timing(part.id, seconds)
    return PartResult(part, output, "ran", seconds)


def _presented(result: PartResult, cache: Cache) -> PartResult:
    """Blocks from the facts, for a part that presents them (done on every run, never cached)."""
    present = result.part.present
    if present is None or result.status == "failed":
        return result
    try:
        blocks = present(result.output.facts)
    except Exception as problem:  # a bug in the presentation: the computed facts stay cached
        note, message = _failure(result.part, problem, cache)
        return PartResult(result.part, PartOutput(note.blocks, result.output.facts), "failed",
                          result.seconds, message)
    return PartResult(result.part, PartOutput(blocks, result.output.facts), result.status,
                      result.seconds)


def run_parts(
    parts: list[Part],
    cache: Cache,
    progress: Progress,
    *,
    fresh: bool = False,
    show_progress: bool = False,
) -> dict[str, PartResult]:
    """Run (or reuse) every part in order; one part's failure never stops the others."""
    done: dict[str, PartResult] = {}
    # Parts that read no facts: known cached up front, for the time-left estimate.
    independent = {
        part.id: _cached(cache, part, _key(part, {})) for part in parts if not (fresh or part.uses)
    }
    for part_id, output in independent.items():
        if output is not None:
            progress.expect_cached(part_id)
    for part in parts:
        facts = {used: done[used].output.facts for used in part.uses if used in done}
        key = _key(part, facts)
        if part.id in independent:
            reused = independent[part.id]
        else:
            reused = None if fresh else _cached(cache, part, key)
        if reused is not None:
            progress.expect_cached(part.id)
        progress.begin(part.id, part.title)
        result = _presented(_run_or_reuse(part, reused, facts, key, cache, show_progress), cache)
        done[part.id] = result
        progress.end(part.id, result.seconds, result.status)
    return done
