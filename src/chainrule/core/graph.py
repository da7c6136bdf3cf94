"""Computational graphs: an ordered list of single-operation equations.

A :class:`Graph` holds its nodes in topological order: inputs and constants,
then one node per operation (``v3 = mul(v2, d)``). Nodes are built with a
:class:`GraphBuilder`, by the parser or by hand:

>>> b = GraphBuilder()
>>> x, w = b.input("x"), b.input("w")
>>> g = b.build(b.apply("sigmoid", b.apply("mul", w, x)))
>>> print(g)
v1 = w * x
v2 = sigmoid(v1)
>>> g.evaluate(x=0.0, w=3.0).gradients
{'x': 0.75, 'w': 0.0}
"""

from __future__ import annotations

import functools
import itertools
import re
import string
from collections.abc import Collection, Container, Mapping, Sequence
from functools import cached_property
from typing import TYPE_CHECKING, Any, Literal, NamedTuple

from chainrule.core import hooks
from chainrule.core.ops import OPS, Op
from chainrule.errors import ChainruleError

if TYPE_CHECKING:
    from chainrule.core.evaluate import Result

NodeKind = Literal["input", "constant", "op"]
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


class Node(NamedTuple):
    """One vertex of the graph: an input, a constant, or one operation."""

    name: str  # "a", "4", "pi", "v3"
    op: Op | None = None  # None for inputs and constants
    args: tuple[int, ...] = ()  # indices of the argument nodes in Graph.nodes
    constant: float | None = None  # the value of a constant node

    @property
    def kind(self) -> NodeKind:
        if self.op is not None:
            return "op"
        return "input" if self.constant is None else "constant"


class Graph:
    """A computational graph; immutable once built (shown as a picture in Jupyter)."""

    def __init__(
        self,
        nodes: Sequence[Node],
        output: int,
        source: str | None = None,
        notes: Sequence[str] = (),
    ) -> None:
        self.nodes: tuple[Node, ...] = tuple(nodes)
        self.output = output  # index of the output node
        self.source = source  # the text it was parsed from, if any
        self.notes = tuple(notes)  # what the parser noticed, e.g. an input listed but unused

    @cached_property
    def inputs(self) -> list[str]:
        """Names of the input variables, in order of first appearance."""
        return [node.name for node in self.nodes if node.kind == "input"]

    @cached_property
    def equations(self) -> list[Node]:
        """The operation nodes, in forward order."""
        return [node for node in self.nodes if node.op is not None]

    @cached_property
    def consumers(self) -> list[list[int]]:
        """For each node, the indices of the operation nodes that use it."""
        users: list[list[int]] = [[] for _ in self.nodes]
        for index, node in enumerate(self.nodes):
            for arg in dict.fromkeys(node.args):  # x*x uses x once as a node
                users[arg].append(index)
        return users

    @cached_property
    def _positions(self) -> dict[str, int]:
        # Reversed, so that a name given twice (two constants "2") maps to its first node.
        return {node.name: i for i, node in reversed(list(enumerate(self.nodes)))}

    def index(self, name: str) -> int:
        """The position of the node called ``name``."""
        if name not in self._positions:
            raise ChainruleError(f"the graph has no node called {name!r}")
        return self._positions[name]

    def equation(self, node: Node) -> str:
        """``v2 = a - v1``: the node's defining equation."""
        if node.op is None:
            return node.name
        return f"{node.name} = {self.expr(node)}"

    def expr(self, node: Node) -> str:
        """The right-hand side of the node's equation, e.g. ``a - v1``."""
        if node.op is None:
            return node.name
        return node.op.format([self.nodes[arg].name for arg in node.args])

    def __str__(self) -> str:
        if not self.equations:
            return f"(no operations: the output is {self.nodes[self.output].name})"
        return "\n".join(self.equation(node) for node in self.equations)

    @property
    def title(self) -> str:
        """The expression as the user typed it, or else the equations on one line."""
        return self.source if self.source is not None else str(self).replace("\n", "; ")

    def __repr__(self) -> str:
        return f"<Graph {self.title!r}: {len(self.equations)} operations>"

    def __len__(self) -> int:
        return len(self.nodes)

    def _repr_mimebundle_(
        self, include: Container[str] | None = None, exclude: Container[str] | None = None
    ) -> dict[str, str]:
        """Jupyter's rich display: the picture, drawn by the view plugged into the core."""
        return hooks.mimebundle_of(self, include, exclude)

    def renamed(self, names: str | Sequence[str]) -> Graph:
        """The same graph with its operation nodes named by another scheme."""
        labels = operation_names(self.nodes, names)
        it = iter(labels)
        nodes = [
            Node(next(it), node.op, node.args) if node.op is not None else node
            for node in self.nodes
        ]
        return Graph(nodes, self.output, self.source, self.notes)

    def evaluate(
        self,
        values: Mapping[str, Any] | None = None,
        /,
        *,
        allow_nan: bool = False,
        gradients: bool = True,
        keep_intermediates: bool = True,
        **named_values: Any,
    ) -> Result:
        """Forward pass, then backpropagation to every node.

        Values are floats, or numpy arrays to evaluate at many points at once.
        With arrays, ``keep_intermediates=False`` keeps only the output's value and
        the inputs' gradients, which saves memory and time on large sweeps.

        >>> from chainrule import parse
        >>> r = parse("(a - b*c)*d").evaluate(a=2, b=-7, c=4, d=1)
        >>> r.value, r.gradients
        (30.0, {'a': 1.0, 'b': -4.0, 'c': 7.0, 'd': 30.0})
        """
        from chainrule.core.evaluate import evaluate

        # No copy when the values come one way only: a 100,000-input graph pays for each.
        given = (values or named_values) if not (values and named_values) \
            else {**values, **named_values}
        return evaluate(
            self,
            given,
            allow_nan=allow_nan,
            gradients=gradients,
            keep_intermediates=keep_intermediates,
        )


