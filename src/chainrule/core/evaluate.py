"""Forward propagation and backpropagation over a :class:`~chainrule.core.graph.Graph`.

The graph is compiled once into a flat program of tuples, then run by two
loops: forward in graph order, backward in reverse, each gradient accumulated
over all of a node's consumers. Floats take a fast path on Python's ``math``;
numpy arrays evaluate the same program at many points at once. Nothing
recurses, and a second backward pass gives the same gradients as the first.
numpy is imported only when arrays (or an inf or nan) call for it, so that a
command evaluating at one point starts without it.

Domain errors (log of a negative number, division by zero, overflow) name the
node where they happen:

>>> from chainrule import parse
>>> parse("log(a - 3)").evaluate(a=2.75)
Traceback (most recent call last):
...
chainrule.errors.EvaluationError: v2 = log(v1): argument -0.25 is outside log's domain (0, inf)
>>> r = parse("log(a - 3)").evaluate(a=2.75, allow_nan=True)
>>> r.value, r.warnings
(nan, ["v2 = log(v1): argument -0.25 is outside log's domain (0, inf)"])
"""

from __future__ import annotations

import math
import sys
from collections.abc import Callable, Container, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any, NamedTuple, cast

from chainrule.core import hooks
from chainrule.core.backends import MathBackend, ScalarMath, numpy_math
from chainrule.errors import ChainruleError, EvaluationError

if TYPE_CHECKING:
    from chainrule.core.graph import Graph, Node

_MATH_ERRORS = (ValueError, ZeroDivisionError, OverflowError)


def _is_array(value: Any) -> bool:
    """Whether ``value`` is a numpy array, without importing numpy (no numpy, no arrays)."""
    numpy = sys.modules.get("numpy")
    return numpy is not None and isinstance(value, numpy.ndarray)


Derivative = Callable[..., Any] | float | None


class Instruction(NamedTuple):
    """One operation of a compiled graph, in the form the hot loops want.

    Ops of one and two arguments, nearly all of them, take the loops' fast paths
    through ``a``, ``b``, ``da`` and ``db``; an op of any other arity goes through
    ``args`` and ``derivatives``.
    """

    arity: int
    forward: Callable[..., Any]
    da: Derivative  # d out / d a: a function, a constant, or None when a is a constant node
    db: Derivative  # d out / d b, likewise (None for unary ops)
    out: int  # node index of the result
    a: int  # node index of the first argument
    b: int  # node index of the second argument (== a for unary ops)
    args: tuple[int, ...]  # node indices of all the arguments
    derivatives: tuple[Derivative, ...]  # d out / d each argument (None for constants)


@dataclass(frozen=True)
class Program:
    """A graph compiled for evaluation; built once per graph and cached."""

    nodes: tuple[Node, ...]
    instructions: list[Instruction]
    input_index: dict[str, int]
    constants: list[tuple[int, float]]
    kinks: list[int]  # node indices of operations that have a kink
    blank: list[Any]  # one value per node: the constants' values, None elsewhere
    # inputs that neither an operation takes nor are the output (f(w, x) = 2*x keeps w)
    unused_inputs: list[int]

    @staticmethod
    def of(graph: Graph) -> Program:
        cached: Program | None = graph.__dict__.get("_program")
        if cached is None:
            cached = graph.__dict__["_program"] = Program._compile(graph)
        return cached

    @staticmethod
    def _compile(graph: Graph) -> Program:
        nodes = graph.nodes
        constant = [node.constant is not None for node in nodes]
        instructions = []
        for index, (_, op, args, _) in enumerate(nodes):
            if op is None:
                continue
            # Constants need no gradient: skipping them also skips pow's d/d exponent in c^3.
            derivatives = tuple(
                None if constant[arg] else d for arg, d in zip(args, op.derivatives, strict=True)
            )
            a, b = (args[0], args[-1]) if args else (index, index)
            da = derivatives[0] if op.arity in (1, 2) else None
            db = derivatives[1] if op.arity == 2 else None
            instruction = Instruction(op.arity, op.forward, da, db, index, a, b, args, derivatives)
            # Stored as a plain tuple: CPython unpacks only exact tuples on its fast path,
            # and the loops unpack one per operation (W1's forward pass, measured: 157
            # instead of 396 ns per operation). Read fields with Instruction(*row).
            instructions.append(cast(Instruction, tuple(instruction)))
        constants = [(i, n.constant) for i, n in enumerate(nodes) if n.constant is not None]
        blank: list[Any] = [None] * len(nodes)
        for index, value in constants:
            blank[index] = value
        inputs = {n.name: i for i, n in enumerate(nodes) if n.op is None and not constant[i]}
        return Program(
            nodes,
            instructions,
            inputs,
            constants,
            [i for i, n in enumerate(nodes) if n.op and n.op.kink],
            blank,
            [i for i in inputs.values() if not graph.consumers[i] and i != graph.output],
        )


