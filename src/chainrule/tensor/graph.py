"""The graph a tensor computation recorded: drawn with chainrule's renderer, and explained.

:func:`trace` turns the tensors behind a loss into numbered steps (``v1 = x @ W1``)
with their shapes; :func:`picture` makes the same :class:`~chainrule.show.picture.Picture`
the scalar graphs use (inputs as ellipses, operations as boxes, shapes on the nodes,
each edge labelled with its backward rule), so :func:`draw` gives SVG, PNG or PDF
with Graphviz or the built-in renderer; :func:`explain` writes the backward pass
as text, one chain-rule line per argument with shapes and the rule of its operation,
``∂L/∂W1 = xᵀ · ∂L/∂v1``.

>>> import numpy as np
>>> from chainrule.tensor import Tensor
>>> x = Tensor(np.ones((4, 3)), name="x")
>>> w = Tensor(np.ones((3, 2)), requires_grad=True, name="W")
>>> loss = (x @ w).relu().sum()
>>> rules = [line.split() for line in explain(loss).splitlines() if "∂L/∂W" in line]
>>> print(" ".join(rules[0]))
∂L/∂W = xᵀ · ∂L/∂v1 [3×4] · [4×2] → [3×2]
"""

from __future__ import annotations

from dataclasses import dataclass

from chainrule.core.graph import NodeKind
from chainrule.core.ops import OPS
from chainrule.show.notation import pretty, pretty_infix, pretty_prefix
from chainrule.show.picture import Picture, PictureEdge, PictureNode, TextLine
from chainrule.show.render import Engine, render_picture
from chainrule.show.tables import aligned_table
from chainrule.tensor.tensor import Tensor

MAX_STEPS = 400
"""Longer graphs make unreadable pictures and explanations (a network's graph has dozens)."""


@dataclass(frozen=True)
class Step:
    """One tensor of the graph: a leaf (input, weight, constant) or an operation."""

    name: str  # "x", "W1", "v3"
    tensor: Tensor
    args: tuple[int, ...]  # indices of the argument steps


@dataclass(frozen=True)
class Trace:
    """The steps behind a tensor, each after its arguments; the last one is the output."""

    steps: tuple[Step, ...]

    @property
    def output(self) -> Step:
        return self.steps[-1]


def trace(output: Tensor) -> Trace:
    """The recorded graph behind ``output`` (inputs and constants included), named.

    Leaves keep their ``name`` (unnamed constants are called by their value, or
    c1, c2...); operations are v1, v2... in the order they ran.
    """
    order = output.graph_order(everything=True)
    if len(order) > MAX_STEPS:
        raise ValueError(f"the graph has {len(order)} tensors; pictures stop at {MAX_STEPS}")
    position = {id(t): i for i, t in enumerate(order)}
    steps: list[Step] = []
    operations = constants = 0
    for tensor in order:
        if tensor.parents:
            operations += 1
            name = f"v{operations}"
        elif tensor.name:
            name = tensor.name
        elif tensor.data.size == 1:
            name = pretty(float(tensor.data.item()))
        else:
            constants += 1
            name = f"c{constants}"
        steps.append(Step(name, tensor, tuple(position[id(p)] for p in tensor.parents)))
    return Trace(tuple(steps))


# ---------------------------------------------------------------- notation


def shape_text(shape: tuple[int, ...]) -> str:
    """``[128×784]``; a scalar is ``[]``."""
    return "[" + "×".join(str(n) for n in shape) + "]"


def expression(trace_: Trace, step: Step) -> str:
    """The right-hand side of an operation's equation: ``x @ W1``, ``relu(v2)``, ``sum(v5)``."""
    tensor = step.tensor
    names = [trace_.steps[a].name for a in step.args]
    detail = f", {tensor.detail}" if tensor.detail else ""
    if tensor.op == "matmul":
        return f"{names[0]} @ {names[1]}"
    if tensor.op == "index":
        return f"{names[0]}[…] (picked {shape_text(tensor.shape)})"
    if tensor.op == "reshape":
        return f"reshape({names[0]}, {tensor.detail})"
    if tensor.op in OPS:
        op = OPS[tensor.op]
        if op.form == "infix":
            return pretty_infix(op.symbol, names[0], names[1])
        return pretty_prefix(op.symbol, names[0]) if op.form == "prefix" else op.format(names)
    return f"{tensor.op}({', '.join(names)}{detail})"