class GraphBuilder:
    """Builds a graph node by node; every handle is an ``int`` node index.

    Inputs and constants with the same name are one node, so ``x*x*x`` has a
    single ``x`` with two consumers.
    """

    def __init__(self) -> None:
        # One entry per node in each list, the columns of the Nodes that build() makes
        # at once: an operation's name is known only then, and the parser of a 200k-node
        # sum should create each node once.
        self._names: list[str] = []  # an input's or constant's name; "" for an operation
        self._ops: list[Op | None] = []  # None for inputs and constants
        self._args: list[tuple[int, ...]] = []
        self._constants: list[float | None] = []  # a constant's value
        self._leaves: dict[str, int] = {}  # input and constant names -> index

    def input(self, name: str) -> int:
        """The input variable ``name`` (created on first use)."""
        index = self._leaves.get(name)
        return self._new_leaf(name, None) if index is None else index

    def constant(self, value: float, name: str | None = None) -> int:
        """A constant node, named by its value unless a name (``pi``) is given."""
        value = float(value)
        name = name or format_number(value)
        index = self._leaves.get(name)
        return self._new_leaf(name, value) if index is None else index

    def _new_leaf(self, name: str, constant: float | None) -> int:
        index = self._leaves[name] = len(self._ops)
        self._names.append(name)
        self._ops.append(None)
        self._args.append(())
        self._constants.append(constant)
        return index

    def used_inputs(self) -> set[str]:
        """Names of the inputs that some operation takes as an argument."""
        used = set(itertools.chain.from_iterable(self._args))
        return {name for name, index in self._leaves.items() if index in used}

    def apply(self, op: str | Op, *args: int) -> int:
        """A new operation node applied to earlier nodes."""
        primitive = OPS[op] if isinstance(op, str) else op
        if len(args) != primitive.arity:
            raise ValueError(f"{primitive.name} takes {primitive.arity} arguments, got {len(args)}")
        index = len(self._ops)
        self._names.append("")
        self._ops.append(primitive)
        self._args.append(args)
        self._constants.append(None)
        return index

    def build(
        self,
        output: int,
        *,
        names: str | Sequence[str] = "v",
        source: str | None = None,
        output_name: str | None = None,
        keep_inputs: bool = False,
        notes: Sequence[str] = (),
    ) -> Graph:
        """The graph of everything ``output`` depends on, operations named by ``names``.

        ``keep_inputs`` keeps inputs the output does not use (a declared ``f(w, x)``
        keeps ``w``). ``output_name`` names the output's operation (``A`` in
        ``A = (a - b*c)*d``); ``names`` then names the others.

        >>> b = GraphBuilder()
        >>> x = b.input("x")
        >>> print(b.build(b.apply("mul", x, x), output_name="y"))
        y = x * x
        """
        leaf_names, ops, args, constants, output = self._needed_nodes(output, keep_inputs)
        named_output = output_name is not None and ops[output] is not None
        taken = {name for name, op in zip(leaf_names, ops, strict=True) if op is None}
        count = len(ops) - ops.count(None) - named_output
        labels = iter(_operation_labels(names, count, taken | {output_name or ""}))
        node_names = [
            name if op is None else next(labels, output_name or "")
            for name, op in zip(leaf_names, ops, strict=True)
        ]
        nodes = list(map(_node_of_fields, zip(node_names, ops, args, constants, strict=True)))
        return Graph(nodes, output, source, notes)

    def _needed_nodes(self, output: int, keep_inputs: bool) -> tuple[
        list[str], list[Op | None], list[tuple[int, ...]], list[float | None], int
    ]:
        """The node columns ``output`` depends on (and kept inputs), in order, renumbered."""
        # The common case, checked at C speed: the output is the last node and every
        # other node is an argument of a later one (args always point backwards), so by
        # induction from the end every node is needed. A parsed expression is so.
        used = set(itertools.chain.from_iterable(self._args))
        if output == len(self._ops) - 1 and len(used) == output:
            return self._names, self._ops, self._args, self._constants, output
        needed = [
            keep_inputs and op is None and constant is None
            for op, constant in zip(self._ops, self._constants, strict=True)
        ]
        needed[output] = True
        for index in range(output, -1, -1):  # args always come before their users
            if needed[index]:
                for arg in self._args[index]:
                    needed[arg] = True
        kept = [index for index, is_needed in enumerate(needed) if is_needed]
        position = {old: new for new, old in enumerate(kept)}
        return (
            [self._names[i] for i in kept],
            [self._ops[i] for i in kept],
            [tuple(position[a] for a in self._args[i]) for i in kept],
            [self._constants[i] for i in kept],
            position[output],
        )