@dataclass(frozen=True)
class Step:
    """One operation node after evaluation (a row of the forward/backward tables)."""

    name: str  # "v2"
    op: str  # "sub"
    args: tuple[str, ...]  # ("a", "v1")
    expr: str  # "a - v1"
    value: Any  # float, or an array when evaluated at many points
    grad: Any  # d output / d this node


@dataclass
class Result:
    """Values and gradients of every node after a forward and backward pass."""

    graph: Graph
    values: list[Any]  # per node, in graph order
    grads: list[Any] | None  # per node: d output / d node (None for constants; the list is
    # None if gradients were not requested)
    warnings: list[str] = field(default_factory=list)

    @property
    def value(self) -> Any:
        """The output's value."""
        return self.values[self.graph.output]

    @property
    def inputs(self) -> dict[str, Any]:
        return {name: self.values[i] for name, i in Program.of(self.graph).input_index.items()}

    @cached_property
    def gradients(self) -> dict[str, Any]:
        """d output / d input, for every input."""
        grads = self.node_grads()
        index = Program.of(self.graph).input_index
        if not _is_array(self.value):
            return {name: grads[i] for name, i in index.items()}
        import numpy as np

        shape = np.broadcast_shapes(*(np.shape(self.values[i]) for i in index.values()))
        return {name: np.broadcast_to(grads[i], shape) for name, i in index.items()}

    @property
    def steps(self) -> list[Step]:
        """The operation nodes with their values and gradients, in forward order."""
        graph, grads = self.graph, self.grads
        return [
            Step(
                node.name,
                node.op.name,
                tuple(graph.nodes[arg].name for arg in node.args),
                graph.expr(node),
                self.values[i],
                None if grads is None else grads[i],
            )
            for i, node in enumerate(graph.nodes)
            if node.op is not None
        ]

    def value_of(self, name: str) -> Any:
        """The value of the node called ``name``."""
        return self.values[self.graph.index(name)]

    def grad_of(self, name: str) -> Any:
        """d output / d (the node called ``name``)."""
        return self.node_grads()[self.graph.index(name)]

    def backward(self) -> list[Any]:
        """Run backpropagation again from scratch; the gradients do not accumulate."""
        self.grads = _backward(self.graph, self.values, self.warnings, allow_nan=True)
        self.__dict__.pop("gradients", None)
        return self.grads

    def _repr_mimebundle_(
        self, include: Container[str] | None = None, exclude: Container[str] | None = None
    ) -> dict[str, str]:
        """Jupyter's rich display: the picture with values and gradients, and the tables."""
        return hooks.mimebundle_of(self, include, exclude)

    def node_grads(self) -> list[Any]:
        """d output / d node for every node, running backpropagation if it has not run."""
        return self.grads if self.grads is not None else self.backward()


