"""notebooks/computational_graphs.ipynb runs top to bottom; Graph and Result display richly."""

from __future__ import annotations

import pytest

from chainrule import parse
from notebook_runner import NOTEBOOKS, assert_stored_without_outputs, run_notebook, venv_kernel

__all__ = ["venv_kernel"]  # a fixture, imported for pytest

NOTEBOOK = NOTEBOOKS / "computational_graphs.ipynb"


def test_the_notebook_is_stored_without_outputs() -> None:
    assert_stored_without_outputs(NOTEBOOK)


@pytest.mark.slow
def test_the_notebook_runs_without_errors(venv_kernel: str) -> None:
    outputs = run_notebook(NOTEBOOK, venv_kernel, timeout=120)
    shown = [out for out in outputs if out.output_type in ("display_data", "execute_result")]
    pictures = [out for out in shown if "image/svg+xml" in out.data]
    # the example, the three graphs (ii) and result A (iii): each with all three views
    assert len(pictures) == 5
    for out in pictures:
        assert {"image/svg+xml", "text/markdown", "text/plain"} <= set(out.data)
    explanations = [out.data["text/markdown"] for out in shown if "image/svg+xml" not in out.data]
    assert sum("#### 4. Backward pass" in text for text in explanations) == 4


def test_displays_as_svg_markdown_and_text() -> None:
    graph = parse(r"(a - (b \cdot c)) \cdot d")
    for shown in (graph, graph.evaluate(a=2, b=-7, c=4, d=1)):
        bundle = shown._repr_mimebundle_()
        assert set(bundle) == {"image/svg+xml", "text/markdown", "text/plain"}
        assert bundle["image/svg+xml"].count("<svg") == 1
        assert bundle["text/markdown"].startswith("![computational graph](data:image/svg+xml;")
    result = graph.evaluate(a=2, b=-7, c=4, d=1)
    assert "−28" in result._repr_mimebundle_()["image/svg+xml"]  # the forward value of v1
    assert result._repr_mimebundle_()["text/plain"].startswith("expression: ")
    assert graph._repr_mimebundle_(exclude=["image/svg+xml", "text/markdown"]) == {
        "text/plain": "v1 = b * c\nv2 = a - v1\nv3 = v2 * d"
    }


def test_array_results_display_as_text_only() -> None:
    import numpy as np

    result = parse("x*x").evaluate(x=np.array([1.0, 2.0, 3.0]))
    bundle = result._repr_mimebundle_()
    assert list(bundle) == ["text/plain"]
    assert "at 3 points" in bundle["text/plain"]


def test_big_graphs_display_without_a_picture() -> None:
    graph = parse(" + ".join(f"x{i}*y{i}" for i in range(100)))  # 399 nodes
    assert list(graph._repr_mimebundle_()) == ["text/markdown", "text/plain"]
