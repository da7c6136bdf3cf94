"""Seeded exercise variants: an expression in the sheet's style and a point to work it at.

Variant ``i`` is drawn from a random stream seeded by ``(seed, i)`` alone, so
``--id i`` gives the same variant as a run of any ``--count`` >= i. A draw is
kept when it meets every constraint, otherwise the stream draws again, a bounded
number of times (then an :class:`ExerciseSearchError` says what was tried):

- the shape: the requested number of operations drawn from ``--ops``, every input
  used, at least ``--shared-inputs`` inputs used by two operations, no operation
  applied to two equal arguments (``a - a``), none undoing the one under it
  (``log(exp(a))``), no subexpression written twice;
- distinct from variants 1 .. i-1 up to renaming inputs and commuting arguments
  (:func:`~chainrule.exercise.expressions.fingerprint`), which is why ``--id i``
  also draws the earlier variants;
- a point of small nonzero integers where :func:`point_problem` finds nothing.

>>> from chainrule.exercise.options import ExerciseOptions
>>> first = generate(ExerciseOptions(count=2, seed=7))
>>> again = generate(ExerciseOptions(count=1, seed=7, only=2))[0]
>>> [v.id for v in first], (first[1].expression, first[1].at) == (again.expression, again.at)
([1, 2], True)
>>> point_problem(parse_at("sigmoid(a)", a=9))
'a: gradient 0.000123379 is below 0.001'
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING

from chainrule.core.backends import ScalarMath
from chainrule.core.evaluate import Result, point_partials
from chainrule.core.graph import Graph, GraphBuilder, Node
from chainrule.core.ops import OPS, Op
from chainrule.core.parser import parse
from chainrule.errors import ChainruleError, EvaluationError
from chainrule.exercise.expressions import fingerprint, latex, node_shapes, plain
from chainrule.exercise.options import CONSTANT_ARGUMENTS, INPUT_NAMES, ExerciseOptions, binary
from chainrule.show.notation import short

if TYPE_CHECKING:
    import sympy

VALUES = tuple(v for v in range(-9, 10) if v != 0)
"""What an input may be: a small nonzero integer, as the sheet's a = 2, b = −7, c = 4, d = 1."""

LARGEST = 1000.0
"""No value, gradient or local derivative may exceed this in size ..."""

SMALLEST = 1e-3
"""... or be smaller than this, unless it is exactly 0: a student works it by hand."""

KINK_MARGIN = 0.25
"""Arguments of relu, abs, max, min stay this far from a kink (0, a tie)."""

OUTPUT = "f"
"""What the questions call the expression (``f(a, b, c) = ...``), and so its last step."""

SHAPE_TRIES = 400
"""Expressions drawn for one variant before giving up."""

POINT_TRIES = 200
"""Points tried for one expression before drawing another."""


class ExerciseSearchError(ChainruleError):
    """No variant met the constraints within the bounded number of tries."""


@dataclass(frozen=True)
class Variant:
    """One exercise: the expression, its graph, the point and the engine's result there."""

    id: int
    seed: int
    expression: str  # ``f(a, b) = ...`` in plain syntax, which chainrule.parse reads back
    latex: str
    at: dict[str, int]
    graph: Graph
    result: Result
    fingerprint: str = field(repr=False)

    @property
    def output(self) -> str:
        """The name of the output node, the last step: :data:`OUTPUT`."""
        return self.graph.nodes[self.graph.output].name

    @cached_property
    def local_formulas(self) -> dict[tuple[int, int], sympy.Expr]:
        """d node / d argument as formulas (sympy), computed once for all the documents."""
        from chainrule.show.explain import local_formulas

        return local_formulas(self.graph)


def parse_at(text: str, **at: float) -> Result:
    """``text`` evaluated at ``at`` (a shorthand for examples and tests)."""
    return parse(text).evaluate({name: float(value) for name, value in at.items()})


# ---------------------------------------------------------------- shapes


