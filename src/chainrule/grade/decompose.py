r"""The learner's intermediate variables as a graph, and whether they compute the expression.

Each definition must be one operation of the registry over inputs, constants
and earlier names. The definitions are then compared with the expression, not
letter by letter but as functions: every variable is evaluated at random points
near the exercise's point, so a learner who wrote ``c·v1`` for ``v1·c``, or
grouped ``a + b + c³`` as ``a + (b + c³)``, is right.

>>> from chainrule.grade.statements import read
>>> from chainrule import parse
>>> lines = read("p = b*c\nq = a - p\nA = q*d")
>>> d = decompose(parse("(a - b*c)*d"), lines, {"a": 2, "b": -7, "c": 4, "d": 1})
>>> print(d.graph); d.output_name, d.problems
p = b * c
q = a - p
A = q * d
('A', {})
"""

from __future__ import annotations

import heapq
import math
import random
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from chainrule.core.graph import Graph, Node
from chainrule.core.ops import CALL, OPS, SUM
from chainrule.grade.statements import Skipped, Statement, Unreadable
from chainrule.show.notation import plain

SAMPLE_POINTS = 24
"""Random points at which the learner's variables are compared with the expression."""

_COUNT_WORDS = {2: "two", 3: "three", 4: "four", 5: "five", 6: "six"}
_SHOWN_LENGTH = 160  # characters of an inlined expression in a message


@dataclass
class Decomposition:
    """The learner's graph: the expression's inputs, then one node per learner operation."""

    graph: Graph
    names: dict[str, int]  # every name the learner may use -> node index
    line_of: dict[int, int]  # node index -> line of its definition
    node_of_line: dict[int, int]  # definition line -> the node it defines (or restates)
    output_name: str  # the output as the learner calls it (a variable, or an alias such as A)
    defined: bool  # False when the file defines no variables (the expression's own are used)
    problems: dict[int, str] = field(default_factory=dict)  # line -> why the definition fails

    @property
    def named_operations(self) -> list[int]:
        """The learner's own variables the output depends on, in the order defined."""
        used = self.used
        return [i for i in self.line_of if self.graph.nodes[i].op is not None and used[i]]

    @property
    def used(self) -> list[bool]:
        """For each node, whether the output depends on it."""
        graph = self.graph
        needed = [False] * len(graph.nodes)
        needed[graph.output] = True
        for index in range(graph.output, -1, -1):  # arguments come before their users
            if needed[index]:
                for arg in graph.nodes[index].args:
                    needed[arg] = True
        return needed


