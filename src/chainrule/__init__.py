"""chainrule: from the chain rule to a trained digit recognizer.

>>> import chainrule
>>> g = chainrule.parse("(a - b*c)*d")
>>> r = g.evaluate(a=2, b=-7, c=4, d=1)
>>> r.value, r.gradients["c"]
(30.0, 7.0)
"""

from chainrule.errors import ChainruleError, EvaluationError, ParseError
from chainrule.evaluate import Result, Step
from chainrule.graph import Graph, GraphBuilder, Node
from chainrule.ops import OPS, Op
from chainrule.parser import parse

__all__ = [
    "OPS",
    "ChainruleError",
    "EvaluationError",
    "Graph",
    "GraphBuilder",
    "Node",
    "Op",
    "ParseError",
    "Result",
    "Step",
    "parse",
]
__version__ = "0.1.0"