def point_value(value: Any, what: str, needed_by: str) -> float:
    """One number of a result evaluated at one point, for pictures and explanations.

    >>> import numpy as np
    >>> point_value(np.array([2.5]), "v1", "a picture"), point_value(-0.5, "v2", "a picture")
    (2.5, -0.5)
    """
    if value is None:
        raise ChainruleError(
            f"{needed_by} needs the value of {what}: evaluate with keep_intermediates=True"
        )
    if isinstance(value, float | int):
        return float(value)
    import numpy as np

    if np.size(value) != 1:
        raise ChainruleError(f"{needed_by} shows one point: evaluate at single numbers, not arrays")
    return float(np.ravel(value)[0])


def point_partials(result: Result, index: int, needed_by: str) -> list[float]:
    """d node / d argument at each argument position of a one-point result (IEEE, never raising).

    >>> from chainrule import parse
    >>> point_partials(parse("a / b").evaluate(a=1, b=2), 2, "a picture")
    [0.5, -0.25]
    """
    import numpy as np

    graph = result.graph
    node = graph.nodes[index]
    assert node.op is not None
    args = [np.float64(point_value(result.values[a], graph.nodes[a].name, needed_by))
            for a in node.args]  # fmt: skip
    out = np.float64(point_value(result.values[index], node.name, needed_by))
    with np.errstate(all="ignore"):
        return [float(p) for p in node.op.partials(numpy_math(), out, *args)]


def evaluate(
    graph: Graph,
    given: Mapping[str, Any],
    *,
    allow_nan: bool = False,
    gradients: bool = True,
    keep_intermediates: bool = True,
) -> Result:
    """Evaluate ``graph`` at ``given`` input values; see :meth:`Graph.evaluate`."""
    program = Program.of(graph)
    warnings: list[str] = list(graph.notes)
    vector = _has_arrays(given)
    values = program.blank.copy()
    inputs = [_input_value(name, given, vector) for name in program.input_index] if vector \
        else _scalar_inputs(program, given)
    for index, value in zip(program.input_index.values(), inputs, strict=True):
        values[index] = value
    if given.keys() != program.input_index.keys():
        warnings += [f"a value was given for {name!r}, which the expression does not use"
                     for name in given if name not in program.input_index]  # fmt: skip
    inputs_finite = _all_inputs_finite(inputs, vector)
    if not (inputs_finite or allow_nan):
        _refuse_non_finite_inputs(program, values)
    if vector and gradients and not keep_intermediates and inputs_finite:
        lean = _evaluate_in_chunks(graph, values, warnings)
        if lean is not None:
            return lean
        # Something is not finite: the full evaluation below finds and reports it.
    if vector:
        _forward_vector(program, values)
    else:
        _forward_scalar(graph, program, values, allow_nan, warnings)
    # Floats: any value, even one the output no longer shows (sigmoid(inf) = 1); a sum
    # of the floats is a cheap gate. Arrays: the output's, to keep sweeps fast.
    if _maybe_not_finite(values[graph.output] if vector else sum(values)):
        _report(_forward_problems(graph, values), allow_nan, warnings)
    warnings += _kink_warnings(graph, _kink_counts(program, values), vector)
    result = Result(graph, values, None, warnings)
    if gradients:
        result.grads = _backward(graph, values, warnings, allow_nan)
    return result


def _forward_vector(program: Program, values: list[Any]) -> None:
    import numpy as np

    with np.errstate(all="ignore"):
        _run_forward(program.instructions, values, numpy_math())


_CHUNK = 1 << 15  # points per chunk, measured best: a chunk's temporaries stay in cache


