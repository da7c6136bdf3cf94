"""Naming the mistake of a ``wrong`` line, from the catalogue beside the op registry.

Each candidate is a number the learner would have written had they made one
particular mistake, computed from *their own* earlier numbers; the first that
matches the line (and differs from the right number) names the mistake. Where
none fits, the message says what was expected and how it follows from the
learner's numbers: ``expected q = a − p = 2 − (−28) = 30 from your numbers``.

>>> from chainrule.grade import check
>>> text = "p = b*c = -28\\nq = a - p = 30\\nA = q*d = 30\\n∂A/∂q = d = 1\\n∂A/∂p = 1"
>>> line = check("(a - b*c)*d", {"a": 2, "b": -7, "c": 4, "d": 1}, text).lines[-1]
>>> line.mistake
'sign'
>>> print(line.message.replace("; ", ";\\n"))
the sign of ∂(a − p)/∂p: it is −1, not +1 (through q = a - p);
from your numbers ∂A/∂p = ∂A/∂q · ∂q/∂p = (1)(−1) = −1
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING

from chainrule.core.backends import ScalarMath
from chainrule.grade.mistakes import CATALOGUE
from chainrule.grade.passes import Facts as Judge
from chainrule.grade.passes import local_derivative
from chainrule.grade.statements import Part
from chainrule.show.explain import Notation, Quantity
from chainrule.show.notation import pretty

if TYPE_CHECKING:
    from chainrule.grade.statements import Statement

Candidate = tuple[float, str, str]  # (the number that mistake gives, its name, what to say)
Diagnosis = tuple[str | None, str]  # (the mistake's name or None, the message)

_NOTATION = Notation()
_COUNT_WORDS = {2: "two", 3: "three", 4: "four", 5: "five"}
_MAX_SUBSETS = 4  # consumers up to which every partial sum is tried


def _first_match(judge: Judge, given: float, right: float, candidates: Iterable[Candidate]
                 ) -> Diagnosis | None:  # fmt: skip
    """The first candidate equal to what the learner wrote and different from the right value."""
    close = judge.tolerance.close
    for value, mistake, message in candidates:
        if math.isfinite(value) and not close(value, right) and close(given, value):
            return mistake, message
    return None


def _rounding(judge: Judge, given: float, right: float) -> Diagnosis | None:
    """Right to 2 significant digits (within one unit of the second digit)."""
    if not (math.isfinite(right) and right != 0 and math.isfinite(given)):
        return None
    unit = 10.0 ** (math.floor(math.log10(abs(right))) - 1)
    if abs(given - right) < unit:
        return "rounding", (
            f"right to 2 significant digits, but not to the tolerance: {pretty(right)} "
            f"(relative tolerance {judge.tolerance.relative:g})"
        )
    return None


# ---------------------------------------------------------------- forward values


def _value_how(judge: Judge, target: int) -> str:
    """``q = a − p = 2 − (−28) = 30``, from the learner's numbers."""
    graph, node = judge.graph, judge.graph.nodes[target]
    assert node.op is not None
    names = [Quantity(graph.nodes[a].name) for a in node.args]
    values = [Quantity(pretty(judge.yours.values[a]), judge.yours.values[a]) for a in node.args]
    right = judge.from_yours.values[target]
    shown = [node.name, _NOTATION.apply(node.op, names), _NOTATION.apply(node.op, values)]
    return " = ".join([*shown, pretty(right)])


