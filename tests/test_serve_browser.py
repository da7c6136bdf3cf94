"""The playground in a real browser: Playwright driving Chromium against ``chainrule serve``.

Every test reads what a person would see (the ``data-testid`` hooks), compares
it with what the engine computes, and checks that the page logged no error.
A screenshot of every view is written to ``$CHAINRULE_SCREENSHOTS`` (default: the
test's temporary folder) to be looked at.
"""

from __future__ import annotations

import os
import urllib.parse
from pathlib import Path
from typing import Any

import pytest

from chainrule import parse
from chainrule.serve.handlers import walkthrough
from chainrule.sheet import SHEET_EXPRESSIONS, SHEET_VALUES
from chainrule.vanishing.chain import analyse
from conftest import one_digit_png

pytestmark = pytest.mark.slow

A_URL = "?expr=(a-b*c)*d&at=a=2,b=-7,c=4,d=1"


def shot(page: Any, name: str, tmp_path: Path) -> Path:
    folder = Path(os.environ.get("CHAINRULE_SCREENSHOTS") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    assert path.stat().st_size > 15_000  # a page with content, not a blank one
    return path


def text(page: Any, testid: str) -> str:
    content: str = page.get_by_test_id(testid).text_content()
    return content


def wait_for_text(page: Any, testid: str, expected: str) -> None:
    page.wait_for_function(
        "([id, want]) => document.querySelector(`[data-testid='${id}']`)?.textContent === want",
        arg=[testid, expected], timeout=30_000,
    )


def wait_for_number(page: Any, testid: str, expected: float) -> None:
    """Until the element shows ``expected`` (the page writes JSON's numbers as JavaScript does)."""
    page.wait_for_function(
        "([id, want]) => Number(document.querySelector(`[data-testid='${id}']`)?.textContent)"
        " === want",
        arg=[testid, expected], timeout=30_000,
    )


def wait_for_value(page: Any, testid: str, expected: float) -> None:
    """Until the element's ``data-value`` (the number in full precision) is ``expected``."""
    page.wait_for_function(
        "([id, want]) => Number(document.querySelector(`[data-testid='${id}']`)"
        "?.dataset.value) === want",
        arg=[testid, expected], timeout=30_000,
    )


def test_a_link_opens_its_graph_and_edits_update_it(page: Any, server: str, tmp_path: Path) -> None:
    page.goto(server + A_URL)
    wait_for_text(page, "output-value", "30")
    gradients = {name: text(page, f"gradient-{name}") for name in "abcd"}
    assert gradients == {"a": "1", "b": "-4", "c": "7", "d": "30"}
    assert page.get_by_test_id("graph").locator("svg .node").count() == 7
    shot(page, "graph", tmp_path)

    page.get_by_test_id("value-c").fill("5")
    wait_for_text(page, "gradient-b", "-5")
    assert text(page, "output-value") == "37"
    measures = page.evaluate("performance.getEntriesByName('edit-to-update').length")
    assert measures >= 1  # the page marks edit -> update (benchmarks/serve.py reads them)

    page.get_by_test_id("expression").fill("x*y + sin(x)")
    page.get_by_test_id("value-x").wait_for(timeout=30_000)
    page.get_by_test_id("value-x").fill("2")
    page.get_by_test_id("value-y").fill("3")
    expected = parse("x*y + sin(x)").evaluate(x=2, y=3).gradients
    wait_for_number(page, "gradient-y", expected["y"])
    wait_for_number(page, "gradient-x", expected["x"])
    query = urllib.parse.parse_qs(urllib.parse.urlparse(page.url).query)
    assert query["expr"] == ["x*y + sin(x)"] and query["at"] == ["x=2,y=3"]
    assert page.console_errors == []

    page.reload()  # the URL alone brings the view back
    wait_for_number(page, "gradient-x", expected["x"])


def test_a_parse_error_is_shown_under_the_box_with_the_caret(page: Any, server: str) -> None:
    page.goto(server + A_URL)
    wait_for_text(page, "output-value", "30")
    page.get_by_test_id("expression").fill("(a+b))")
    error = page.get_by_test_id("expression-error")
    error.wait_for(state="visible", timeout=30_000)
    assert error.text_content() == "error: unmatched ')' at column 6\n  (a+b))\n       ^"
    page.get_by_test_id("expression").fill("a+b")
    error.wait_for(state="hidden", timeout=30_000)
    assert page.console_errors.unexpected() == []


def test_step_through_a_forward_then_backward(page: Any, server: str, tmp_path: Path) -> None:
    expression = SHEET_EXPRESSIONS["A"]
    query = urllib.parse.urlencode({"view": "step", "expr": expression,
                                    "at": "a=2,b=-7,c=4,d=1"})
    page.goto(f"{server}?{query}")
    page.get_by_test_id("step-label").filter(has_text="steps").wait_for(timeout=30_000)
    steps = walkthrough(parse(expression).evaluate(SHEET_VALUES))
    forward = [s for s in steps if s["pass"] == "forward"]
    backward = [s for s in steps if s["pass"] == "backward"]
    shown = []
    for step in forward:
        page.get_by_test_id("step-forward").click()
        shown.append(text(page, "step-text"))
        current = page.locator(".graph .node.current")
        assert current.count() == 1 and current.get_attribute("id") == f"node{step['node']}"
        assert page.locator(".graph .edge.current").count() == len(step["edges"])
    assert shown == [s["text"] for s in forward]
    assert shown[4:] == ["v1 = b · c = (−7)(4) = −28", "v2 = a − v1 = 2 − (−28) = 30",
                         "v3 = v2 · d = (30)(1) = 30"]
    shot(page, "step-forward", tmp_path)
    page.get_by_test_id("step-forward").click()  # the forward pass is done: nothing moves
    assert text(page, "step-text") == forward[-1]["text"]
    shown = []
    for _ in backward:
        page.get_by_test_id("step-backward").click()
        shown.append(text(page, "step-text"))
    assert shown == [s["text"] for s in backward]
    assert "∂v3/∂c = ∂v3/∂v1 · ∂v1/∂c = (−1)(−7) = 7" in shown
    shot(page, "step-backward", tmp_path)

    page.locator("#solution summary").click()
    page.get_by_test_id("solution-text").filter(has_text="Symbolic gradients").wait_for(
        timeout=30_000)
    with page.expect_download() as download:
        page.get_by_test_id("download-latex").click()
    latex = Path(download.value.path()).read_text(encoding="utf-8")
    assert latex.startswith("\\documentclass{article}") and "\\partial" in latex
    with page.expect_download() as download:
        page.get_by_test_id("download-markdown").click()
    assert download.value.suggested_filename == "worked-solution.md"
    shot(page, "solution", tmp_path)
    assert page.console_errors == []


def test_the_sigmoid_chain_follows_its_sliders(page: Any, server: str, tmp_path: Path) -> None:
    page.goto(server + "?view=chain&w=1,1,1,1,1&x=0.5&act=sigmoid")
    expected = analyse([1, 1, 1, 1, 1], 0.5)
    wait_for_value(page, "chain-dydx", expected.backprop)
    page.get_by_test_id("chain-weight-2").fill("6")
    page.get_by_test_id("chain-weight-4").fill("-3.5")
    changed = analyse([1, 6, 1, -3.5, 1], 0.5)
    wait_for_value(page, "chain-dydx", changed.backprop)
    rows = page.get_by_test_id("chain-table").locator("tbody tr")
    assert rows.count() == 5
    assert page.get_by_test_id("chain-picture").locator("rect.bar").count() == 6
    assert "w=1,6,1,-3.5,1" in urllib.parse.unquote(page.url)
    shot(page, "chain", tmp_path)
    assert page.console_errors == []


def test_check_my_answer_marks_the_wrong_line(page: Any, server: str, tmp_path: Path) -> None:
    page.goto(server + "?view=check&" + A_URL[1:])
    wait_for_text(page, "output-value", "30")  # hidden in this view, but loaded
    answers = "p = b*c = -28\nq = a - p = 2 - 28 = -26\nA = q*d = -26\n"
    page.get_by_test_id("answers").fill(answers)
    page.get_by_test_id("check").click()
    result = page.get_by_test_id("check-result")
    result.locator("[data-line='2']").wait_for(timeout=30_000)
    assert result.locator("[data-line='1']").get_attribute("data-verdict") == "correct"
    assert result.locator("[data-line='2']").get_attribute("data-verdict") == "wrong"
    assert "2 - 28" in result.locator("[data-line='2']").text_content()
    shot(page, "check", tmp_path)
    page.reload()  # the answer is in the URL too
    assert page.get_by_test_id("answers").input_value() == answers
    result.locator("[data-line='2'][data-verdict='wrong']").wait_for(timeout=30_000)
    assert page.console_errors == []


def draw_a_one(page: Any) -> None:
    """A vertical stroke down the middle of the canvas, with the mouse."""
    box = page.get_by_test_id("digit-canvas").bounding_box()
    x = box["x"] + box["width"] / 2
    page.mouse.move(x, box["y"] + box["height"] * 0.15)
    page.mouse.down()
    for step in range(1, 21):
        page.mouse.move(x + step * 0.3, box["y"] + box["height"] * (0.15 + 0.035 * step))
    page.mouse.up()


def test_draw_a_digit_and_read_the_prediction(page: Any, server: str, tmp_path: Path) -> None:
    page.goto(server + "?view=digit")
    draw_a_one(page)
    page.get_by_test_id("prediction").filter(has_text="1").wait_for(timeout=120_000)
    probabilities = [float(text(page, f"probability-{d}")) for d in range(10)]
    assert max(probabilities) == probabilities[1] and sum(probabilities) == pytest.approx(1, 1e-3)
    ink = page.evaluate("""() => {
        const data = document.querySelector("[data-testid=digit-image28]")
            .getContext("2d").getImageData(0, 0, 28, 28).data;
        let lit = 0;
        for (let i = 0; i < data.length; i += 4) if (data[i] > 128) lit++;
        return lit;
    }""")
    assert 20 < ink < 300  # the 28x28 digit the network saw, drawn back on the page
    shot(page, "digit", tmp_path)
    page.get_by_test_id("digit-clear").click()
    assert text(page, "prediction") == "–"
    photo = tmp_path / "photo.png"
    photo.write_bytes(one_digit_png("1", size=400))
    page.get_by_test_id("digit-upload").set_input_files(str(photo))
    page.get_by_test_id("prediction").filter(has_text="1").wait_for(timeout=60_000)
    assert page.console_errors == []
