"""exercise_1.ipynb: the section 1.4 notebook, executed top to bottom by nbclient at hand-in time.

The notebook is the repository's ``notebooks/digit_recognition.ipynb``, stored without
outputs. It runs in a kernel started with this very interpreter (the one that imports
this chainrule), in a scratch folder, with ``CHAINRULE_NOTEBOOK_SUBSET`` set to the
budget's number of training images (unset for all of them). A note at the top says
when, how and on how much data it ran; every code cell keeps its outputs.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from chainrule.errors import ChainruleError

NOTEBOOK = Path(__file__).resolve().parents[3] / "notebooks" / "digit_recognition.ipynb"
"""The notebook of section 1.4, in the repository beside ``src/``."""

SUBSET_VARIABLE = "CHAINRULE_NOTEBOOK_SUBSET"
"""The notebook's switch: train on the first N images of each split (0 or unset: all)."""

KERNEL = "chainrule-handin"
CELL_SECONDS = 1800
"""Longest a cell may run before the hand-in calls it stuck (the full budget's bonus network
takes a few minutes on 2 cores)."""


class NotebookError(ChainruleError):
    """The notebook is missing, its tools are not installed, or a cell failed."""


def check_notebook_tools(source: Path = NOTEBOOK) -> None:
    """Fail now, in one line, if the notebook or nbclient, nbformat or ipykernel is missing."""
    if not source.is_file():
        raise NotebookError(
            f"the notebook of section 1.4 is missing: {source} (chainrule handin runs from a "
            "clone of the repository)"
        )
    missing = [name for name in ("nbclient", "nbformat", "ipykernel") if not _importable(name)]
    if missing:
        raise NotebookError(
            f"executing the notebook needs {', '.join(missing)}: pip install nbclient nbformat "
            "ipykernel"
        )


def _importable(module: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(module) is not None


@dataclass(frozen=True)
class ExecutedNotebook:
    """The executed notebook as .ipynb text, and how long its cells took."""

    text: str
    seconds: float
    code_cells: int


def _kernel_manager_class(folder: Path) -> type[Any]:
    """A kernel manager class whose only kernel is this interpreter (not whatever "python3"
    a user or the system registered); nbclient creates it and shuts the kernel down."""
    from jupyter_client.kernelspec import KernelSpecManager
    from jupyter_client.manager import AsyncKernelManager

    spec = folder / "kernels" / KERNEL
    spec.mkdir(parents=True)
    argv = [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    kernel = {"argv": argv, "display_name": "Python 3", "language": "python"}
    (spec / "kernel.json").write_text(json.dumps(kernel), encoding="utf-8")

    class Manager(AsyncKernelManager):
        def _kernel_spec_manager_default(self) -> KernelSpecManager:
            return KernelSpecManager(kernel_dirs=[str(folder / "kernels")],
                                     ensure_native_kernel=False)

    return Manager


def kernel_environment(subset: int) -> dict[str, str]:
    """The kernel's environment: ours, with this chainrule first on the path and the subset.

    >>> env = kernel_environment(10000)
    >>> env["CHAINRULE_NOTEBOOK_SUBSET"], "CHAINRULE_NOTEBOOK_SUBSET" in kernel_environment(0)
    ('10000', False)
    """
    env = dict(os.environ)
    package_root = str(Path(__file__).resolve().parents[2])  # the folder holding chainrule/
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [package_root, env.get("PYTHONPATH")]))
    env.pop(SUBSET_VARIABLE, None)
    if subset:
        env[SUBSET_VARIABLE] = str(subset)
    return env


def _failure(problem: Exception, kernel_log: Path) -> NotebookError:
    """A failed cell (or kernel) as one line: which error, and the kernel's last words."""
    from nbclient.exceptions import CellExecutionError

    if isinstance(problem, CellExecutionError):
        what = f"{problem.ename}: {problem.evalue}".strip()
    else:
        what = f"{type(problem).__name__}: {problem}".strip()
        logged = kernel_log.read_text(encoding="utf-8", errors="replace").strip().splitlines()
        if logged:  # a kernel that died says why on its stderr
            what += f" (kernel: {logged[-1].strip()})"
    first = what.splitlines()[0] if what else type(problem).__name__
    return NotebookError(f"exercise_1.ipynb did not run through: {first}")


def execute_notebook(note: str, subset: int, source: Path = NOTEBOOK) -> ExecutedNotebook:
    """Run every cell of ``source`` in order, ``note`` (Markdown) first; the notebook as text."""
    import nbformat
    from nbclient import NotebookClient

    notebook = nbformat.read(source, as_version=4)  # type: ignore[no-untyped-call]
    notebook.cells.insert(0, nbformat.v4.new_markdown_cell(note))  # type: ignore[no-untyped-call]
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="chainrule-notebook-") as scratch:
        folder = Path(scratch)
        (folder / "run").mkdir()
        client = NotebookClient(
            notebook, kernel_name=KERNEL, kernel_manager_class=_kernel_manager_class(folder),
            timeout=CELL_SECONDS, startup_timeout=180,
            resources={"metadata": {"path": str(folder / "run")}},
        )  # fmt: skip
        log = folder / "kernel.log"
        # The kernel's own stderr (ipykernel's start-up warnings) goes to a log, not the user.
        with log.open("w", encoding="utf-8") as kernel_stderr:
            try:
                client.execute(env=kernel_environment(subset), stderr=kernel_stderr)
            except Exception as problem:  # any failure of a cell or the kernel: one line
                kernel_stderr.flush()
                raise _failure(problem, log) from None
    nbformat.validate(notebook)
    code_cells = sum(cell.cell_type == "code" for cell in notebook.cells)
    text = nbformat.writes(notebook)  # type: ignore[no-untyped-call]
    return ExecutedNotebook(text, time.perf_counter() - started, code_cells)
