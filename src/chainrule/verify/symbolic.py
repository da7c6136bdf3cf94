"""Symbolic gradients: the graph as a sympy expression, differentiated in closed form.

The expression is built node by node from the graph (never from the user's
text: no ``sympify`` or ``parse_expr``), by running each op's ``forward`` on a
sympy namespace. Inputs are real symbols. Constants stay exact where they are
exact: integers become ``Integer``, ``pi`` and ``e`` become ``sympy.pi`` and
``sympy.E``, and any other number becomes the ``Rational`` of its shortest
decimal text (``0.1`` is ``1/10``, what the user typed, not the binary double
``3602879701896397/36028797018963968``).

>>> from chainrule import parse
>>> g = parse("(a - b*c)*d")
>>> to_sympy(g)
d*(a - b*c)
>>> symbolic_gradients(g)
{'a': d, 'b': -c*d, 'c': -b*d, 'd': a - b*c}
>>> symbolic_gradients(parse("0.5*x^2 + pi*x"))["x"]
x + pi
"""

from __future__ import annotations

import math
import signal
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from fractions import Fraction
from functools import partial
from typing import TYPE_CHECKING, Any

import sympy

from chainrule.core.backends import sympy_math
from chainrule.core.ops import CONSTANTS
from chainrule.errors import ChainruleError

if TYPE_CHECKING:
    from chainrule.core.graph import Graph, Node

SIMPLIFY_MAX_OPS = 60
"""Graphs with more operations get their derivative unsimplified: simplify is slow."""

SIMPLIFY_SECONDS = 1.0
"""Wall-clock cap for simplifying one derivative (where a timer signal can be used)."""

SYMBOLIC_MAX_OPS = 500
"""Beyond this many operations sympy's recursive algorithms are too slow or too deep."""


def exact_constant(node: Node) -> sympy.Expr:
    """A constant node as an exact sympy number where the text is exact.

    >>> from chainrule.core.graph import Node
    >>> constants = [("4", 4.0), ("0.1", 0.1), ("pi", math.pi)]
    >>> [exact_constant(Node(name, constant=value)) for name, value in constants]
    [4, 1/10, pi]
    """
    value = node.constant
    assert value is not None, "only constant nodes have an exact value"
    if node.name in CONSTANTS and CONSTANTS[node.name] == value:
        return sympy.pi if node.name == "pi" else sympy.E
    if not math.isfinite(value):
        return sympy.nan if math.isnan(value) else (sympy.oo if value > 0 else -sympy.oo)
    if value.is_integer():
        return sympy.Integer(int(value))
    fraction = Fraction(repr(value))  # the shortest decimal that reads back as value
    return sympy.Rational(fraction.numerator, fraction.denominator)


def symbols(graph: Graph) -> dict[str, sympy.Symbol]:
    """One real sympy symbol per input, by name."""
    return {name: sympy.Symbol(name, real=True) for name in graph.inputs}


def node_expressions(graph: Graph) -> list[sympy.Expr]:
    """The sympy expression of every node, in graph order (built iteratively)."""
    _check_size(graph)
    inputs = symbols(graph)
    m = sympy_math()
    exprs: list[sympy.Expr] = []
    for node in graph.nodes:
        if node.op is not None:
            exprs.append(node.op.forward(m, *(exprs[arg] for arg in node.args)))
        elif node.constant is not None:
            exprs.append(exact_constant(node))
        else:
            exprs.append(inputs[node.name])
    return exprs


def to_sympy(graph: Graph) -> sympy.Expr:
    """The graph's output as one sympy expression."""
    return _guarded(lambda: node_expressions(graph)[graph.output])


def symbolic_gradients(graph: Graph, *, simplify: bool | None = None) -> dict[str, sympy.Expr]:
    """d output / d input in closed form, for every input.

    ``simplify=None`` simplifies graphs of up to :data:`SIMPLIFY_MAX_OPS`
    operations, each within :data:`SIMPLIFY_SECONDS` where a timer is available;
    otherwise (or when simplification runs out of time) the derivative is given
    as sympy's ``diff`` returns it.
    """
    if simplify is None:
        simplify = len(graph.equations) <= SIMPLIFY_MAX_OPS
    output = to_sympy(graph)
    gradients: dict[str, sympy.Expr] = {}
    for name, symbol in symbols(graph).items():
        derivative = _guarded(partial(sympy.diff, output, symbol))
        gradients[name] = _simplified(derivative) if simplify else derivative
    return gradients


def evaluate(expr: sympy.Expr, values: Mapping[str, float], digits: int = 30) -> float:
    """A sympy expression's value at a point, computed with ``digits`` digits, as a float.

    The point's floats enter exactly (as sympy Floats of ``digits`` digits), and
    every subexpression is evaluated bottom-up at that precision, so the result is
    a high-accuracy reference. Bottom-up, ``Max``, ``Heaviside`` and ``Piecewise``
    always see numbers: ``evalf`` alone refuses ``Max(p, sin(p) - p)`` at
    ``p = 1e-59``, where it cannot tell the arguments apart. NaN where the
    expression is undefined or not real at the point.

    >>> x = sympy.Symbol("x", real=True)
    >>> evaluate(sympy.sqrt(x) * 2, {"x": 2.0})
    2.8284271247461903
    >>> evaluate(sympy.Heaviside(x), {"x": 0.0}), evaluate(sympy.log(x), {"x": -1.0})
    (0.5, nan)
    >>> evaluate(sympy.Max(x, sympy.sin(x) - x), {"x": 1e-59})
    1e-59
    """
    known = {
        sympy.Symbol(name, real=True): sympy.Float(value, digits)
        for name, value in values.items()
    }
    try:
        number = _guarded(lambda: _bottom_up(expr, known, digits))
        return float(number) if number.is_real else math.nan
    except (TypeError, ValueError, ZeroDivisionError, ChainruleError):
        return math.nan