def _evaluate_in_chunks(graph: Graph, values: list[Any], warnings: list[str]) -> Result | None:
    """Output value and input gradients only, a chunk of points at a time.

    Intermediate arrays of one chunk are small and freed as backprop passes them,
    so memory is reused instead of growing with the graph. Instead of scanning the
    results for inf and nan, the processor's floating-point flags tell whether an
    operation divided by zero, overflowed or left its domain (every ``numpy_math()``
    function raises one when it makes an inf or nan): then this gives None, and the
    caller evaluates fully to say where.
    """
    import numpy as np

    program = Program.of(graph)
    slots = list(program.input_index.values())
    shape = np.broadcast_shapes(*(np.shape(values[i]) for i in slots))
    size = math.prod(shape)
    columns = {i: np.broadcast_to(values[i], shape).reshape(-1) for i in slots}
    output, grads_out = np.empty(size), {i: np.empty(size) for i in slots}
    kinks = dict.fromkeys(program.kinks, 0)
    chunk = list(values)
    flagged: list[str] = []
    with np.errstate(all="call", under="ignore", call=lambda kind, _: flagged.append(kind)):
        for start in range(0, size, _CHUNK):
            for i, column in columns.items():
                chunk[i] = column[start : start + _CHUNK]
            _run_forward(program.instructions, chunk, numpy_math())
            for index, hits in _kink_counts(program, chunk).items():
                kinks[index] += hits
            grads = _seed(len(chunk), graph.output)
            _run_backward(program.instructions, chunk, grads, numpy_math(), graph.output)
            _zero_unused_inputs(program, grads)
            if flagged:
                return None
            output[start : start + _CHUNK] = chunk[graph.output]
            for i in slots:
                grads_out[i][start : start + _CHUNK] = grads[i]
    values[graph.output] = output.reshape(shape)
    gradients: list[Any] = [None] * len(values)
    for i in slots:
        gradients[i] = grads_out[i].reshape(shape)
    found = {index: hits for index, hits in kinks.items() if hits}
    return Result(graph, values, gradients, warnings + _kink_warnings(graph, found, True))


_NUMBERS = {float, int}


def _has_arrays(given: Mapping[str, Any]) -> bool:
    """Whether any value is a list, tuple or array: then every value becomes an array."""
    if set(map(type, given.values())) <= _NUMBERS:
        return False  # the common case, checked in one pass
    numpy = sys.modules.get("numpy")
    kinds = (list, tuple) if numpy is None else (list, tuple, numpy.ndarray)
    return any(isinstance(value, kinds) for value in given.values())


def _scalar_inputs(program: Program, given: Mapping[str, Any]) -> list[float]:
    """The inputs' values as floats, in the program's order of inputs."""
    try:
        return list(map(float, map(given.__getitem__, program.input_index)))
    except (KeyError, TypeError, ValueError):  # find the culprit and say what is wrong
        return [_input_value(name, given, False) for name in program.input_index]


def _all_inputs_finite(inputs: list[Any], vector: bool) -> bool:
    if vector:
        return not any(_maybe_not_finite(value) for value in inputs)
    # A sum is inf or nan if any term is; if it only overflowed, look at each.
    return math.isfinite(sum(inputs)) or all(map(math.isfinite, inputs))


def _input_value(name: str, given: Mapping[str, Any], vector: bool) -> Any:
    if name not in given:
        raise EvaluationError(f"no value given for the variable {name!r}")
    raw = given[name]
    try:
        if not vector:
            return float(raw)
        import numpy as np

        return np.asarray(raw, dtype=np.float64)
    except (TypeError, ValueError):
        raise EvaluationError(f"the value of {name!r} is not a number: {raw!r}") from None


def _refuse_non_finite_inputs(program: Program, values: list[Any]) -> None:
    for name, index in program.input_index.items():
        value = values[index]
        if _all_finite(value):
            continue
        if not _is_array(value):
            raise EvaluationError.naming(
                "the value of {name!r} is not finite: {value} (see {allow_nan})",
                name=name, value=value,
            )
        import numpy as np

        point = int(np.flatnonzero(~np.isfinite(value))[0])
        raise EvaluationError.naming(
            "the value of {name!r} is not finite at point {point}: {value} (see {allow_nan})",
            name=name, point=point, value=value.flat[point],
        )


