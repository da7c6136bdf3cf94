"""What ``chainrule exercise`` is asked for, checked before anything is generated.

Every option is validated here, with one line that names the option, and so is
whether the options can be met at all (``--ops sqrt --shared-inputs 3`` cannot:
an expression of one-argument operations has one input place).

>>> ExerciseOptions(ops=("sqrt",), shared_inputs=3, inputs=(3, 3))  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
chainrule.exercise.options.ExerciseOptionsError: --shared-inputs 3 with --inputs 3: every \
operation in --ops sqrt takes one argument, so an expression has exactly one input place; ...
>>> parse_range("4-7", "--operations"), parse_range("3", "--inputs")
((4, 7), (3, 3))
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from chainrule.core.ops import OPS, Op
from chainrule.errors import ChainruleError

DEFAULT_OPS = ("add", "sub", "mul", "div", "pow", "sqrt", "log", "exp", "max", "sigmoid")
"""The operations of the sheet's section 1.2 and its sigmoid network."""

FORMATS = ("md", "html", "pdf", "moodle", "json")
"""What ``--format`` may name: exercises/solutions as Markdown, HTML, PDF; moodle.xml; key.json."""

CONSTANT_ARGUMENTS: dict[str, tuple[int, ...]] = {"pow": (2, 3)}
"""Arguments written as small constants, as the sheet writes ``c^3``: pow's exponent.

A variable exponent would put ``x^y · log x`` into every backward pass and force x > 0."""

INPUT_NAMES = "abcdghkmnpqrstuwxyz"
"""Input names in order: a, b, c, d, g, ... (no e: it is Euler's number to the parser;
no f: it is the function, f(a, b) = ...; no i, j, l, o, v: they read as numbers or as
the intermediate variables v1, v2, ...)."""

MAX_COUNT = 1000
MAX_OPERATIONS = 20
MAX_INPUTS = 8


class ExerciseOptionsError(ChainruleError):
    """Options that are malformed or that no expression can satisfy."""


_RANGE = re.compile(r"\s*(\d+)\s*(?:-\s*(\d+)\s*)?\Z")


def parse_range(text: str, option: str) -> tuple[int, int]:
    """``"4-7"`` -> ``(4, 7)``; ``"5"`` -> ``(5, 5)``."""
    match = _RANGE.match(text)
    if match is None:
        raise ExerciseOptionsError(f"{option}: expected N or LOW-HIGH, got {text!r}")
    low = int(match[1])
    high = int(match[2]) if match[2] is not None else low
    if low > high:
        raise ExerciseOptionsError(f"{option} {text}: the low end is above the high end")
    return low, high


def parse_list(text: str, option: str) -> tuple[str, ...]:
    """``"add, mul"`` -> ``("add", "mul")``; empty items are an error."""
    items = tuple(item.strip() for item in text.split(","))
    if not all(items):
        raise ExerciseOptionsError(f"{option}: empty name in {text!r}")
    return items


def binary(op: Op) -> bool:
    """A two-argument operation whose arguments are both variables (adds an input place)."""
    return op.arity == 2 and op.name not in CONSTANT_ARGUMENTS


@dataclass(frozen=True)
class ExerciseOptions:
    """The command's options; invalid or unsatisfiable ones raise :class:`ExerciseOptionsError`."""

    count: int = 30
    seed: int = 0
    ops: tuple[str, ...] = DEFAULT_OPS
    operations: tuple[int, int] = (4, 7)
    inputs: tuple[int, int] = (3, 4)
    shared_inputs: int = 1
    formats: tuple[str, ...] = FORMATS
    only: int | None = None  # --id: just this variant

    def __post_init__(self) -> None:
        self._check_numbers()
        self._check_names()
        self._check_satisfiable()

    def _check_numbers(self) -> None:
        if not 1 <= self.count <= MAX_COUNT:
            raise ExerciseOptionsError(f"--count {self.count}: must be 1 to {MAX_COUNT}")
        if self.only is not None and self.only < 1:
            raise ExerciseOptionsError(f"--id {self.only}: variants are numbered from 1")
        low, high = self.operations
        if low < 1 or high > MAX_OPERATIONS:
            raise ExerciseOptionsError(
                f"--operations {low}-{high}: must lie within 1-{MAX_OPERATIONS}"
            )
        low, high = self.inputs
        if low < 1 or high > MAX_INPUTS:
            raise ExerciseOptionsError(f"--inputs {low}-{high}: must lie within 1-{MAX_INPUTS}")
        if not 0 <= self.shared_inputs <= high:
            raise ExerciseOptionsError(
                f"--shared-inputs {self.shared_inputs}: must be 0 to the most inputs ({high})"
            )

    def _check_names(self) -> None:
        unknown = [name for name in self.ops if name not in OPS]
        if unknown:
            raise ExerciseOptionsError(
                f"--ops: unknown operation {unknown[0]!r}; the registry has {', '.join(OPS)}"
            )
        if not self.ops:
            raise ExerciseOptionsError("--ops: name at least one operation")
        bad = [name for name in self.formats if name not in FORMATS]
        if bad or not self.formats:
            raise ExerciseOptionsError(
                f"--format: {bad[0]!r} is not one of {', '.join(FORMATS)}" if bad
                else "--format: name at least one format"
            )

    def sizes(self) -> list[tuple[int, int]]:
        """Every (operations, inputs) pair that can carry the shared inputs."""
        return [
            (operations, inputs)
            for operations in range(self.operations[0], self.operations[1] + 1)
            for inputs in range(max(self.inputs[0], self.shared_inputs), self.inputs[1] + 1)
            if inputs + self.shared_inputs <= self.most_places(operations)
        ]

    def most_places(self, operations: int) -> int:
        """Input places of the widest expression: one, plus one per two-argument operation."""
        return 1 + operations if any(binary(OPS[name]) for name in self.ops) else 1

    def _check_satisfiable(self) -> None:
        if self.sizes():
            return
        low, high = self.inputs
        needed = max(low, self.shared_inputs) + self.shared_inputs
        what = f"--shared-inputs {self.shared_inputs} with --inputs {low}" + (
            f"-{high}" if high != low else ""
        )
        if not any(binary(OPS[name]) for name in self.ops):
            raise ExerciseOptionsError(
                f"{what}: every operation in --ops {','.join(self.ops)} takes one argument, so "
                f"an expression has exactly one input place; {needed} are needed (each input "
                "once, each shared input twice): add a two-argument operation such as add or mul"
            )
        raise ExerciseOptionsError(
            f"{what}: {self.operations[1]} operations give at most "
            f"{self.most_places(self.operations[1])} input places, {needed} are needed "
            "(each input once, each shared input twice): raise --operations"
        )
