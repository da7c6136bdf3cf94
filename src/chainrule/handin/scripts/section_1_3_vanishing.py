"""Section 1.3 of exercise 1, reproduced with chainrule: the sigmoid chain of the sheet.

(ii) sigma'(x) derived by sympy, with its maximum and its infimum; (iii) dy/dx of
the chain a_i = sigma(w_i a_(i-1)), i = 1..5, by backpropagation through the graph
and by the product formula, layer by layer (all weights 1 at x = 0.5, as in the
report); (iv, v) a vanishing and an exploding chain as they get deeper, and the
weight a layer needs to amplify the gradient at all.

Run it with ``python section_1_3_vanishing.py``.
"""

from __future__ import annotations

from chainrule.report.vanishing import EXAMPLE_X, GROWTH_DEPTHS, SHEET_DEPTH
from chainrule.vanishing.chain import analyse, exploding_example, vanishing_example
from chainrule.vanishing.facts import exploding_facts, sigmoid_derivative_facts
from chainrule.vanishing.text import to_text


def derivative() -> None:
    facts = sigmoid_derivative_facts()
    print("(ii) The derivative of the sigmoid")
    print(f"  sigma(x)  = {facts.function}")
    print(f"  sigma'(x) = {facts.derivative} = {facts.by_output}  with s = sigma(x)")
    print(f"  sigma''(x) = 0 at x = {', '.join(str(p) for p in facts.critical_points)}")
    print(f"  maximum: sigma'({facts.argmax}) = {facts.max_value} = {facts.max_float:g}")
    attained = "attained" if facts.infimum_attained else "approached as |x| -> oo, never reached"
    print(f"  infimum: {facts.infimum} ({attained}): there is no minimum")


def chain_rule() -> None:
    print(f"\n(iii) dy/dx of the sheet's chain ({SHEET_DEPTH} sigmoid layers), "
          f"all weights 1, x = {EXAMPLE_X}")
    print(to_text(analyse([1.0] * SHEET_DEPTH, EXAMPLE_X)))


def vanishing_and_exploding() -> None:
    threshold = float(exploding_facts("sigmoid").threshold)
    print("\n(iv, v) Vanishing and exploding")
    print(f"  a layer can amplify the gradient (|w sigma'(w a)| > 1) only if |w| > {threshold:g}")
    print(f"  {'depth':>5}  {'vanishing dy/dx':>16}  {'exploding dy/dx':>16}")
    for depth in GROWTH_DEPTHS:
        print(f"  {depth:>5}  {vanishing_example(depth).backprop:>16.6g}  "
              f"{exploding_example(depth).backprop:>16.6g}")


def main() -> int:
    derivative()
    chain_rule()
    vanishing_and_exploding()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