def value_mistake(judge: Judge, statement: Statement, target: int, given: float) -> Diagnosis:
    """Why a forward value (or an input's value) is wrong."""
    node = judge.graph.nodes[target]
    if node.op is None:
        right = judge.at.get(node.name, math.nan)
        found = _first_match(judge, given, right, _input_candidates(judge, target))
        return found or (None, f"{node.name} is {pretty(right)} in the exercise")
    right = judge.from_yours.values[target]
    how = _value_how(judge, target)
    if not math.isfinite(right):
        return None, (
            f"from your numbers {how.rsplit(' = ', 1)[0]} is undefined; "
            f"the true value is {pretty(judge.truth.values[target])}"
        )
    then = f"; from your numbers {how}"
    found = _first_match(judge, given, right, _op_value_slips(judge, target, then))
    found = found or _substitution(judge, statement, target, given, then)
    found = found or _first_match(judge, given, right, _value_candidates(judge, target, then))
    found = found or _rounding(judge, given, right)
    return found or (None, f"expected {how} from your numbers")


def _input_candidates(judge: Judge, target: int) -> Iterator[Candidate]:
    name = judge.graph.nodes[target].name
    right = judge.at.get(name, math.nan)
    yield -right, "sign", f"the sign: {name} is {pretty(right)} in the exercise"
    for other, value in judge.at.items():
        if other != name:
            yield value, "copy", f"this is the value of {other}; {name} is {pretty(right)}"


def _op_value_slips(judge: Judge, target: int, then: str) -> Iterator[Candidate]:
    node = judge.graph.nodes[target]
    assert node.op is not None
    entry = CATALOGUE.get(node.op.name)
    if entry is None:
        return
    names = [judge.graph.nodes[a].name for a in node.args]
    args = [judge.yours.values[a] for a in node.args]
    for slip in entry.forward:
        yield slip.value(judge.from_yours.values[target], args), slip.mistake, (
            f"{slip.says(*names)}{then}"
        )


def _value_candidates(judge: Judge, target: int, then: str) -> Iterator[Candidate]:
    graph, node = judge.graph, judge.graph.nodes[target]
    assert node.op is not None
    args = [judge.yours.values[a] for a in node.args]
    for position, arg in enumerate(node.args):
        if graph.nodes[arg].kind == "constant" or args[position] == 0:
            continue
        flipped = [-v if i == position else v for i, v in enumerate(args)]
        try:
            value = float(node.op.forward(ScalarMath, *flipped))
        except (ArithmeticError, ValueError):
            continue
        name = graph.nodes[arg].name
        yield value, "sign", f"the sign of {name} = {pretty(args[position])} was lost{then}"
    yield -judge.from_yours.values[target], "sign", f"the opposite of the right number{then}"
    for index, value in judge.stated_values.items():
        if index != target:
            yield value, "copy", f"this is your value of {graph.nodes[index].name}{then}"


def _substitution(
    judge: Judge, statement: Statement, target: int, given: float, then: str
) -> Diagnosis | None:
    """What the learner's substituted middle (``2 − 28``) says about the slip."""
    middle = _last_middle(statement)
    if statement.kind != "definition" or middle is None:
        return None
    shown, right = middle.number(), judge.from_yours.values[target]
    close = judge.tolerance.close
    if close(shown, given) and not close(shown, right):
        return _wrong_number_substituted(judge, middle, target, then)
    return _arithmetic(judge, statement, given, right)


def _last_middle(statement: Statement) -> Part | None:
    """The last part between the first and the value that is arithmetic on numbers."""
    middles = [p for p in statement.parts[:-1] if p.is_number and p.graph is not None]
    if statement.kind == "definition":
        middles = [p for p in middles if p is not statement.parts[0]]
    return middles[-1] if middles else None


def _arithmetic(judge: Judge, statement: Statement, given: float, right: float) -> Diagnosis | None:
    """The numbers substituted are right, the arithmetic after them is not: ``(−1)(−7) = −7``."""
    middle = _last_middle(statement)
    if middle is None:
        return None
    shown, close = middle.number(), judge.tolerance.close
    if not close(shown, right) or close(given, shown):
        return None
    if close(given, -shown):
        return "sign", f"{middle.text} is {pretty(shown)}, not {pretty(given)}"
    return _rounding(judge, given, shown) or (
        None, f"{middle.text} is {pretty(shown)}, not {pretty(given)}"
    )


