"""Subcommands of the CLI, one module each.

A command module defines ``register(subcommands)``, which adds its parser and
sets ``run=<function(args) -> int>`` as a default. Keep module-level imports
light: import torch, matplotlib or sympy inside ``run``.
"""

from types import ModuleType

from chainrule.commands import chain, check, demo, exercise, gradients, graph, mnist, report

COMMANDS: list[ModuleType] = [graph, check, demo, mnist, chain, gradients, report, exercise]