class _Builder:
    """Copies each definition's operation into one list of nodes, in the learner's names."""

    def __init__(self, expression: Graph) -> None:
        self.nodes: list[Node] = [Node(name) for name in expression.inputs]
        self.names: dict[str, int] = {name: i for i, name in enumerate(expression.inputs)}
        self.constants: dict[str, int] = {}
        self.line_of: dict[int, int] = {}
        self.node_of_line: dict[int, int] = {}
        self.definition_of: dict[str, Statement] = {}
        self.problems: dict[int, str] = {}
        self.refused: list[int] = []  # lines of definitions that could not be built

    def constant(self, node: Node) -> int:
        if node.name not in self.constants:
            self.constants[node.name] = len(self.nodes)
            self.nodes.append(node)
        return self.constants[node.name]

    def define(self, statement: Statement, lines: Mapping[str, int]) -> None:
        """Add one definition; ``lines``: the line where each of the file's names is defined."""
        name, part = statement.name, statement.parts[0]
        graph = part.graph
        assert graph is not None  # the reader refuses definitions that do not parse
        if name in self.definition_of:
            self._redefined(statement)
            return
        why = self._refusal(statement, graph, lines)
        if why is not None:
            self.problems[statement.line] = why
            self.refused.append(statement.line)
            return
        self.definition_of[name] = statement
        late = [n for n in graph.inputs if lines.get(n, 0) > statement.line]
        if late:  # built all the same (in dependency order), so later lines can be judged
            self.problems[statement.line] = f"`{late[0]}` is used before it is defined"
        if not graph.equations:  # p = b: an alias, so the learner's later lines still count
            self.names[name] = self.names[graph.nodes[graph.output].name]
            self.problems[statement.line] = f"`{statement.text.strip()}` has no operation"
            return
        self.names[name] = self._copy(graph, name)
        self.line_of[self.names[name]] = statement.line
        self.node_of_line[statement.line] = self.names[name]
        if len(graph.equations) > 1:
            count = _COUNT_WORDS.get(len(graph.equations), str(len(graph.equations)))
            self.problems.setdefault(statement.line, f"{count} operations: split `{part.text}`")

    def _redefined(self, statement: Statement) -> None:
        first = self.definition_of[statement.name]
        if first.parts[0].text.replace(" ", "") == statement.parts[0].text.replace(" ", ""):
            if first.line in self.node_of_line:  # the same definition again: a restatement
                self.node_of_line[statement.line] = self.node_of_line[first.line]
        else:
            self.problems[statement.line] = (
                f"`{statement.name}` is already defined on line {first.line} "
                f"({first.name} = {first.parts[0].text})"
            )

    def _refusal(
        self, statement: Statement, graph: Graph, lines: Mapping[str, int]
    ) -> str | None:
        name = statement.name
        if name in self.names and name not in self.definition_of:
            return f"`{name}` is an input of the expression: give your variable another name"
        if statement.parts[0].derivatives:
            return "a definition cannot contain a derivative"
        for used in graph.inputs:
            if used in self.names:
                continue
            if used in lines:  # defined, but only by this line or in a circle
                return f"`{used}` is used before it is defined"
            return f"`{used}` is neither an input of the expression nor one of your variables"
        return None

    def _copy(self, graph: Graph, name: str) -> int:
        """Append the part's operations; the last one carries the learner's name."""
        index_of: dict[int, int] = {}
        for position, node in enumerate(graph.nodes):
            if node.op is None:
                index_of[position] = (
                    self.names[node.name] if node.constant is None else self.constant(node)
                )
                continue
            label = name if position == graph.output else f"{name}'{len(index_of)}"
            index_of[position] = len(self.nodes)
            self.nodes.append(Node(label, node.op, tuple(index_of[a] for a in node.args)))
        return index_of[graph.output]


def _in_dependency_order(definitions: list[Statement], inputs: list[str]) -> list[Statement]:
    """The definitions, each after those of the names it uses (file order where it can).

    Kahn's topological sort with the ready definitions in a heap by position: linear
    in the file for definitions in order, n log n in any order; what is left in a
    circle comes last, for the builder to refuse.
    """
    first: dict[str, int] = {}  # the learner's name -> position of its first definition
    for position, statement in enumerate(definitions):
        if statement.name not in inputs:
            first.setdefault(statement.name, position)
    waiting_on: list[int] = [0] * len(definitions)
    users: dict[int, list[int]] = {}
    for position, statement in enumerate(definitions):
        for name in dict.fromkeys(statement.parts[0].names):
            if name in first and first[name] != position:
                waiting_on[position] += 1
                users.setdefault(first[name], []).append(position)
    ready = [position for position, count in enumerate(waiting_on) if count == 0]
    heapq.heapify(ready)
    order: list[int] = []
    while ready:
        position = heapq.heappop(ready)
        order.append(position)
        for user in users.get(position, []):
            waiting_on[user] -= 1
            if waiting_on[user] == 0:
                heapq.heappush(ready, user)
    placed = set(order)
    order += [position for position in range(len(definitions)) if position not in placed]
    return [definitions[position] for position in order]


def _output(
    builder: _Builder, derivatives: Sequence[Statement], computes_the_expression: list[int]
) -> tuple[int | None, str]:
    """The output node and the learner's name for it.

    The gradients decide, where they name a defined variable differentiated by
    something that is not its own argument, or a name never defined (``∂A/∂p``
    beside ``v1, v2, v3``: ``A`` is the learner's name for the output). Otherwise it
    is the last defined variable that computes the expression, or else the last one.
    """
    defined = sorted(
        (i for i in builder.line_of if builder.nodes[i].op is not None),
        key=lambda i: builder.line_of[i],
    )
    last = computes_the_expression[-1] if computes_the_expression else (
        defined[-1] if defined else None
    )
    votes: Counter[str] = Counter()
    for statement in derivatives:
        index = builder.names.get(statement.name)
        if index is None or builder.names.get(statement.by or "") not in builder.nodes[index].args:
            votes[statement.name] += 1
    if computes_the_expression:  # ∂q/∂b beside a variable that computes it is a slip
        matching = set(computes_the_expression)
        named = [n for n, _ in votes.most_common() if builder.names.get(n) in matching]
        if named:
            return builder.names[named[0]], named[0]
        votes = Counter({n: k for n, k in votes.items() if n not in builder.names})
    for name, _ in votes.most_common():
        index = builder.names.get(name)
        if index is None:  # a name never defined: the learner's name for the output
            return last, name
        if builder.nodes[index].op is not None:
            return index, name
    return last, builder.nodes[last].name if last is not None else "f"


