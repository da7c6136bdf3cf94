r"""Worked solutions in Markdown: each ``- $...$`` line's LaTeX as the hand-written notation.

``chainrule graph --explain --format markdown`` and ``chainrule exercise``'s
solutions write one equation per list item in ``$...$``; the answer file reader
takes those lines in the notation a learner types by hand, so the same grading
applies:

>>> math_line(r"- $\partial v_{7} / \partial v_{5} = \frac{1}{v_{5}} = 0.5$")
'∂v7/∂v5 = ((1)/(v5)) = 0.5'
>>> math_line(r"- $v_{4} = \sqrt{v_{3}} = \sqrt{59} = 7.68115$")
'v4 = sqrt(v3) = sqrt(59) = 7.68115'
>>> math_line("The intermediate variables are named v1, v2, ...") is None
True
"""

from __future__ import annotations

import re

_MATH_ITEM = re.compile(r"\s*[-*]\s+\$(?!\$)(.+?)\$\s*\Z")
_SUBSCRIPT = re.compile(r"([A-Za-z]+)_\{([A-Za-z0-9,]+)\}")  # v_{12} -> v12, w_{in,1} -> w_in_1
_PARTIAL = re.compile(r"\\partial\s*")
_SIMPLE = {
    r"\cdot": "*", r"\times": "*", r"\left(": "(", r"\right)": ")", r"\left[": "(",
    r"\right]": ")", r"\left|": "abs(", r"\right|": ")", r"\sigma": "sigmoid", r"\pi": "pi",
    r"\,": " ", r"\;": " ", r"\!": "",
}  # fmt: skip
_FUNCTIONS = re.compile(r"\\(log|ln|exp|max|min|tanh|sin|cos|sqrt)(?![A-Za-z])")
_OPERATOR_NAME = re.compile(r"\\(?:operatorname|mathrm|mathit)\{([A-Za-z]+)\}")
_JUXTAPOSED = re.compile(r"(?<=[A-Za-z0-9_)])\s+(?=[A-Za-z_(])")  # "3 c", "- c d": products


def _name(match: re.Match[str]) -> str:
    base, subscript = match.group(1), match.group(2)
    return base + subscript if subscript.isdigit() else f"{base}_{subscript.replace(',', '_')}"


def _groups(text: str) -> str:
    r"""``\frac{a}{b}`` -> ``((a)/(b))``, ``{...}`` -> ``(...)``: one pass, a stack of roles.

    >>> _groups(r"\frac{1}{2 \sqrt{v3}}"), _groups("c^{2}")
    ('((1)/(2 \\sqrt(v3)))', 'c^(2)')
    """
    out: list[str] = []
    roles: list[str] = []  # what each open "{" is: plain, numerator or denominator
    next_role = "plain"
    index = 0
    while index < len(text):
        if text.startswith(r"\frac", index):
            out.append("(")
            next_role, index = "numerator", index + len(r"\frac")
            continue
        char = text[index]
        index += 1
        if char == "{":
            roles.append(next_role)
            out.append("" if next_role == "denominator" else "(")
            next_role = "plain"
        elif char == "}" and roles:
            role = roles.pop()
            out.append({"numerator": ")/(", "denominator": "))"}.get(role, ")"))
            next_role = "denominator" if role == "numerator" else "plain"
        else:
            out.append(char)
    return "".join(out)


def math_line(line: str) -> str | None:
    """The equation of a Markdown math list item in plain notation, or None for other lines."""
    match = _MATH_ITEM.match(line)
    if match is None:
        return None
    text = _SUBSCRIPT.sub(_name, match.group(1))
    text = _OPERATOR_NAME.sub(r"\1", text)
    text = _PARTIAL.sub("∂", text)
    text = re.sub(r"∂\s*([A-Za-z_][A-Za-z0-9_]*)\s*/\s*∂\s*([A-Za-z_][A-Za-z0-9_]*)", r"∂\1/∂\2",
                  text)  # fmt: skip
    for latex, plain in _SIMPLE.items():
        text = text.replace(latex, plain)
    text = _groups(text)
    text = _FUNCTIONS.sub(lambda m: "log" if m.group(1) == "ln" else m.group(1), text)
    return _JUXTAPOSED.sub("*", text)