def _wrong_number_substituted(judge: Judge, middle: Part, target: int, then: str) -> Diagnosis:
    assert middle.graph is not None
    node = judge.graph.nodes[target]
    steps = middle.graph.equations
    if len(steps) == 1 and node.op is not None and steps[0].op == node.op:
        constants = [middle.graph.nodes[a].constant for a in steps[0].args]
        for arg, written in zip(node.args, constants, strict=True):
            yours = judge.yours.values[arg]
            if written is None or judge.tolerance.close(written, yours):
                continue
            name = judge.graph.nodes[arg].name
            mistake = "sign" if judge.tolerance.close(written, -yours) else "copy"
            return mistake, (
                f"you substituted {pretty(written)} for {name}, but your {name} is "
                f"{pretty(yours)}{then}"
            )
    return "copy", f"the numbers substituted in {middle.text} are not yours{then}"


# ---------------------------------------------------------------- gradients


def _grad_how(judge: Judge, x: int) -> str:
    """``∂A/∂p = ∂A/∂q · ∂q/∂p = (1)(−1) = −1``, from the learner's numbers."""
    graph, out = judge.graph, judge.d.output_name
    name = graph.nodes[x].name
    lhs = _NOTATION.partial(out, name)
    if x == graph.output:
        return f"{lhs} = 1"
    symbols, numbers = [], []
    for c in graph.consumers[x]:
        consumer = _label(judge, c)
        symbols.append(
            _NOTATION.partial(out, consumer) + _NOTATION.times + _NOTATION.partial(consumer, name)
        )
        numbers.append(
            _NOTATION.factor(judge.yours.grads[c])
            + _NOTATION.factor(judge.yours.local(graph, c, x))
        )
    right = judge.from_yours.grads[x]
    return " = ".join([lhs, " + ".join(symbols), " + ".join(numbers), pretty(right)])


def _label(judge: Judge, index: int) -> str:
    """A node's name as the learner writes it (the output by its alias)."""
    if index == judge.graph.output:
        return judge.d.output_name
    return judge.graph.nodes[index].name


def gradient_mistake(judge: Judge, statement: Statement, x: int, given: float) -> Diagnosis:
    """Why ∂out/∂x is wrong."""
    right = judge.from_yours.grads[x]
    how = _grad_how(judge, x)
    if not math.isfinite(right):
        return None, f"from your numbers {how.rsplit(' = ', 1)[0]} is undefined"
    arithmetic = _arithmetic(judge, statement, given, right)
    if arithmetic is not None:  # the right factors, multiplied or added up wrong
        return arithmetic
    then = f"; from your numbers {how}"
    candidates = itertools.chain(
        _sum_candidates(judge, x, then),
        _gradient_op_slips(judge, x, then, _written_numbers(statement)),
        _chain_candidates(judge, x, then),
        [(-right, "sign", f"the opposite of the right number{then}")],
        _gradient_copies(judge, x, then),
    )
    found = _first_match(judge, given, right, candidates) or _rounding(judge, given, right)
    return found or (None, f"expected {how} from your numbers")


def _terms(judge: Judge, x: int) -> list[tuple[int, float, float]]:
    """(consumer, its gradient, the local derivative by x) for each consumer of x."""
    return [
        (c, judge.yours.grads[c], judge.yours.local(judge.graph, c, x))
        for c in judge.graph.consumers[x]
    ]


def _sum_candidates(judge: Judge, x: int, then: str) -> Iterator[Candidate]:
    terms = _terms(judge, x)
    if len(terms) < 2:
        return
    sizes = range(1, len(terms)) if len(terms) <= _MAX_SUBSETS else (1, len(terms) - 1)
    name = judge.graph.nodes[x].name
    feeds = ", ".join(judge.graph.equation(judge.graph.nodes[c]) for c, _, _ in terms)
    count = _COUNT_WORDS.get(len(terms), str(len(terms)))
    for size in sizes:
        for subset in itertools.combinations(terms, size):
            through = " and ".join(_label(judge, c) for c, _, _ in subset)
            yield sum(g * local for _, g, local in subset), "sum-over-consumers", (
                f"`{name}` feeds {count} operations ({feeds}); you have the term through "
                f"{through} only{then}"
            )