@dataclass
class _Term:
    """A node of an expression tree while it is drawn: a slot, an operation or a leaf."""

    op: Op | None = None
    args: list[int] = field(default_factory=list)  # term indices
    placeholder: int | None = None  # which input, before the inputs are named
    constant: float | None = None


def _draw_ops(rng: random.Random, options: ExerciseOptions, operations: int,
              places: int) -> list[Op]:
    """``operations`` ops from --ops, enough of them two-argument to give ``places`` places."""
    chosen = [OPS[name] for name in options.ops]
    two = [op for op in chosen if binary(op)]
    one = [op for op in chosen if not binary(op)]
    fewest = operations if not one else max(places - 1, 0)
    most = operations if two else 0
    count = rng.randint(fewest, most)
    ops = [rng.choice(two) for _ in range(count)]
    ops += [rng.choice(one) for _ in range(operations - count)]
    rng.shuffle(ops)
    return ops


def _draw_tree(rng: random.Random, ops: list[Op]) -> tuple[list[_Term], list[int]]:
    """A random tree of ``ops`` (the first is the root); returns its terms and open leaves."""
    terms = [_Term()]
    open_slots = [0]
    for op in ops:
        slot = open_slots.pop(rng.randrange(len(open_slots)))
        terms[slot].op = op
        constants = CONSTANT_ARGUMENTS.get(op.name, ())
        for position in range(op.arity):
            terms[slot].args.append(len(terms))
            if constants and position == 1:
                terms.append(_Term(constant=float(rng.choice(constants))))
            else:
                open_slots.append(len(terms))
                terms.append(_Term())
    return terms, open_slots


def _fill_leaves(rng: random.Random, terms: list[_Term], leaves: list[int], inputs: int,
                 shared: int) -> None:
    """Each input once, ``shared`` of them a second time, the other places at random."""
    placeholders = list(range(inputs)) + rng.sample(range(inputs), shared)
    placeholders += [rng.randrange(inputs) for _ in range(len(leaves) - len(placeholders))]
    rng.shuffle(placeholders)
    for leaf, placeholder in zip(leaves, placeholders, strict=True):
        terms[leaf].placeholder = placeholder


def _post_order(terms: list[_Term]) -> Iterator[int]:
    """Term indices, arguments before their users, left to right (as the parser reads)."""
    stack = [(0, False)]
    while stack:
        index, expanded = stack.pop()
        if expanded or terms[index].op is None:
            yield index
            continue
        stack.append((index, True))
        stack += [(arg, False) for arg in reversed(terms[index].args)]


def _build(terms: list[_Term]) -> Graph:
    """The graph of the tree; inputs named a, b, c, ... in order of first appearance, the
    output :data:`OUTPUT`, its source the equation ``f(a, b, c) = ...``."""
    builder = GraphBuilder()
    handles: dict[int, int] = {}
    names: dict[int, str] = {}
    for index in _post_order(terms):
        term = terms[index]
        if term.op is not None:
            handles[index] = builder.apply(term.op, *(handles[arg] for arg in term.args))
        elif term.constant is not None:
            handles[index] = builder.constant(term.constant)
        else:
            assert term.placeholder is not None
            name = names.setdefault(term.placeholder, INPUT_NAMES[len(names)])
            handles[index] = builder.input(name)
    graph = builder.build(handles[0], output_name=OUTPUT)
    # Its source text, as if parsed: titles and worked solutions then show the equation.
    return Graph(graph.nodes, graph.output, equation(graph))


def equation(graph: Graph) -> str:
    """``f(a, b) = a * b + a``: the function head, then the expression in plain syntax."""
    return f"{OUTPUT}({', '.join(graph.inputs)}) = {plain(graph)}"


_PROBES = (0.7, 1.9, 2.6)


def _one_variable(graph: Graph, node: Node) -> int | None:
    """The single non-constant argument of ``node``, or None if it has another number."""
    variables = [arg for arg in node.args if graph.nodes[arg].kind != "constant"]
    return variables[0] if len(variables) == 1 else None


