"""Random expressions over the whole op registry, for the hypothesis tests of the engine.

Shared by tests/test_ops.py and tests/test_engine_properties.py, which each had
their own copy.
"""

from hypothesis import strategies as st

from chainrule import OPS, Op


def written(op: Op, args: list[str]) -> str:
    """``op`` applied to ``args`` in the plain syntax, every argument parenthesised."""
    if op.form == "infix":
        return f"({args[0]}) {op.symbol} ({args[1]})"
    if op.form == "prefix":
        return f"{op.symbol}({args[0]})"
    return f"{op.symbol}({', '.join(args)})"


def expressions(leaves: list[str], max_leaves: int) -> st.SearchStrategy[str]:
    """Fully parenthesised expressions of any registry ops over ``leaves``."""

    def extend(children: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
        return st.sampled_from(list(OPS.values())).flatmap(
            lambda op: st.lists(children, min_size=op.arity, max_size=op.arity).map(
                lambda args: written(op, args)
            )
        )

    return st.recursive(st.sampled_from(leaves), extend, max_leaves=max_leaves)