def _all_finite(value: Any) -> bool:
    if _is_array(value):
        import numpy as np

        return bool(np.isfinite(value).all())
    return math.isfinite(value)


def _maybe_not_finite(value: Any) -> bool:
    """A cheap gate before the search for a culprit: x . x is inf or nan if any x is.

    For arrays, BLAS's dot product is the fastest full pass numpy has (2-3x a sum).
    It may also say True for finite values whose squares overflow (|x| > 1e154); the
    exact check that follows the gate then finds nothing to report.
    """
    if value.__class__ is float:
        return not math.isfinite(value)
    if _is_array(value):
        import numpy as np

        return not math.isfinite(float(np.vdot(value, value)))
    return not math.isfinite(value)


def _run_forward(instructions: list[Instruction], values: list[Any], m: MathBackend) -> None:
    for arity, forward, _, _, out, a, b, args, _ in instructions:
        if arity == 2:
            values[out] = forward(m, values[a], values[b])
        elif arity == 1:
            values[out] = forward(m, values[a])
        else:
            values[out] = forward(m, *[values[arg] for arg in args])


def _forward_scalar(
    graph: Graph, program: Program, values: list[Any], allow_nan: bool, warnings: list[str]
) -> None:
    """The fast path on floats; ``math`` raises at a domain error, and we say where."""
    remaining = program.instructions
    while remaining:
        try:
            _run_forward(remaining, values, ScalarMath)
            return
        except _MATH_ERRORS as error:
            position = _first_unset(remaining, values)
            instruction = Instruction(*remaining[position])
            node = graph.nodes[instruction.out]
            args = [values[arg] for arg in node.args]
            if not _raises(instruction.forward, args):
                raise error  # not a domain error of this operation: a bug, keep its traceback
        problem = _domain_problem(node, args)
        _report([(graph.equation(node), problem)], allow_nan, warnings)
        import numpy as np

        with np.errstate(all="ignore"):
            ieee = instruction.forward(numpy_math(), *map(np.float64, args))
            values[instruction.out] = float(ieee)
        remaining = remaining[position + 1 :]


def _raises(forward: Callable[..., Any], args: list[Any]) -> bool:
    try:
        forward(ScalarMath, *args)
    except _MATH_ERRORS:
        return True
    return False


def _first_unset(instructions: list[Instruction], values: list[Any]) -> int:
    """The instruction that raised: the first whose result was not written."""
    for position, instruction in enumerate(instructions):
        if values[Instruction(*instruction).out] is None:
            return position
    raise AssertionError("an instruction raised but every result is set")


def _domain_problem(node: Node, args: list[Any]) -> str:
    assert node.op is not None
    why = node.op.domain(*args) if node.op.domain else None
    return why or f"the result overflows float64 (arguments {', '.join(f'{a:g}' for a in args)})"


def _forward_problems(graph: Graph, values: list[Any]) -> Iterator[tuple[str, str]]:
    """Nodes whose value is not finite although their arguments are."""
    import numpy as np

    for index, node in enumerate(graph.nodes):
        if node.op is None:
            continue
        bad = ~np.isfinite(values[index])
        for arg in node.args:
            bad &= np.isfinite(values[arg])
        if bad.any():
            yield graph.equation(node), _problem_at_points(node, values, bad)


def _problem_at_points(node: Node, values: list[Any], bad: Any) -> str:
    import numpy as np

    points = np.flatnonzero(bad)
    args = [float(np.broadcast_to(values[arg], bad.shape).flat[points[0]]) for arg in node.args]
    text = _domain_problem(node, args)
    if np.ndim(bad) == 0:
        return text
    return f"{text} at point {points[0]}" + (
        f" (and {len(points) - 1} more points)" if len(points) > 1 else ""
    )