def _apply_at(graph: Graph, node: Node, variable: int, value: float) -> float:
    assert node.op is not None
    args = [value if arg == variable else float(graph.nodes[arg].constant or 0.0)
            for arg in node.args]
    return float(node.op.forward(ScalarMath, *args))


def undoes(graph: Graph, outer: Node) -> bool:
    """Whether ``outer`` undoes the operation under it, leaving x or |x|: log(exp(x)),
    sqrt(x^2), -(-x). Read from the operations at a few points, not from a list.

    >>> g = parse("sqrt(x^2) + log(exp(y)) + sqrt(y)^3")
    >>> [undoes(g, node) for node in g.equations]
    [False, True, False, True, False, False, False, False]
    """
    inner_index = _one_variable(graph, outer)
    if inner_index is None or graph.nodes[inner_index].op is None:
        return False
    inner = graph.nodes[inner_index]
    variable = _one_variable(graph, inner)
    if variable is None:
        return False
    for probe in _PROBES:
        try:
            got = _apply_at(graph, outer, inner_index, _apply_at(graph, inner, variable, probe))
        except (ValueError, ZeroDivisionError, OverflowError):
            return False
        if not math.isclose(abs(got), probe, rel_tol=1e-12):
            return False
    return True


def shape_problem(graph: Graph, shared: int) -> str | None:
    """Why the graph is not a good exercise shape, or None."""
    shapes = node_shapes(graph)
    seen: set[str] = set()
    for index, node in enumerate(graph.nodes):
        if node.op is None:
            continue
        args = [shapes[arg] for arg in node.args]
        if len(set(args)) < len(args):
            return f"{graph.equation(node)} has two equal arguments"
        if undoes(graph, node):
            return f"{graph.equation(node)} undoes the operation under it"
        if shapes[index] in seen:  # would a student reuse its variable or write it again?
            return f"{graph.equation(node)} repeats a subexpression"
        seen.add(shapes[index])
    users = graph.consumers
    sharing = sum(len(users[i]) >= 2 for i, n in enumerate(graph.nodes) if n.kind == "input")
    if sharing < shared:
        return f"{sharing} inputs are used by two operations, {shared} must be"
    return None


# ---------------------------------------------------------------- points


def _size_problem(what: str, value: float) -> str | None:
    if not math.isfinite(value):
        return f"{what} {value} is not finite"
    if abs(value) > LARGEST:
        return f"{what} {short(value)} is above {short(LARGEST)}"
    if value != 0 and abs(value) < SMALLEST:
        return f"{what} {short(value)} is below {short(SMALLEST)}"
    return None


def near_kink(op: Op, args: list[float]) -> bool:
    """Whether a local derivative changes within :data:`KINK_MARGIN` of ``args``.

    >>> near_kink(OPS["max"], [3.0, 2.9]), near_kink(OPS["max"], [3.0, 2.0])
    (True, False)
    """
    def partials(at: list[float]) -> tuple[float, ...]:
        return tuple(op.partials(ScalarMath, op.forward(ScalarMath, *at), *at))

    if op.kink is None:
        return False
    if op.kink.at(*args):
        return True
    here = partials(args)
    for position in range(op.arity):
        for step in (-KINK_MARGIN, KINK_MARGIN):
            moved = list(args)
            moved[position] += step
            if partials(moved) != here:
                return True
    return False


def _node_problem(result: Result, index: int, grads: list[float]) -> str | None:
    graph = result.graph
    node = graph.nodes[index]
    problem = _size_problem("value", float(result.values[index])) or _size_problem(
        "gradient", float(grads[index])
    )
    if problem or node.op is None:
        return problem
    args = [float(result.values[arg]) for arg in node.args]
    partials = point_partials(result, index, "an exercise")
    for arg, partial in zip(node.args, partials, strict=True):
        if graph.nodes[arg].kind != "constant":
            problem = problem or _size_problem(f"∂/∂{graph.nodes[arg].name}", partial)
    if problem is None and near_kink(node.op, args):
        problem = f"arguments {', '.join(f'{a:g}' for a in args)} are near {node.op.name}'s kink"
    return problem