def decompose(
    expression: Graph,
    statements: Sequence[Statement | Unreadable | Skipped],
    at: Mapping[str, float],
) -> Decomposition:
    """Build the learner's graph from their definitions and check it against ``expression``."""
    readable = [s for s in statements if isinstance(s, Statement)]
    definitions = [s for s in readable if s.kind == "definition"]
    builder = _Builder(expression)
    lines: dict[str, int] = {}  # where each of the learner's own names is first defined
    for statement in definitions:
        if statement.name not in expression.inputs:
            lines.setdefault(statement.name, statement.line)
    for statement in _in_dependency_order(definitions, expression.inputs):
        builder.define(statement, lines)
    derivatives = [s for s in readable if s.kind == "derivative"]
    points = _sample_points(at, expression.inputs)
    truth = _node_values(expression, points)
    theirs = _node_values(Graph(builder.nodes, 0), points) if builder.line_of else []
    ids = list(builder.line_of)
    equal = _equal_to_any(theirs, ids, [truth[expression.output]])
    matching = sorted((i for i, same in zip(ids, equal, strict=True) if same),
                      key=lambda i: builder.line_of[i])  # fmt: skip
    output, output_name = _output(builder, derivatives, matching)
    if output is None:
        return _expression_itself(expression, builder, output_name)
    graph = Graph(builder.nodes, output)
    decomposition = Decomposition(
        graph, builder.names, builder.line_of, builder.node_of_line, output_name, True,
        builder.problems,
    )
    _check_unused(decomposition)
    # A refused definition after the output may well have been the learner's output.
    if output not in matching and not any(r > builder.line_of[output] for r in builder.refused):
        _blame(expression, decomposition, at, theirs, truth)
    return decomposition


def _expression_itself(expression: Graph, builder: _Builder, output_name: str) -> Decomposition:
    """No definitions: grade the gradients the file states against the expression's graph."""
    names = {node.name: i for i, node in enumerate(expression.nodes) if node.kind == "input"}
    return Decomposition(expression, names, {}, {}, output_name, False, builder.problems)


def _check_unused(decomposition: Decomposition) -> None:
    used = decomposition.used
    for index, line in decomposition.line_of.items():
        if not used[index]:
            name = decomposition.graph.nodes[index].name
            decomposition.problems.setdefault(
                line, f"`{name}` is never used: the output {decomposition.output_name} "
                "does not depend on it",
            )


# ---------------------------------------------------------------- as functions


def _sample_points(at: Mapping[str, float], names: Sequence[str]) -> dict[str, np.ndarray]:
    """Points near the exercise's point (so logs and roots stay in their domain), and it."""
    generator = random.Random(20221114)  # the sheet's deadline: the same points every run
    points = {}
    for name in names:
        centre = float(at.get(name, 1.0))
        spread = 0.05 * (abs(centre) + 1.0)
        nearby = [centre + generator.gauss(0.0, spread) for _ in range(SAMPLE_POINTS - 1)]
        points[name] = np.array([centre, *nearby])
    return points


def _node_values(graph: Graph, points: Mapping[str, np.ndarray]) -> list[np.ndarray]:
    with np.errstate(all="ignore"):
        result = graph.evaluate(dict(points), allow_nan=True, gradients=False)
    size = len(next(iter(points.values()))) if points else 1
    return [np.broadcast_to(np.asarray(v, dtype=float), (size,)) for v in result.values]


