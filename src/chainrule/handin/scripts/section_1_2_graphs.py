"""Section 1.2 of exercise 1, reproduced with chainrule: the sheet's expressions A, B and C.

For each expression: the intermediate variables (one operation each), the forward
pass at the sheet's values a = 2, b = -7, c = 4, d = 1, the local derivatives, the
backward pass written out as the chain rule, the gradients, sympy's symbolic
gradients and a check of all three against finite differences. First the sheet's
example, 4(xyz + max(z, w)), with the sheet's names a..e for its variables.

Run it with ``python section_1_2_graphs.py`` (``--no-symbolic`` skips sympy).
"""

from __future__ import annotations

import argparse

from chainrule import parse
from chainrule.sheet import SHEET_EXPRESSIONS, SHEET_VALUES
from chainrule.show.explain import explain

SHEET_EXAMPLE = r"4(xyz + \max(z, w))"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-symbolic", dest="symbolic", action="store_false",
                        help="leave out sympy's gradients and the verification")
    args = parser.parse_args(argv)
    example = parse(SHEET_EXAMPLE, names="letters")
    print(f"The sheet's example f = {SHEET_EXAMPLE}, intermediate variables:")
    print("\n".join(f"  {line}" for line in str(example).splitlines()))
    values = ", ".join(f"{name} = {value:g}" for name, value in SHEET_VALUES.items())
    for label, text in SHEET_EXPRESSIONS.items():
        result = parse(text).evaluate(SHEET_VALUES)
        print(f"\n{'=' * 78}\nExpression {label} = {text}  at {values}\n")
        print(explain(result, symbolic=args.symbolic))
        gradients = ", ".join(f"d{label}/d{name} = {g:.6g}" for name, g in result.gradients.items())
        print(f"\nSummary: {label} = {result.value:.10g}; {gradients}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