def _report(problems: Iterable[tuple[str, str]], allow_nan: bool, warnings: list[str]) -> None:
    """Raise the first problem, or with ``allow_nan`` record each as a warning."""
    for equation, problem in problems:
        text = f"{equation}: {problem}"
        if not allow_nan:
            raise EvaluationError(text)
        if text not in warnings:
            warnings.append(text)


def _kink_counts(program: Program, values: list[Any]) -> dict[int, int]:
    """How many points hit each operation's kink (a tie of max, relu at 0, ...)."""
    counts = {}
    for index in program.kinks:
        node = program.nodes[index]
        assert node.op is not None and node.op.kink is not None
        at_kink = node.op.kink.at(*(values[arg] for arg in node.args))
        hits = int(at_kink.sum()) if _is_array(at_kink) else int(bool(at_kink))
        if hits:
            counts[index] = hits
    return counts


def _kink_warnings(graph: Graph, counts: dict[int, int], vector: bool) -> list[str]:
    warnings = []
    for index, hits in counts.items():
        node = graph.nodes[index]
        assert node.op is not None and node.op.kink is not None
        where = f" at {hits} points" if vector else ""
        warnings.append(f"{graph.equation(node)}: {node.op.kink.convention}{where}")
    return warnings


def _backward(graph: Graph, values: list[Any], warnings: list[str], allow_nan: bool) -> list[Any]:
    """d output / d node for every node (None for constants), accumulated over consumers."""
    program = Program.of(graph)
    grads = _seed(len(values), graph.output)
    vector = _is_array(values[graph.output])
    if vector:
        _backward_ieee(program, values, grads)
    else:
        try:
            _run_backward_scalar(program.instructions, values, grads)
        except _MATH_ERRORS:  # e.g. sqrt'(0): redo in IEEE arithmetic, then say where
            grads = _seed(len(values), graph.output)
            _backward_ieee(program, _ieee(values), grads)
            grads = [None if g is None else float(g) for g in grads]
    _zero_unused_inputs(program, grads)
    if not _all_inputs_finite([grads[i] for i in program.input_index.values()], vector):
        _report(_backward_problems(graph, values, grads), allow_nan, warnings)
    return grads


def _zero_unused_inputs(program: Program, grads: list[Any]) -> None:
    """An input declared but unused (``f(w, x) = 2*x``) has gradient 0, not None."""
    for index in program.unused_inputs:
        grads[index] = 0.0


def _backward_ieee(program: Program, values: list[Any], grads: list[Any]) -> None:
    """Backpropagation on numpy values: inf and nan instead of exceptions."""
    import numpy as np

    with np.errstate(all="ignore"):
        _run_backward(program.instructions, values, grads, numpy_math())


def _ieee(values: list[Any]) -> list[Any]:
    """Floats as numpy floats, whose arithmetic gives inf and nan instead of raising."""
    import numpy as np

    return [v if v is None or isinstance(v, np.ndarray) else np.float64(v) for v in values]


def _seed(size: int, output: int) -> list[Any]:
    grads: list[Any] = [None] * size
    grads[output] = 1.0
    return grads


def _run_backward(
    instructions: list[Instruction],
    values: list[Any],
    grads: list[Any],
    m: MathBackend,
    drop_before: int = -1,
) -> None:
    """Reverse-mode sweep; frees values and gradients of operations before ``drop_before``."""
    for arity, _, da, db, out, a, b, wide, derivatives in reversed(instructions):
        g = grads[out]
        args: tuple[Any, ...]
        if arity == 2:
            args = (values[out], values[a], values[b])
        elif arity == 1:
            args = (values[out], values[a])
        else:
            _backward_wide(g, m, values, grads, out, wide, derivatives)
            da = db = None
        if da is not None:
            contribution = _times_derivative(g, da, m, args)
            grads[a] = contribution if grads[a] is None else grads[a] + contribution
        if db is not None:
            contribution = _times_derivative(g, db, m, args)
            grads[b] = contribution if grads[b] is None else grads[b] + contribution
        if out < drop_before:  # every consumer of this node has been processed already
            values[out] = grads[out] = None