def point_problem(result: Result) -> str | None:
    """Why the evaluated point is not one to work by hand, or None when it is.

    Every value, gradient and local derivative finite, at most 1000 in size and at
    least 0.001 unless exactly 0; no kinked operation within 0.25 of its kink; and so
    that every part of the backward pass matters, no intermediate value exactly 0
    (``a - b`` at a = b) and no input with gradient 0 (all of it on max's losing side).
    """
    grads = result.node_grads()
    for index, node in enumerate(result.graph.nodes):
        if node.kind == "constant":
            continue
        problem = _node_problem(result, index, grads)
        if node.op is not None and result.values[index] == 0:
            problem = problem or "value 0 (a cancellation that makes the rest trivial)"
        if node.kind == "input" and grads[index] == 0:
            problem = problem or "gradient 0 (the input would not matter here)"
        if problem is not None:
            where = result.graph.equation(node) if node.op is not None else node.name
            return f"{where}: {problem}"
    return None


def find_point(graph: Graph, rng: random.Random) -> tuple[dict[str, int], Result] | None:
    """A point of small integers that passes :func:`point_problem`, or None."""
    for _ in range(POINT_TRIES):
        at = {name: rng.choice(VALUES) for name in graph.inputs}
        try:
            result = graph.evaluate({name: float(v) for name, v in at.items()})
        except EvaluationError:
            continue
        if point_problem(result) is None:
            return at, result
    return None


# ---------------------------------------------------------------- variants


@dataclass
class _Tally:
    """What was rejected while searching, for the error message."""

    shapes: int = 0
    repeats: int = 0
    pointless: int = 0

    def describe(self) -> str:
        return (
            f"{self.shapes} had two equal arguments or too few shared inputs, "
            f"{self.repeats} repeated an earlier variant, {self.pointless} had no point "
            f"within {POINT_TRIES} tries"
        )


def draw_variant(options: ExerciseOptions, variant_id: int, taken: set[str]) -> Variant:
    """Variant ``variant_id``, distinct from the fingerprints in ``taken``."""
    rng = random.Random(f"chainrule exercise {options.seed} {variant_id}")
    sizes = options.sizes()
    tally = _Tally()
    pointless: set[str] = set()  # shapes already searched in vain: not searched again
    for _ in range(SHAPE_TRIES):
        operations, inputs = rng.choice(sizes)
        ops = _draw_ops(rng, options, operations, inputs + options.shared_inputs)
        terms, leaves = _draw_tree(rng, ops)
        _fill_leaves(rng, terms, leaves, inputs, options.shared_inputs)
        graph = _build(terms)
        if shape_problem(graph, options.shared_inputs) is not None:
            tally.shapes += 1
            continue
        mark = fingerprint(graph)
        if mark in taken:
            tally.repeats += 1
            continue
        found = None if plain(graph) in pointless else find_point(graph, rng)
        if found is None:
            tally.pointless += 1
            pointless.add(plain(graph))
            continue
        at, result = found
        return Variant(variant_id, options.seed, equation(graph), latex(graph), at, graph, result,
                       mark)
    raise ExerciseSearchError(
        f"variant {variant_id}: none of {SHAPE_TRIES} expressions met the constraints "
        f"({tally.describe()}); allow more --ops, --operations or --inputs, or fewer "
        "--shared-inputs"
    )


def generate(options: ExerciseOptions) -> list[Variant]:
    """Variants 1 .. --count, or just --id (the earlier ones are drawn, not returned)."""
    last = options.only if options.only is not None else options.count
    taken: set[str] = set()
    variants = []
    for variant_id in range(1, last + 1):
        variant = draw_variant(options, variant_id, taken)
        taken.add(variant.fingerprint)
        if options.only is None or variant_id == options.only:
            variants.append(variant)
    return variants
