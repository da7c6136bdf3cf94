"""The exercise sheet's expressions and values (section 1.2), as the sheet writes them.

>>> sorted(SHEET_EXPRESSIONS), SHEET_VALUES["b"]
(['A', 'B', 'C'], -7.0)
"""

from __future__ import annotations

SHEET_VALUES = {"a": 2.0, "b": -7.0, "c": 4.0, "d": 1.0}
SHEET_EXPRESSIONS = {
    "A": r"(a - (b \cdot c)) \cdot d",
    "B": r"\sqrt{a + b + c^3} + \log\left(\frac{a}{d}\right)",
    "C": r"d - \exp^{(a+b) \cdot c}",
}