def _written_numbers(statement: Statement) -> list[float]:
    """The numbers the learner substituted in the middle of a line: ``(4)(2) + (4)(1)``."""
    return [
        abs(node.constant)
        for part in statement.parts[:-1]
        if part.is_number and part.graph is not None
        for node in part.graph.nodes
        if node.constant is not None
    ]


def _gradient_op_slips(
    judge: Judge, x: int, then: str, written: list[float]
) -> Iterator[Candidate]:
    """The slips of the consumers' ops; those whose wrong local derivative the learner
    wrote in the middle of the line come first (two slips may give the same total)."""
    shown: list[Candidate] = []
    hidden: list[Candidate] = []
    for wrong, local, candidate in _op_slip_terms(judge, x, then):
        seen = any(judge.tolerance.close(abs(wrong), n) for n in written)
        (shown if seen and not judge.tolerance.close(wrong, local) else hidden).append(candidate)
    yield from shown
    yield from hidden


def _op_slip_terms(judge: Judge, x: int, then: str) -> Iterator[tuple[float, float, Candidate]]:
    graph = judge.graph
    right = judge.from_yours.grads[x]
    for c, g, local in _terms(judge, x):
        node = graph.nodes[c]
        assert node.op is not None
        entry = CATALOGUE.get(node.op.name)
        positions = [i for i, a in enumerate(node.args) if a == x]
        if entry is None or len(positions) != 1 or not entry.partials:
            continue
        names = [graph.nodes[a].name for a in node.args]
        args = [judge.yours.values[a] for a in node.args]
        for slip in entry.partials[positions[0]]:
            wrong_local = slip.value(local, args)
            yield wrong_local, local, (right - g * local + g * wrong_local, slip.mistake, (
                f"{slip.says(*names)} (through {graph.equation(node)}){then}"
            ))


def _chain_candidates(judge: Judge, x: int, then: str) -> Iterator[Candidate]:
    graph, out = judge.graph, judge.d.output_name
    terms = _terms(judge, x)
    if any(not judge.tolerance.close(g, 1.0) for _, g, _ in terms):
        ups = ", ".join(f"{_NOTATION.partial(out, _label(judge, c))} = {pretty(g)}"
                        for c, g, _ in terms)  # fmt: skip
        yield sum(local for _, _, local in terms), "upstream", (
            f"the local derivative alone: it must be multiplied by the upstream gradient "
            f"{ups}{then}"
        )
    replaced, said = 0.0, []
    for c, g, local in terms:
        users = graph.consumers[c]
        if c == graph.output or len(users) != 1:
            return
        above = judge.yours.local(graph, users[0], c)
        replaced += above * local
        said.append(
            f"{_NOTATION.partial(_label(judge, users[0]), _label(judge, c))} = {pretty(above)} "
            f"in place of {_NOTATION.partial(out, _label(judge, c))} = {pretty(g)}"
        )
    yield replaced, "local-as-gradient", (
        f"the local derivative {', '.join(said)} (the gradient of the output is needed){then}"
    )


def _gradient_copies(judge: Judge, x: int, then: str) -> Iterator[Candidate]:
    graph, out = judge.graph, judge.d.output_name
    for c, g, local in _terms(judge, x):
        yield g, "copy", (
            f"this is {_NOTATION.partial(out, _label(judge, c))} passed on unchanged: multiply "
            f"it by the local derivative {_NOTATION.partial(_label(judge, c), graph.nodes[x].name)}"
            f" = {pretty(local)}{then}"
        )
    for index, value in judge.stated_grads.items():
        if index != x:
            label = _NOTATION.partial(out, _label(judge, index))
            yield value, "copy", f"this is your value of {label}{then}"


