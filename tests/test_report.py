"""``chainrule report``: the files, the page in a real browser, the PDF, the cache, bad input.

One report is built with the hidden ``test`` budget (every part runs, MNIST on a
small subset) and shared by the tests of this module; the tests that change an
input start from a copy of its cache, so only what the change touches runs again.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chainrule import parse
from chainrule.cli import main
from chainrule.report import vanishing
from chainrule.report.cache import Cache
from chainrule.report.document import (
    Answer,
    BulletList,
    Code,
    Figure,
    Heading,
    Math,
    Note,
    Paragraph,
    Table,
    from_json,
    inline_tokens,
    to_json,
)
from chainrule.report.parts import Part, PartOutput, run_parts
from chainrule.report.progress import Progress

SECTIONS = ("sec-1-1", "sec-1-2", "sec-1-3", "sec-1-4")
PARTS_IN_PAGE = ("expr-example", "expr-A", "expr-B", "expr-C", "chain", "chain-plots",
                 "deepnet", "model-baseline", "model-best", "model-comparison")

needs_browser = pytest.mark.skipif(
    shutil.which("chromium") is None and shutil.which("google-chrome") is None,
    reason="Chromium is not installed (apt-get install chromium)",
)


# ------------------------------------------------------------------ the shared report


def build(out: Path, *options: str, cache_from: Path | None = None) -> tuple[int, str]:
    """Run ``chainrule report --budget test`` into ``out``; (exit status, stderr)."""
    if cache_from is not None:
        shutil.copytree(cache_from / ".cache", out / ".cache")
    import contextlib
    import io

    errors = io.StringIO()
    with contextlib.redirect_stderr(errors):
        status = main(["report", "--budget", "test", "--out", str(out), *options])
    return status, errors.getvalue()


@pytest.fixture(scope="session")
def report(tmp_path_factory: pytest.TempPathFactory, worker_id: str) -> Path:
    """One report for the whole session, built once even when xdist spreads the tests."""
    from filelock import FileLock

    if worker_id == "master":  # no xdist: this session's own folder
        out = tmp_path_factory.mktemp("report")
        status, errors = build(out)
        assert status == 0, errors
        return out
    shared = tmp_path_factory.getbasetemp().parent  # one per session, shared by its workers
    out = shared / "report"
    with FileLock(str(shared / "report.lock")):
        if not (out / "built").is_file():
            shutil.rmtree(out, ignore_errors=True)
            status, errors = build(out)
            assert status == 0, errors
            (out / "built").write_text("ok\n")
    return out


# ------------------------------------------------------------------ document model


blocks_strategy = st.lists(
    st.one_of(
        st.builds(Heading, st.text(min_size=1), st.integers(2, 4)),
        st.builds(Paragraph, st.text()),
        st.builds(Math, st.text()),
        st.builds(Code, st.text()),
        st.builds(BulletList, st.lists(st.text(), max_size=3).map(tuple)),
        st.builds(Table, st.lists(st.text(), min_size=1, max_size=3).map(tuple),
                  st.lists(st.lists(st.text(), max_size=3).map(tuple), max_size=3).map(tuple)),
        st.builds(Figure, st.text(), st.text(), png=st.binary(max_size=20)),
        st.builds(Note, st.text(), st.sampled_from(["info", "warning", "error"])),
        st.builds(Answer, st.text(), st.text(), st.text()),
    ),
    max_size=6,
)


@given(blocks_strategy)
def test_blocks_survive_the_cache_format(blocks: list[Any]) -> None:
    assert from_json(json.loads(json.dumps(to_json(blocks)))) == blocks


@given(st.text())
def test_inline_markup_keeps_all_text_outside_its_markers(text: str) -> None:
    tokens = inline_tokens(text)
    marker = {"text": "{}", "math": "${}$", "bold": "**{}**", "code": "`{}`"}
    assert "".join(marker[kind].format(piece) for kind, piece in tokens) == text


def test_a_failing_part_leaves_the_others_and_is_not_cached(tmp_path: Path) -> None:
    calls: list[str] = []

    def fine(ctx: Any) -> PartOutput:
        calls.append("fine")
        return PartOutput([Paragraph("ok")], {"n": 1})

    def broken(ctx: Any) -> PartOutput:
        calls.append("broken")
        raise ValueError("boom")

    parts = [Part("fine", "fine", fine), Part("broken", "broken", broken)]
    cache = Cache(tmp_path)
    first = run_parts(parts, cache, Progress({}, enabled=False))
    assert (first["fine"].status, first["broken"].status) == ("ran", "failed")
    assert "boom" in str(first["broken"].output.blocks[0])
    assert "ValueError: boom" in (tmp_path / "broken.error.log").read_text()
    second = run_parts(parts, cache, Progress({}, enabled=False))
    assert (second["fine"].status, second["broken"].status) == ("cached", "failed")
    fresh = run_parts(parts, cache, Progress({}, enabled=False), fresh=True)
    assert fresh["fine"].status == "ran"
    assert calls == ["fine", "broken", "broken", "fine", "broken"]


def test_cache_key_follows_inputs_and_facts(tmp_path: Path) -> None:
    seen: list[Any] = []

    def record(ctx: Any) -> PartOutput:
        seen.append(dict(ctx.facts))
        return PartOutput([])

    def parts(x: int) -> list[Part]:
        source = Part("source", "source", lambda ctx: PartOutput([], {"x": x}), {"x": x})
        return [source, Part("reader", "reader", record, uses=("source",))]

    cache = Cache(tmp_path)
    for x in (1, 1, 2):
        run_parts(parts(x), cache, Progress({}, enabled=False))
    assert seen == [{"source": {"x": 1}}, {"source": {"x": 2}}]


def test_every_module_a_cache_key_names_exists() -> None:
    """A key names modules as strings: one left behind by a move would cover no code."""
    import importlib
    import pkgutil

    import chainrule.report
    from chainrule.report.budget import BUDGETS
    from chainrule.report.cache import module_closure, module_file
    from chainrule.report.sections import plan

    named: dict[str, set[str]] = {}  # module -> where it is named
    for budget in BUDGETS:
        for part in plan(BUDGETS[budget], [], {}).parts:
            for module in part.modules:
                named.setdefault(module, set()).add(f"part {part.id}")
    for info in pkgutil.iter_modules(chainrule.report.__path__, "chainrule.report."):
        for attribute, value in vars(importlib.import_module(info.name)).items():
            if attribute.endswith("MODULES"):  # MODULES, PLOT_MODULES, REPORT_MODULES, ...
                for module in value:
                    named.setdefault(module, set()).add(f"{info.name}.{attribute}")
    missing = {module: sorted(where) for module, where in named.items() if not module_file(module)}
    assert not missing, f"cache keys name modules that do not exist: {missing}"
    assert {"chainrule.vanishing.plots", "chainrule.mnist.train"} <= set(named)
    # The keys follow the code through its imports: the chain's part covers the modules
    # it runs, wherever they moved (the graph, the sympy facts, the activation table).
    chain_closure = set(module_closure("chainrule.report.vanishing"))
    for module in ("chainrule.vanishing.chain", "chainrule.vanishing.facts",
                   "chainrule.vanishing.activations", "chainrule.core.graph"):
        assert module in chain_closure, module


def test_expensive_parts_do_not_depend_on_the_presentation() -> None:
    from chainrule.report import digits
    from chainrule.report.budget import BUDGETS
    from chainrule.report.cache import module_closure

    expensive = [p for budget in ("quick", "full")
                 for p in [*digits.parts(BUDGETS[budget]), *vanishing.parts(BUDGETS[budget])]
                 if p.present is not None]
    assert len(expensive) == 12  # three trainings (one by chainrule), the evaluation, the plots,
    # the deep networks
    assert "1.4-best-best-full" in {p.id for p in expensive}
    for part in expensive:
        closure = {m for module in part.modules for m in module_closure(module)}
        assert "chainrule.mnist.train" in closure or "chainrule.vanishing.plots" in closure
        assert not any(m.startswith("chainrule.report") for m in closure), part.id


# ------------------------------------------------------------------ the command


def test_bad_input_is_one_line_and_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]
                                          ) -> None:
    cases = [
        (["--at", "a=x"], "not a number"),
        (["--expr", "(a+"], "column"),
        (["--expr", "log(a)", "--at", "a=-1"], "domain"),
        (["--at", "q=1"], "no expression uses q"),
        (["--expr", "x*y", "--at", "x=1"], "no value for y"),
        (["--budget", "huge"], "invalid choice"),
        (["--expr", "x" + "+x" * 1001, "--at", "x=1"], "up to 1000"),
    ]
    for options, message in cases:
        status = main(["report", "--out", str(tmp_path / "out"), "--no-pdf", *options])
        err = capsys.readouterr().err
        assert status == 2, options
        assert message in err and err.startswith("error: "), (options, err)
        assert "Traceback" not in err
    assert not (tmp_path / "out").exists()  # nothing is computed before the input is checked


@pytest.mark.slow
def test_report_files(report: Path) -> None:
    html = (report / "index.html").read_text()
    markdown = (report / "report.md").read_text()
    for heading in ("1.1 Basics", "1.2 Computational graphs", "1.3 Vanishing and exploding "
                    "gradients", "1.4 Handwritten digit recognition"):
        assert f"## {heading}" in markdown
        assert heading in html
    # self-contained: nothing is fetched, nothing runs
    assert "<script" not in html
    assert not re.search(r'(src|href)="(?!data:|#)', html)
    assert "<link" not in html
    # every Markdown picture exists, every asset is used
    pictures = set(re.findall(r"\]\((assets/[^)]+)\)", markdown))
    assert pictures == {f"assets/{p.name}" for p in (report / "assets").iterdir()}
    assert {"assets/graph-A.svg", "assets/graph-B.svg", "assets/graph-C.svg"} <= pictures
    assert "$$" in markdown and "$\\partial" in markdown  # math for GitHub


@pytest.mark.slow
def test_every_number_comes_from_the_run(report: Path, tmp_path: Path) -> None:
    out = tmp_path / "a3"
    status, errors = build(out, "--at", "a=3", "--no-pdf", cache_from=report)
    assert status == 0, errors
    # only what depends on a was computed again
    assert "1.4 training the best network (preset fast)" in errors
    assert errors.count("cached: reused") >= 6, errors
    before = (report / "report.md").read_text()
    after = (out / "report.md").read_text()
    sheet_a = parse(r"(a - (b \cdot c)) \cdot d")
    for text, a in ((before, 2.0), (after, 3.0)):
        result = sheet_a.evaluate(a=a, b=-7, c=4, d=1)
        value = f"{result.value:g}"
        assert f"({value})(1) = {value}" in text  # the forward pass of A, v3 = v2 · d
        # the answer to 1.1 (ii) quotes dA/dd, which is A's value divided by d = 1
        assert f"\\partial v_{{3}}/\\partial d = {result.gradients['d']:g}$" in text
    assert "= 30$" in before and "(31)(1) = 31" in after and "(31)(1)" not in before


@pytest.mark.slow
def test_second_run_reuses_everything_and_user_expressions(report: Path, tmp_path: Path
                                                           ) -> None:
    out = tmp_path / "again"
    status, errors = build(out, "--no-pdf", cache_from=report)
    assert status == 0
    assert "done in" not in errors  # every part came from the cache
    user = tmp_path / "user"
    status, errors = build(user, "--expr", "x*y + sin(x)", "--expr", "relu(x - y)",
                           "--at", "x=1.5,y=-2", "--no-pdf", cache_from=report)
    assert status == 0, errors
    markdown = (user / "report.md").read_text()
    assert "### Expression 1" in markdown and "### Expression 2" in markdown
    assert "### Expression A" not in markdown
    assert (user / "assets" / "graph-1.svg").is_file()


@pytest.mark.slow
def test_a_failing_section_keeps_the_rest(report: Path, tmp_path: Path,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    def broken() -> PartOutput:
        raise RuntimeError("the chain broke")

    monkeypatch.setattr(vanishing, "chain_part", broken)
    out = tmp_path / "broken"
    shutil.copytree(report / ".cache", out / ".cache")
    (out / ".cache" / "1.3-chain.json").unlink()  # so that it runs again, and fails
    status, errors = build(out, "--no-pdf")
    assert status == 1
    assert "1.3-chain failed: RuntimeError: the chain broke" in errors
    markdown = (out / "report.md").read_text()
    assert "This part could not be computed" in markdown
    assert "### Expression C" in markdown and "### The best model" in markdown


@pytest.mark.slow
def test_without_a_browser_the_pdf_is_skipped_with_a_warning(
    report: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from chainrule.report import pdf

    monkeypatch.setattr(pdf, "BROWSERS", ("no-such-browser",))
    monkeypatch.delenv("CHAINRULE_BROWSER", raising=False)
    out = tmp_path / "nobrowser"
    status, errors = build(out, "--author", "Group 7: A. Student (123456)", cache_from=report)
    assert status == 0
    assert "warning: report.pdf not written" in errors and "apt-get install chromium" in errors
    assert not (out / "report.pdf").exists()
    assert "Group 7: A. Student (123456)" in (out / "index.html").read_text()


# ------------------------------------------------------------------ a real browser


PAGE_CHECK = """() => {
  const images = [...document.images];
  return {
    images: images.length,
    broken: images.filter(i => !i.complete || i.naturalWidth === 0).map(i => i.alt).slice(0, 5),
    svgs: document.querySelectorAll("figure svg").length,
    ids: [...document.querySelectorAll("[id]")].map(e => e.id),
    text: document.body.innerText.length,
    width: document.documentElement.scrollWidth,
  };
}"""


@pytest.mark.slow
@needs_browser
def test_the_page_in_chromium(report: Path, page: Any, tmp_path: Path) -> None:
    page.goto((report / "index.html").as_uri(), wait_until="load")
    found = page.evaluate(PAGE_CHECK)
    assert page.console_errors == []
    assert found["broken"] == [] and found["images"] > 100  # typeset math is images
    assert found["svgs"] >= 10  # graphs and plots inline
    assert set(SECTIONS + PARTS_IN_PAGE) <= set(found["ids"])
    assert len(found["ids"]) == len(set(found["ids"]))  # inline SVGs and headings never clash
    assert found["width"] <= 1100  # nothing wider than the window
    picture = tmp_path / "page.png"
    page.screenshot(path=str(picture))
    assert picture.stat().st_size > 20_000  # a page with content, not a blank one


@pytest.mark.slow
@needs_browser
@pytest.mark.skipif(shutil.which("pdftoppm") is None, reason="poppler-utils is not installed")
def test_the_pdf_renders(report: Path, tmp_path: Path) -> None:
    info = subprocess.run(["pdfinfo", str(report / "report.pdf")], capture_output=True,
                          text=True, check=True).stdout
    pages = int(re.search(r"Pages:\s+(\d+)", info)[1])  # type: ignore[index]
    assert pages >= 10
    assert "A4" in info or "595" in info
    subprocess.run(["pdftoppm", "-r", "40", "-png", "-f", "1", "-l", "3",
                    str(report / "report.pdf"), str(tmp_path / "page")], check=True)
    rendered = sorted(tmp_path.glob("page-*.png"))
    assert len(rendered) == 3 and all(p.stat().st_size > 5_000 for p in rendered)
    text = subprocess.run(["pdftotext", str(report / "report.pdf"), "-"], capture_output=True,
                          text=True, check=True).stdout
    for heading in ("1.1 Basics", "1.2 Computational graphs", "1.4 Handwritten digit"):
        assert heading in text
