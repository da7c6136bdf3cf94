"""Subcommands of the CLI, one module each.

A command module defines ``register(subcommands)``, which adds its parser and
sets ``run=<function(args) -> int>`` as a default. Keep module-level imports
light: import torch, matplotlib or sympy inside ``run``. The CLI imports only the
module of the command it runs (all of them for ``chainrule --help``), so one
command's imports never slow another's start.

>>> [module.__name__ for module in modules(["graph"])]
['chainrule.commands.graph']
"""

from collections.abc import Iterable
from importlib import import_module
from types import ModuleType

NAMES = (
    "graph", "check", "demo", "mnist", "chain", "gradients", "report", "exercise", "handin",
    "serve",
)
"""Every subcommand, in the order ``chainrule --help`` lists them; ``NAME`` is the
module ``chainrule.commands.NAME``."""


def modules(names: Iterable[str] = NAMES) -> list[ModuleType]:
    """The command modules called ``names``, imported."""
    return [import_module(f"{__name__}.{name}") for name in names]