def _equal_to_any(
    values: list[np.ndarray], ids: list[int], targets: list[np.ndarray]
) -> list[bool]:
    """For each node of ``ids``: equal as a function to one of ``targets``, at the points
    where both are defined (at least 3 of them). One array operation for all nodes."""
    if not ids or not targets:
        return [False] * len(ids)
    theirs = np.stack(targets)[None, :, :]  # 1 x target x point
    chunk = max(1, 1_000_000 // theirs.size)  # nodes at a time: a few MB of temporaries
    found: list[bool] = []
    for start in range(0, len(ids), chunk):
        mine = np.stack([values[i] for i in ids[start : start + chunk]])[:, None, :]
        with np.errstate(all="ignore"):
            defined = np.isfinite(mine) & np.isfinite(theirs)
            close = np.abs(mine - theirs) <= 1e-12 + 1e-9 * np.abs(theirs)
        same = np.all(close | ~defined, axis=2) & (defined.sum(axis=2) >= 3)
        found += [bool(row) for row in same.any(axis=1)]
    return found


def _blame(
    expression: Graph,
    decomposition: Decomposition,
    at: Mapping[str, float],
    theirs: list[np.ndarray],
    truth: list[np.ndarray],
) -> None:
    """The learner's output is not the expression: say so on the first line that strays."""
    graph = decomposition.graph
    steps = [truth[i] for i, node in enumerate(expression.nodes) if node.kind != "constant"]
    named = decomposition.named_operations
    part_of_it = _equal_to_any(theirs, named, steps)
    culprit = next((i for i, fits in zip(named, part_of_it, strict=True) if not fits),
                   graph.output)  # fmt: skip
    line = decomposition.line_of[culprit]
    why = (
        f"your variables compute {inline(graph)}, not the expression {inline(expression)}"
        f"{_where_they_differ(expression, graph, at)}"
    )
    if culprit != graph.output:
        node = graph.nodes[culprit]
        why = f"`{graph.equation(node)}` is no step of the expression: {why}"
    earlier = decomposition.problems.get(line)
    decomposition.problems[line] = f"{earlier}; and {why}" if earlier else why


def _where_they_differ(expression: Graph, graph: Graph, at: Mapping[str, float]) -> str:
    """``: they differ at a=1, b=2, ...``, at small whole numbers where both are defined."""
    names = expression.inputs
    rng = random.Random(7)
    candidates = [dict.fromkeys(names, 1.0)]
    candidates += [{n: float(rng.choice([1, 2, 3, -1, -2, 4])) for n in names} for _ in range(40)]
    candidates.append({n: float(at.get(n, 1.0)) for n in names})
    for point in candidates:
        with np.errstate(all="ignore"):
            mine = graph.evaluate(point, allow_nan=True, gradients=False).value
            true = expression.evaluate(point, allow_nan=True, gradients=False).value
        if math.isfinite(mine) and math.isfinite(true) and not math.isclose(mine, true):
            shown = ", ".join(f"{n}={plain(v)}" for n, v in point.items())
            return f": they differ at {shown}"
    return ""


def inline(graph: Graph) -> str:
    """The expression a graph computes, written out with as few parentheses as needed.

    >>> from chainrule import parse
    >>> inline(parse("(a - b*c)*d")), inline(parse("a - (b - c)")), inline(parse("sqrt(x)^2"))
    ('(a - b*c)*d', 'a - (b - c)', 'sqrt(x)^2')
    """
    texts: list[str] = []
    levels: list[int] = []  # binding power of each node's text (CALL: atomic)
    for node in graph.nodes:
        if node.op is None:
            texts.append(node.name if node.constant is None or node.constant >= 0
                         else f"({node.name})")  # fmt: skip
            levels.append(CALL)
            continue
        args = [(texts[a], levels[a]) for a in node.args]
        text, level = _applied(node.op.name, args)
        texts.append(text if len(text) <= _SHOWN_LENGTH else text[: _SHOWN_LENGTH - 1] + "…")
        levels.append(level)
    return texts[graph.output]


def _applied(op_name: str, args: list[tuple[str, int]]) -> tuple[str, int]:
    op = OPS[op_name]
    level = op.precedence
    if op.form == "call":
        return op.format([text for text, _ in args]), CALL
    if op.form == "prefix":
        text, inner = args[0]
        return op.symbol + (text if inner > level else f"({text})"), level
    (left, left_level), (right, right_level) = args
    # a - (b - c), a / (b*c), (a^b)^c: the right side of - and / and the left of ^ bind tighter
    left_needs = left_level < level or (op.grouping == "right" and left_level <= level)
    right_needs = right_level < level or (op.grouping == "left" and right_level <= level)
    left = f"({left})" if left_needs else left
    right = f"({right})" if right_needs else right
    spaced = f" {op.symbol} " if level == SUM else op.symbol
    return f"{left}{spaced}{right}", level
