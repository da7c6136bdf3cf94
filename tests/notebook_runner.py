"""Running the project's notebooks in tests, with the interpreter that has chainrule.

Import the fixture into a test module: ``from notebook_runner import venv_kernel``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
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


def assert_stored_without_outputs(path: Path) -> None:
    """The notebook is valid and committed clean: no outputs, no execution counts."""
    notebook = nbformat.read(path, as_version=4)
    nbformat.validate(notebook)
    for cell in notebook.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None


def run_notebook(path: Path, kernel: str, timeout: int) -> list[Any]:
    """Execute the notebook top to bottom in its folder; the outputs of all code cells."""
    notebook = nbformat.read(path, as_version=4)
    client = NotebookClient(
        notebook, kernel_name=kernel, timeout=timeout,
        resources={"metadata": {"path": str(path.parent)}},
    )  # fmt: skip
    client.execute()  # raises CellExecutionError naming the cell if any cell fails
    outputs = [out for cell in notebook.cells if cell.cell_type == "code" for out in cell.outputs]
    assert not [out for out in outputs if out.output_type == "error"]
    return outputs
