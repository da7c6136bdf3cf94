"""The scalar ``graph`` command starts without numpy, sympy, torch or matplotlib.

Checked in a fresh interpreter (this one has them all loaded already); how fast it
starts is measured by ``benchmarks/startup.py``, not asserted here.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

HEAVY = ("numpy", "sympy", "torch", "matplotlib")


def modules_loaded_by(argv: list[str]) -> list[str]:
    """The heavy libraries in ``sys.modules`` after ``chainrule.cli.main(argv)`` ran."""
    code = (
        "import contextlib, io, json, sys\n"
        "from chainrule.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        f"    status = main({argv!r})\n"
        f"print(json.dumps([status, [m for m in {HEAVY!r} if m in sys.modules]]))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    )
    status, loaded = json.loads(done.stdout)
    assert status == 0, done.stderr
    return list(loaded)


@pytest.mark.parametrize(
    "extra",
    [[], ["--format", "json"], ["--format", "markdown"], ["--names", "letters"]],
    ids=["text", "json", "markdown", "letters"],
)
def test_the_scalar_graph_command_imports_no_heavy_library(extra: list[str]) -> None:
    argv = ["graph", "(a - b*c)*d", "--at", "a=2,b=-7,c=4,d=1", *extra]
    assert modules_loaded_by(argv) == []


def test_latex_input_needs_no_heavy_library_either() -> None:
    latex = r"\sqrt{a + b + c^3} + \log\left(\frac{a}{d}\right)"
    assert modules_loaded_by(["graph", latex, "--at", "a=2,b=-7,c=4,d=1"]) == []


def test_arrays_load_numpy_when_they_are_used() -> None:
    # The check above is not vacuous: the same command with many points does load numpy.
    code = (
        "import sys\nfrom chainrule import parse\n"
        "parse('x*y').evaluate(x=[1.0, 2.0], y=3.0)\nprint('numpy' in sys.modules)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120, check=True)
    assert done.stdout.strip() == "True"


def test_every_command_module_is_listed() -> None:
    # The CLI imports commands by name: a module with register() but not in NAMES
    # would silently be no command at all.
    import pkgutil

    from chainrule import commands

    registering = {
        info.name
        for info in pkgutil.iter_modules(commands.__path__)
        if hasattr(commands.modules([info.name])[0], "register")
    }
    assert registering == set(commands.NAMES)
