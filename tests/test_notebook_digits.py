"""notebooks/digit_recognition.ipynb (section 1.4) runs top to bottom on a subset of MNIST."""

from __future__ import annotations

import re

import pytest

from notebook_runner import NOTEBOOKS, assert_stored_without_outputs, run_notebook, venv_kernel

__all__ = ["venv_kernel"]  # a fixture, imported for pytest

NOTEBOOK = NOTEBOOKS / "digit_recognition.ipynb"
SUBSET = 2000


def test_the_notebook_is_stored_without_outputs() -> None:
    assert_stored_without_outputs(NOTEBOOK)
    assert NOTEBOOK.stat().st_size < 40_000


@pytest.mark.slow
def test_the_notebook_runs_on_a_subset(venv_kernel: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CHAINRULE_NOTEBOOK_SUBSET", str(SUBSET))
    monkeypatch.setenv("OMP_NUM_THREADS", "1")  # CI runs two test processes on two cores
    outputs = run_notebook(NOTEBOOK, venv_kernel, timeout=300)
    text = "".join(out.text for out in outputs if out.output_type == "stream")
    assert f"subset of {SUBSET} training images" in text
    assert f"{SUBSET} for training, {SUBSET} for validation, {SUBSET} for testing" in text
    # both networks learn: even on 2000 images they are far above chance (10%)
    accuracies = [float(a) for a in re.findall(r"test accuracy: (\d+\.\d+)%", text)]
    assert len(accuracies) == 3 and min(accuracies) > 75  # PyTorch twice, chainrule once
    assert "(chainrule's backpropagation)" in text and "∂L/∂W1 = xᵀ · ∂L/∂v1" in text
    graphs = [out for out in outputs if "image/svg+xml" in out.get("data", {})]
    assert len(graphs) == 1  # the tensor graph, drawn by chainrule's renderer
    pictures = [out for out in outputs if "image/png" in out.get("data", {})]
    assert len(pictures) == 3  # examples, confusion matrix, misclassified digits
    assert "most frequent confusions:" in text
