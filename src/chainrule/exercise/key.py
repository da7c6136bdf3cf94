"""``key.json``: the answers of every variant, the contract ``chainrule check --key`` reads.

One object per variant, exactly these keys::

    {"id": 1, "seed": 7, "expression": str, "latex": str, "at": {"a": 2, ...},
     "value": float, "gradients": {"a": float, ...},
     "steps": [{"name": "v1", "expr": "b * c", "value": float, "grad": float}, ...]}

``expression`` is the equation ``f(a, b, ...) = ...`` in the plain syntax
(``chainrule graph EXPRESSION`` names its steps the same: v1, v2, ..., f), ``at``
holds integers, ``steps`` are the operations in forward order with their values
and gradients (d output / d step), all from the engine.

>>> from chainrule.exercise.options import ExerciseOptions
>>> from chainrule.exercise.generator import generate
>>> entry = key_entry(generate(ExerciseOptions(count=1, seed=7))[0])
>>> list(entry)
['id', 'seed', 'expression', 'latex', 'at', 'value', 'gradients', 'steps']
>>> list(entry["steps"][0])
['name', 'expr', 'value', 'grad']
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from chainrule.exercise.generator import Variant

KEY_FILE = "key.json"


def key_entry(variant: Variant) -> dict[str, Any]:
    """The key of one variant."""
    result = variant.result
    return {
        "id": variant.id,
        "seed": variant.seed,
        "expression": variant.expression,
        "latex": variant.latex,
        "at": dict(variant.at),
        "value": float(result.value),
        "gradients": {name: float(g) for name, g in result.gradients.items()},
        "steps": [
            {"name": step.name, "expr": step.expr, "value": float(step.value),
             "grad": float(step.grad)}
            for step in result.steps
        ],
    }


def key_json(variants: Sequence[Variant]) -> str:
    """The whole key file: a JSON list, one entry per variant, in id order."""
    return json.dumps([key_entry(v) for v in variants], indent=2, allow_nan=False) + "\n"
