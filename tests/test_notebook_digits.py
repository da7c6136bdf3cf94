"""notebooks/digit_recognition.ipynb (section 1.4) runs top to bottom on a subset of MNIST."""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from test_notebook import venv_kernel

__all__ = ["venv_kernel"]  # a fixture, imported for pytest

NOTEBOOK = Path(__file__).resolve().parent.parent / "notebooks" / "digit_recognition.ipynb"
SUBSET = 2000


def test_the_notebook_is_stored_without_outputs() -> None:
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    nbformat.validate(notebook)
    for cell in notebook.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None
    assert NOTEBOOK.stat().st_size < 40_000


@pytest.mark.slow
def test_the_notebook_runs_on_a_subset(venv_kernel: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CHAINRULE_NOTEBOOK_SUBSET", str(SUBSET))
    monkeypatch.setenv("OMP_NUM_THREADS", "1")  # CI runs two test processes on two cores
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    client = NotebookClient(
        notebook,
        kernel_name=venv_kernel,
        timeout=300,
        resources={"metadata": {"path": str(NOTEBOOK.parent)}},
    )
    client.execute()  # raises CellExecutionError naming the cell if any cell fails
    outputs = [out for cell in notebook.cells if cell.cell_type == "code" for out in cell.outputs]
    assert not [out for out in outputs if out.output_type == "error"]
    text = "".join(out.text for out in outputs if out.output_type == "stream")
    assert f"subset of {SUBSET} training images" in text
    assert f"{SUBSET} for training, {SUBSET} for validation, {SUBSET} for testing" in text
    # both networks learn: even on 2000 images they are far above chance (10%)
    accuracies = [float(a) for a in re.findall(r"test accuracy: (\d+\.\d+)%", text)]
    assert len(accuracies) == 2 and min(accuracies) > 75
    pictures = [out for out in outputs if "image/png" in out.get("data", {})]
    assert len(pictures) == 3  # examples, confusion matrix, misclassified digits
    assert "most frequent confusions:" in text