def _bottom_up(expr: sympy.Basic, known: dict[sympy.Symbol, sympy.Float], digits: int) -> Any:
    """Evaluate every node after its arguments, with an explicit stack (no recursion)."""
    done: dict[sympy.Basic, Any] = dict(known)
    stack: list[tuple[sympy.Basic, bool]] = [(expr, False)]
    while stack:
        node, ready = stack.pop()
        if node in done:
            continue
        if not node.args:
            done[node] = node.evalf(digits) if node.is_number else node
        elif ready:
            rebuilt = node.func(*(done[arg] for arg in node.args))
            # conditions and (expr, cond) pairs of a Piecewise have no evalf
            done[node] = rebuilt.evalf(digits) if isinstance(rebuilt, sympy.Expr) else rebuilt
        else:
            stack.append((node, True))
            stack.extend((arg, False) for arg in node.args if arg not in done)
    return done[expr]


def _check_size(graph: Graph) -> None:
    count = len(graph.equations)
    if count > SYMBOLIC_MAX_OPS:
        raise ChainruleError(
            f"symbolic gradients: {count} operations is more than the {SYMBOLIC_MAX_OPS} "
            "that sympy handles in reasonable time"
        )


def _guarded(compute: Callable[[], Any]) -> Any:
    """Run a sympy computation; its recursion limit becomes a one-line error."""
    try:
        return compute()
    except RecursionError:
        raise ChainruleError("symbolic gradients: the expression is too deep for sympy") from None


def _simplified(expr: sympy.Expr) -> sympy.Expr:
    """``sympy.simplify(expr)`` if that is shorter and done in time, else ``expr``."""
    try:
        with _time_limit(SIMPLIFY_SECONDS):
            simple: sympy.Expr = sympy.simplify(expr)
    except (_TimeUp, RecursionError):
        return expr
    return simple if sympy.count_ops(simple) <= sympy.count_ops(expr) else expr


class _TimeUp(BaseException):
    """Raised by the interval timer inside a computation that ran too long.

    A BaseException, like KeyboardInterrupt: sympy catches ``Exception`` in
    places, and a swallowed time-up would let simplify run on unbounded.
    """


@contextmanager
def _time_limit(seconds: float) -> Iterator[None]:
    """Interrupt the body after ``seconds`` (main thread on POSIX; else no limit).

    sympy has no timeout of its own; a real-time timer signal is the only way to
    stop it without a subprocess. Any timer a caller had set is restored.
    """
    usable = hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()
    if not usable:
        yield
        return

    running = [True]
    deadline = time.monotonic() + seconds

    def interrupt(signum: int, frame: object) -> None:
        if running[0] and time.monotonic() < deadline + _TICK_GRACE:
            raise _TimeUp
        # A tick after the body (its cleanup was itself interrupted): stop ticking.
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)

    previous = signal.signal(signal.SIGALRM, interrupt)
    previous_timer = (0.0, 0.0)
    try:
        # Repeating: a time-up raised where it is swallowed (a gc callback, a bare
        # except) comes again a little later, until it ends the computation.
        previous_timer = signal.setitimer(signal.ITIMER_REAL, seconds, _TICK)
        yield
    finally:
        running[0] = False
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
        if previous_timer[0] > 0:  # give back what is left of a caller's timer (>= 1 ms)
            left = max(previous_timer[0] - (time.monotonic() - deadline + seconds), 0.001)
            signal.setitimer(signal.ITIMER_REAL, left, previous_timer[1])


_TICK = 0.05  # seconds between repeated time-ups
_TICK_GRACE = 5.0  # after this long past the deadline a tick no longer raises


def with_symbolic(document: Mapping[str, Any], graph: Graph) -> dict[str, Any]:
    """``chainrule graph --format json`` with ``"symbolic"`` (input -> closed form) added.

    The key goes right after ``"gradients"``, so the keys read: expression, inputs,
    steps, output, gradients, symbolic, warnings.

    >>> from chainrule import parse
    >>> g = parse("x*y")
    >>> document = {"expression": "x*y", "gradients": {"x": 3.0, "y": 2.0}, "warnings": []}
    >>> list(with_symbolic(document, g).items())[-2:]
    [('symbolic', {'x': 'y', 'y': 'x'}), ('warnings', [])]
    """
    closed = {name: str(expr) for name, expr in symbolic_gradients(graph).items()}
    ordered: dict[str, Any] = {}
    for key, value in document.items():
        ordered[key] = value
        if key == "gradients":
            ordered["symbolic"] = closed
    ordered.setdefault("symbolic", closed)
    return ordered