# ---------------------------------------------------------------- local derivatives


def local_mistake(
    judge: Judge, statement: Statement, of: int, by: int, given: float
) -> Diagnosis:
    """Why a local derivative ∂q/∂p is wrong."""
    graph = judge.graph
    node = graph.nodes[of]
    assert node.op is not None
    right = judge.yours.local(graph, of, by)
    names = [graph.nodes[a].name for a in node.args]
    entry = CATALOGUE.get(node.op.name)
    rule = entry.rule if entry is not None else node.op.name
    how = f"{_NOTATION.partial(node.name, graph.nodes[by].name)} = {pretty(right)} ({rule})"
    then = f"; from your numbers {how}"
    candidates: list[Candidate] = []
    positions = [i for i, a in enumerate(node.args) if a == by]
    if entry is not None and len(positions) == 1 and entry.partials:
        args = [judge.yours.values[a] for a in node.args]
        candidates += [
            (slip.value(right, args), slip.mistake, f"{slip.says(*names)}{then}")
            for slip in entry.partials[positions[0]]
        ]
    candidates.append((-right, "sign", f"the opposite of the right number{then}"))
    candidates += [
        (judge.yours.values[a], "copy", f"this is your value of {graph.nodes[a].name}{then}")
        for a in node.args
        if a != by or node.op.name != "mul"
    ]
    found = _arithmetic(judge, statement, given, right)
    found = found or _first_match(judge, given, right, candidates) or _rounding(judge, given, right)
    return found or (None, f"expected {how} from your numbers")


# ---------------------------------------------------------------- carried


def _differing(judge: Judge, nodes: Iterable[int]) -> list[str]:
    close = judge.tolerance.close
    return [
        f"{_label(judge, i)} = {pretty(judge.yours.values[i])}"
        for i in dict.fromkeys(nodes)
        if judge.graph.nodes[i].kind != "constant"
        and not close(judge.yours.values[i], judge.truth.values[i])
    ]


def _carried(said: list[str], truth: float) -> str:
    source = f"your {', '.join(said)}" if said else "your earlier numbers"
    return (
        f"right from {source} (an earlier mistake, no new one); the true value is {pretty(truth)}"
    )


def carried_value(judge: Judge, target: int) -> str:
    return _carried(_differing(judge, judge.graph.nodes[target].args), judge.truth.values[target])


def _inputs_of_local(judge: Judge, consumer: int, arg: int) -> list[int]:
    """The nodes whose values ∂consumer/∂arg uses: the arguments, and the consumer's own
    value where the rule is written with it (√x' = 1/(2√x), eˣ' = eˣ)."""
    node, values = judge.graph.nodes[consumer], judge.yours.values
    local = local_derivative(node, arg, values, values[consumer])
    moved = local_derivative(node, arg, values, values[consumer] + 1.0)
    uses_out = not (local == moved or (math.isnan(local) and math.isnan(moved)))
    return [*node.args, *([consumer] if uses_out else [])]


def carried_derivative(judge: Judge, what: str, of: int, by: int) -> str:
    graph, out = judge.graph, judge.d.output_name
    close = judge.tolerance.close
    if what == "local":
        said = _differing(judge, _inputs_of_local(judge, of, by))
        return _carried(said, judge.truth.local(graph, of, by))
    said = [
        f"{_NOTATION.partial(out, _label(judge, c))} = {pretty(judge.yours.grads[c])}"
        for c in graph.consumers[by]
        if not close(judge.yours.grads[c], judge.truth.grads[c])
    ]
    used = [n for c in graph.consumers[by] for n in _inputs_of_local(judge, c, by)]
    return _carried(said + _differing(judge, used), judge.truth.grads[by])