def _run_backward_scalar(
    instructions: list[Instruction], values: list[float], grads: list[Any]
) -> None:
    """:func:`_run_backward` on floats, the multiplications written inline.

    The same sweep, specialised because it is the engine's hottest loop: a call per
    derivative cost a third of the time. ``g * 1.0`` and ``g * -1.0`` are exact, so
    constant derivatives need no branch of their own.
    """
    m = ScalarMath
    for arity, _, da, db, out, a, b, wide, derivatives in reversed(instructions):
        g = grads[out]
        if arity == 2:
            if da is not None:
                local = da if da.__class__ is float else da(m, values[out], values[a], values[b])
                before = grads[a]
                grads[a] = g * local if before is None else before + g * local
            if db is not None:
                local = db if db.__class__ is float else db(m, values[out], values[a], values[b])
                before = grads[b]
                grads[b] = g * local if before is None else before + g * local
        elif arity == 1:
            if da is not None:
                local = da if da.__class__ is float else da(m, values[out], values[a])
                before = grads[a]
                grads[a] = g * local if before is None else before + g * local
        else:
            _backward_wide(g, m, values, grads, out, wide, derivatives)


def _backward_wide(
    g: Any,
    m: MathBackend,
    values: list[Any],
    grads: list[Any],
    out: int,
    args: tuple[int, ...],
    derivatives: tuple[Derivative, ...],
) -> None:
    """The backward step of an op with more than two arguments (or none)."""
    local_args = (values[out], *[values[arg] for arg in args])
    for arg, derivative in zip(args, derivatives, strict=True):
        if derivative is not None:
            contribution = _times_derivative(g, derivative, m, local_args)
            grads[arg] = contribution if grads[arg] is None else grads[arg] + contribution


def _times_derivative(
    g: Any, derivative: Callable[..., Any] | float, m: MathBackend, args: Any
) -> Any:
    """g * d out / d arg, creating as few whole arrays as it can in vector mode."""
    if derivative.__class__ is float:  # add, sub, neg: pass g through, no multiplication
        return g if derivative == 1.0 else (-g if derivative == -1.0 else g * derivative)
    local = derivative(m, *args)  # type: ignore[operator]
    if g.__class__ is float and g == 1.0:
        return local
    if local.__class__ is not float and _is_array(local) and _is_scratch(local, g, args):
        local *= g  # a temporary of ours: reuse its memory
        return local
    return g * local


def _is_scratch(local: Any, g: Any, args: Any) -> bool:
    """Whether ``local`` is a fresh array we may overwrite (exp' and mul' return an argument)."""
    fits = g.__class__ is float or g.shape == local.shape  # the product needs no broadcasting
    return fits and all(local is not value for value in args)


def _backward_problems(
    graph: Graph, values: list[Any], grads: list[Any]
) -> Iterator[tuple[str, str]]:
    """Operations whose local derivative is not finite where their inputs are."""
    import numpy as np

    for index in range(len(graph.nodes) - 1, -1, -1):
        node = graph.nodes[index]
        if node.op is None or grads[index] is None or not _all_finite(grads[index]):
            continue
        if not _all_finite(values[index]):  # reported by the forward pass already
            continue
        args = _ieee([values[arg] for arg in node.args])
        with np.errstate(all="ignore"):
            local = node.op.partials(numpy_math(), _ieee([values[index]])[0], *args)
        for arg, partial in zip(node.args, local, strict=True):
            if graph.nodes[arg].kind == "constant" or _all_finite(partial):
                continue
            shown = ", ".join(f"{float(np.ravel(v)[0]):g}" for v in args)
            name = graph.nodes[arg].name
            yield graph.equation(node), f"the derivative by {name} is not finite at ({shown})"
            break
