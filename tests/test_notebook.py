"""notebooks/computational_graphs.ipynb runs top to bottom; Graph and Result display richly."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from chainrule import parse

NOTEBOOK = Path(__file__).resolve().parent.parent / "notebooks" / "computational_graphs.ipynb"
KERNEL = "chainrule-venv"


@pytest.fixture
def venv_kernel(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A kernelspec that runs this interpreter, first on the Jupyter path.

    The notebook must run with the interpreter that has chainrule installed, not
    whatever "python3" kernel a user or the system has registered.
    """
    spec = tmp_path / "kernels" / KERNEL
    spec.mkdir(parents=True)
    argv = [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    kernel = {"argv": argv, "display_name": "chainrule (venv)", "language": "python"}
    (spec / "kernel.json").write_text(json.dumps(kernel), encoding="utf-8")
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path))
    return KERNEL


def test_the_notebook_is_stored_without_outputs() -> None:
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    nbformat.validate(notebook)
    for cell in notebook.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None


@pytest.mark.slow
def test_the_notebook_runs_without_errors(venv_kernel: str) -> None:
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    client = NotebookClient(
        notebook,
        kernel_name=venv_kernel,
        timeout=120,
        resources={"metadata": {"path": str(NOTEBOOK.parent)}},
    )
    client.execute()  # raises CellExecutionError naming the cell if any cell fails
    outputs = [out for cell in notebook.cells if cell.cell_type == "code" for out in cell.outputs]
    assert not [out for out in outputs if out.output_type == "error"]
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
