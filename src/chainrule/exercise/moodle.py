r"""``moodle.xml``: the variants as a Moodle XML quiz, one cloze question each.

Moodle's XML import reads ``<quiz>`` with one ``<question>`` per item: a
``type="category"`` question names the category the rest go into, and a
``type="cloze"`` question (Moodle's "embedded answers", qtype multianswer) has a
``<name>``, a ``<questiontext format="html">`` whose text embeds the
sub-questions, a ``<generalfeedback>`` (shown after an attempt: here the worked
forward and backward pass), ``<penalty>``, ``<hidden>`` and ``<idnumber>``.

Each forward value and each gradient is a numerical sub-question in the
question text, ``{1:NUMERICAL:=value:tolerance#feedback}``: weight 1, the right
answer with its absolute tolerance (:func:`tolerance`), and the feedback for it.
Math is written ``\( ... \)`` for Moodle's MathJax filter.

>>> cloze(-28.0)
'{1:NUMERICAL:=-28:0.28#Correct}'
>>> cloze(0.00123), tolerance(0.00123)
('{1:NUMERICAL:=0.00123:0.0005#Correct}', 0.0005)
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from xml.sax.saxutils import escape

from chainrule.exercise.documents import function_latex, heading
from chainrule.exercise.generator import Variant
from chainrule.show import explain
from chainrule.show.notation import short

MOODLE_FILE = "moodle.xml"

MOODLE_DIGITS = 10
"""Significant digits of a numerical answer (decimal, as Moodle reads it)."""

RELATIVE_TOLERANCE = 0.01
"""A hand-worked answer within 1% is right (3 significant digits) ..."""

ABSOLUTE_TOLERANCE = 0.0005
"""... or within this of it, for values near 0 (exact zeros, and small ones down to 0.001)."""

PENALTY = "0.3333333"
"""Moodle's default penalty for each further try."""


def tolerance(value: float) -> float:
    """The absolute error Moodle accepts for ``value``."""
    return max(RELATIVE_TOLERANCE * abs(value), ABSOLUTE_TOLERANCE)


def cloze(value: float) -> str:
    """One numerical sub-question: ``{1:NUMERICAL:=value:tolerance#Correct}``."""
    return f"{{1:NUMERICAL:={short(value, MOODLE_DIGITS)}:{short(tolerance(value), 3)}#Correct}}"


def _math(latex: str) -> str:
    return rf"\({html.escape(latex, quote=False)}\)"


_GRADIENT = _math(r"\partial f / \partial v_{i}")


def question_text(variant: Variant) -> str:
    """The question: the expression, the point, the intermediate variables to use, the blanks."""
    notation = explain.LatexNotation()
    graph, result = variant.graph, variant.result
    grads = result.node_grads()
    point = ", ".join(_math(f"{name} = {value}") for name, value in variant.at.items())
    rows = []
    for index, node in enumerate(graph.nodes):
        if node.op is None:
            continue
        names = [explain.Quantity(notation.name(graph.nodes[arg].name)) for arg in node.args]
        equation = f"{notation.name(node.name)} = {notation.apply(node.op, names)}"
        grad = "1" if index == graph.output else cloze(float(grads[index]))
        rows.append(f"<tr><td>{_math(equation)}</td><td>{cloze(float(result.values[index]))}"
                    f"</td><td>{grad}</td></tr>")
    inputs = "".join(
        f"<tr><td>{_math(notation.partial('f', name))}</td><td>{cloze(float(g))}</td></tr>"
        for name, g in result.gradients.items()
    )
    return (
        f"<p>Consider the expression {_math(function_latex(variant))} at {point}.</p>\n"
        "<p>With the intermediate variables below (one operation each; the last is f), "
        "perform forward propagation (each value) and backpropagation (each gradient "
        f"{_GRADIENT}). Answers within 1% are right.</p>\n"
        "<table><thead><tr><th>variable</th><th>value</th><th>gradient</th></tr></thead>"
        f"<tbody>\n{chr(10).join(rows)}\n</tbody></table>\n"
        "<p>The gradient with respect to each input:</p>\n"
        f"<table><tbody>{inputs}</tbody></table>"
    )


def general_feedback(variant: Variant) -> str:
    """The worked forward and backward pass, shown after an attempt."""
    notation = explain.Notation()
    formulas = variant.local_formulas
    sections = (explain.forward_pass(variant.result, notation),
                explain.backward_pass(variant.result, notation, formulas))
    lines = [" = ".join((eq.lhs, *eq.rhs)) for section in sections for eq in section.equations]
    return f"<pre>{html.escape(chr(10).join(lines), quote=False)}</pre>"


def _cdata(text: str) -> str:
    assert "]]>" not in text, "generated text never closes a CDATA section"
    return f"<![CDATA[{text}]]>"


def question_xml(variant: Variant) -> str:
    """One ``<question type="cloze">``."""
    return (
        '  <question type="cloze">\n'
        f"    <name><text>{escape(heading(variant).text)}</text></name>\n"
        f'    <questiontext format="html"><text>{_cdata(question_text(variant))}</text>'
        "</questiontext>\n"
        f'    <generalfeedback format="html"><text>{_cdata(general_feedback(variant))}</text>'
        "</generalfeedback>\n"
        f"    <penalty>{PENALTY}</penalty>\n"
        "    <hidden>0</hidden>\n"
        f"    <idnumber>chainrule-{variant.seed}-{variant.id}</idnumber>\n"
        "  </question>\n"
    )


def moodle_xml(variants: Sequence[Variant], category: str) -> str:
    """The quiz file: a category, then one cloze question per variant."""
    head = (
        '<?xml version="1.0" encoding="UTF-8"?>\n<quiz>\n'
        '  <question type="category">\n'
        f"    <category><text>$course$/top/{escape(category)}</text></category>\n"
        "  </question>\n"
    )
    return head + "".join(question_xml(v) for v in variants) + "</quiz>\n"
