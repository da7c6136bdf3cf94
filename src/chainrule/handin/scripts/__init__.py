"""The plain scripts of the hand-in, copied into the zip as they are.

Each reproduces one section of the report with chainrule's API, runs in a fresh
Python process (``python section_1_2_graphs.py``) and finishes within minutes on
2 cores; :data:`SCRIPTS` names them in the order the zip lists them. They sit in
the package so that ruff, mypy and the tests check them like any other module.
"""

from __future__ import annotations

from pathlib import Path

FOLDER = Path(__file__).resolve().parent

SCRIPTS = {
    "section_1_2_graphs.py": "section 1.2: intermediate variables, forward and backward pass "
                             "of the sheet's expressions A, B and C",
    "section_1_3_vanishing.py": "section 1.3: the sigmoid's derivative, dy/dx of the sigmoid "
                                "chain by the chain rule, vanishing and exploding chains",
    "section_1_4_training.py": "section 1.4: trains the report's two digit recognizers on MNIST "
                               "with chainrule's trainer (--subset N for a quick check)",
}
"""File name -> what it reproduces (for README.txt)."""