# Node(*fields) at C speed, for build()'s hundreds of thousands of nodes.
_node_of_fields = functools.partial(tuple.__new__, Node)


def format_number(value: Any) -> str:
    """A constant's name: ``4`` rather than ``4.0``, full precision otherwise.

    The one plain notation of numbers: the views write it as
    :func:`chainrule.show.notation.plain`, which is this function.

    >>> format_number(4.0), format_number(0.001), format_number(-2.5), format_number(-0.0)
    ('4', '0.001', '-2.5', '0')
    """
    number = float(value)  # numpy scalars too: their repr is "np.float64(0.5)"
    if number.is_integer() and abs(number) < 1e15:
        return str(int(number))
    return repr(number)


def operation_names(
    nodes: Sequence[Node], names: str | Sequence[str], reserved: Collection[str] = ()
) -> list[str]:
    """Names for the operation nodes: ``"v"`` (v1, v2, ...), ``"letters"``, or a list.

    ``reserved`` names are never given (the output's own name, say).
    """
    taken = {node.name for node in nodes if node.op is None} | set(reserved)
    return _operation_labels(names, sum(node.op is not None for node in nodes), taken)


def _operation_labels(names: str | Sequence[str], count: int, taken: set[str]) -> list[str]:
    """``count`` names by the scheme ``names``, none of them in ``taken``."""
    if names == "letters":
        free = [letter for letter in string.ascii_lowercase if letter not in taken]
        if len(free) < count:
            raise ChainruleError.naming(
                "{names} letters: {count} operations but only {free} unused letters; "
                "use {names} v",
                count=count, free=len(free),
            )
        return free[:count]
    if isinstance(names, str):
        return _numbered(names, count, taken)
    return _checked_list(list(names), count, taken)


def _numbered(prefix: str, count: int, taken: set[str]) -> list[str]:
    if not _IDENTIFIER.match(prefix):
        raise ChainruleError.naming(
            "{names}: {prefix!r} is not 'v', 'letters' or a list of names", prefix=prefix
        )
    # Pick a prefix that no input uses with a number (a user's v1 stays theirs).
    for candidate in (prefix, "v", "u", "t", "h", "n"):
        labels = [f"{candidate}{i}" for i in range(1, count + 1)]
        if taken.isdisjoint(labels):
            return labels
    return [f"_{prefix}{i}" for i in range(1, count + 1)]


def _checked_list(labels: list[str], count: int, taken: set[str]) -> list[str]:
    if len(labels) != count:
        raise ChainruleError.naming(
            "{names}: {given} given, but the expression has {count} operations",
            given=len(labels), count=count,
        )
    for label in labels:
        if not _IDENTIFIER.match(label):
            raise ChainruleError.naming("{names}: {label!r} is not a valid name", label=label)
        if label in taken:
            raise ChainruleError.naming(
                "{names}: {label!r} is already an input or constant", label=label
            )
    if len(set(labels)) != len(labels):
        raise ChainruleError.naming("{names}: the names must be different")
    return labels