def rule(trace_: Trace, step: Step, position: int) -> str:
    """The backward rule for one argument: ``∂L/∂W1 = xᵀ · ∂L/∂v1``."""
    names = [trace_.steps[a].name for a in step.args]
    arg, tensor = names[position], step.tensor
    upstream = f"∂L/∂{step.name}"
    head = f"∂L/∂{arg} = "
    axes = broadcast_axes(trace_.steps[step.args[position]].tensor.shape, tensor.shape)
    summed = f"Σ over axis {axes} of {{}}" if axes and tensor.op in OPS else "{}"
    bodies = {
        "matmul": (f"{upstream} · {names[-1]}ᵀ", f"{names[0]}ᵀ · {upstream}"),
        "sum": (f"{upstream} copied to {shape_text(trace_.steps[step.args[0]].tensor.shape)}",),
        "mean": (
            f"{upstream} / n, copied to {shape_text(trace_.steps[step.args[0]].tensor.shape)}",
        ),
        "max": (f"{upstream} at the maxima (ties share)",),
        "reshape": (f"{upstream} reshaped",),
        "transpose": (f"({upstream})ᵀ",),
        "index": (f"{upstream} put back at the picked places (zeros elsewhere)",),
        "log_softmax": (f"{upstream} − softmax({arg}) · Σ {upstream}",),
        "concatenate": (f"its slice of {upstream}",),
        "conv2d": (f"{upstream} sent back through every window that read it (col2im)",
                   f"Σ over windows of {names[0]} · {upstream}"),
    }  # fmt: skip
    if tensor.op in bodies:
        return head + bodies[tensor.op][min(position, len(bodies[tensor.op]) - 1)]
    if tensor.op not in OPS:  # an operation this table does not know yet
        return head + f"{upstream} through {tensor.op}'s backward rule"
    return head + summed.format(_elementwise_rule(tensor.op, names, position, upstream, step.name))


def _elementwise_rule(op: str, names: list[str], position: int, upstream: str, out: str) -> str:
    """The chain rule of a registry operation: ∂L/∂out ⊙ its local derivative."""
    constant = OPS[op].derivatives[position]
    if isinstance(constant, float):
        if constant in (1.0, -1.0):
            return upstream if constant == 1.0 else f"−{upstream}"
        return f"{pretty(constant)} · {upstream}"
    if op == "mul":
        return f"{upstream} ⊙ {names[1 - position]}"
    if op == "relu":
        return f"{upstream} ⊙ [{names[0]} > 0]"
    return f"{upstream} ⊙ ∂{out}/∂{names[position]}"


def broadcast_axes(arg: tuple[int, ...], out: tuple[int, ...]) -> str:
    """The axes of ``out`` an argument was broadcast along (its gradient is summed over them).

    >>> broadcast_axes((512,), (128, 512)), broadcast_axes((3, 1), (3, 4))
    ('0', '1')
    >>> broadcast_axes((2,), (2,))
    ''

    """
    extra = len(out) - len(arg)
    axes = [
        *range(extra),
        *(extra + i for i, n in enumerate(arg) if n == 1 and out[extra + i] != 1),
    ]
    return ", ".join(str(a) for a in axes)


