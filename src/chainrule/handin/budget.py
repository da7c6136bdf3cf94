"""How much a hand-in computes: the report's budget and the notebook's training images.

Light on imports, so that ``chainrule handin --help`` lists the budgets without loading
the report.

>>> HANDIN_BUDGETS["quick"].notebook_subset, HANDIN_BUDGETS["full"].notebook_subset
(10000, 0)
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class HandinBudget:
    """One level of effort for the whole hand-in."""

    name: str
    report_budget: str  # a key of chainrule.report.budget.BUDGETS
    notebook_subset: int  # the notebook trains on the first N training images; 0: all of them


HANDIN_BUDGETS = {
    # 10,000 images: the bonus network reaches 95.9% on the whole test set, in about a minute.
    "quick": HandinBudget("quick", "quick", 10_000),
    "full": HandinBudget("full", "full", 0),
    "test": HandinBudget("test", "test", 10_000),  # the test suite's: a small report
}
"""The budgets by name; ``test`` is hidden from ``--help`` like the report's."""