def _product_shapes(trace_: Trace, step: Step, position: int) -> str:
    """The shapes the rule multiplies, for matmul: ``[784×128] · [128×512] → [784×512]``."""
    args = [trace_.steps[a].tensor.shape for a in step.args]
    out = step.tensor.shape
    if step.tensor.op == "matmul":
        left, right = args
        if position == 0:
            factors = (out, (*right[:-2], right[-1], right[-2]))
        else:
            factors = ((*left[:-2], left[-1], left[-2]), out)
        return f"{shape_text(factors[0])} · {shape_text(factors[1])} → {shape_text(args[position])}"
    return f"{shape_text(out)} → {shape_text(args[position])}"


# ---------------------------------------------------------------- text


def explain(output: Tensor) -> str:
    """The forward pass with shapes, then the backward pass rule by rule, as plain text."""
    trace_ = trace(output)
    forward = [
        [f"{step.name} = {expression(trace_, step)}", shape_text(step.tensor.shape)]
        for step in trace_.steps
        if step.args
    ]
    leaves = [
        [step.name, shape_text(step.tensor.shape), _leaf_kind(step.tensor)]
        for step in trace_.steps
        if not step.args and step.tensor.data.size > 1
    ]
    lines = [f"Graph of L = {trace_.output.name}: {len(forward)} operations", ""]
    lines += ["1. Inputs and weights", *aligned_table(["tensor", "shape", "kind"], leaves)]
    lines += ["", "2. Forward pass", *aligned_table(["equation", "shape"], forward)]
    lines += ["", "3. Backward pass (the chain rule, from L back to the weights)"]
    lines += [f"  ∂L/∂{trace_.output.name} = 1"]
    lines += aligned_table(["rule", "shapes"], _backward_rows(trace_))[1:]
    lines += ["", "(a tensor used by several operations gets the sum: the second line is +=)"]
    return "\n".join(lines) + "\n"


def _backward_rows(trace_: Trace) -> list[list[str]]:
    rows: list[list[str]] = []
    seen: set[int] = set()
    for step in reversed(trace_.steps):
        for position, arg in enumerate(step.args):
            if not trace_.steps[arg].tensor.requires_grad:
                continue
            text = rule(trace_, step, position)
            if arg in seen:
                text = text.replace(" = ", " += ", 1)
            seen.add(arg)
            rows.append([text, _product_shapes(trace_, step, position)])
    return rows


def _leaf_kind(tensor: Tensor) -> str:
    return "weight (trained)" if tensor.requires_grad else "input (data)"


# ---------------------------------------------------------------- pictures


def picture(output: Tensor) -> Picture:
    """The graph as a :class:`~chainrule.show.picture.Picture`: shapes on nodes, rules on edges."""
    trace_ = trace(output)
    nodes = tuple(_picture_node(trace_, index) for index in range(len(trace_.steps)))
    edges = tuple(
        PictureEdge(arg, index, rule(trace_, step, position)
                    if trace_.steps[arg].tensor.requires_grad else "")
        for index, step in enumerate(trace_.steps)
        for position, arg in enumerate(step.args)
    )  # fmt: skip
    title = f"L = {trace_.output.name}: the tensor graph, {len(trace_.steps)} tensors"
    return Picture(title, "shapes on the nodes, backward rules on the edges", nodes, edges)


def _picture_node(trace_: Trace, index: int) -> PictureNode:
    step = trace_.steps[index]
    tensor = step.tensor
    output = index == len(trace_.steps) - 1
    shape = TextLine("", f"shape {shape_text(tensor.shape)}", "value")
    if not step.args:
        kind: NodeKind = "input" if tensor.data.size > 1 else "constant"
        lines = (TextLine(step.name, "", "title"), shape) if kind == "input" else (
            TextLine(step.name, "", "title"),)  # fmt: skip
        return PictureNode(kind, output, lines)
    title = TextLine(step.name, f" = {expression(trace_, step)}", "title")
    return PictureNode("op", output, (title, shape))


def draw(output: Tensor, fmt: str = "svg", *, engine: Engine | None = None) -> str | bytes:
    """The tensor graph behind ``output`` drawn by chainrule's renderer (dot, svg, png, pdf)."""
    return render_picture(picture(output), fmt, engine=engine)
