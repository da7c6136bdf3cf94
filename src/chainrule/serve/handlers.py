"""What each API endpoint computes, as plain functions of the request body.

These run in the worker processes of :mod:`chainrule.serve.workers` (never on the
server's event loop), and reuse what the command line does: ``/api/graph`` is
``chainrule graph --format json`` (:func:`chainrule.show.tables.document`) plus the picture of
:func:`chainrule.show.render.render` and the worked solution of
:func:`chainrule.show.explain.explain`; ``/api/chain`` is ``chainrule chain
--format json``; ``/api/predict`` is ``chainrule mnist predict``'s preprocessing
and network.

>>> doc = graph_document({"expression": "(a - b*c)*d", "at": {"a": 2, "b": -7, "c": 4, "d": 1}})
>>> doc["output"], doc["gradients"]["c"]
({'name': 'v3', 'value': 30.0}, 7.0)
>>> [step["text"] for step in doc["walkthrough"]][4:6]
['v1 = b · c = (−7)(4) = −28', 'v2 = a − v1 = 2 − (−28) = 30']
>>> doc["svg"].count('class="node"'), doc["defaulted"]
(7, [])
"""

from __future__ import annotations

import base64
import binascii
import functools
import io
import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from chainrule.core.evaluate import Result
from chainrule.core.graph import Graph
from chainrule.core.parser import Syntax, parse
from chainrule.errors import ChainruleError
from chainrule.serve.bodies import (
    RequestError,
    bool_field,
    choice_field,
    number_field,
    number_list,
    numbers_by_name,
    text_field,
)
from chainrule.show import explain as worked
from chainrule.show.picture import picture
from chainrule.show.render import render
from chainrule.show.tables import document as graph_json

if TYPE_CHECKING:
    import sympy
    from torch import nn

    Formulas = dict[tuple[int, int], sympy.Expr]

MAX_OPERATIONS = worked.EXPLAIN_MAX_OPS
"""The largest graph the playground takes: the engine's limit for a worked solution."""

DEFAULT_VALUE = 1.0
"""The value of an input the request gives none for (listed under ``"defaulted"``)."""

SYNTAXES: tuple[Syntax, ...] = ("auto", "plain", "latex")


# ---------------------------------------------------------------- /api/graph


def parse_request(body: dict[str, Any]) -> Graph:
    """The request's expression as a graph, refused above :data:`MAX_OPERATIONS`."""
    expression = text_field(body, "expression")
    graph = parse(expression, syntax=choice_field(body, "syntax", SYNTAXES, "auto"))
    if len(graph.equations) > MAX_OPERATIONS:
        raise RequestError(
            f"the expression has {len(graph.equations):,} operations; the playground "
            f"draws and explains up to {MAX_OPERATIONS:,}"
        )
    return graph


def input_values(body: dict[str, Any], graph: Graph) -> dict[str, float]:
    """The request's ``at`` for the graph's inputs (a missing one at :data:`DEFAULT_VALUE`)."""
    given = numbers_by_name(body, "at")
    return {name: given.get(name, DEFAULT_VALUE) for name in graph.inputs}


def evaluate_request(body: dict[str, Any], graph: Graph) -> Result:
    """The graph evaluated at the request's values."""
    return graph.evaluate(input_values(body, graph), allow_nan=bool_field(body, "allow_nan", False))


def graph_document(body: dict[str, Any]) -> dict[str, Any]:
    """``chainrule graph --format json`` plus ``svg``, ``explanation`` and ``walkthrough``.

    ``explain`` picks the worked solution's format (text, markdown, latex) and
    ``symbolic`` adds sympy's closed forms and formulas to it (slower).
    """
    graph = parse_request(body)
    result = evaluate_request(body, graph)
    form = choice_field(body, "explain", worked.FORMATS, "text")
    symbolic = bool_field(body, "symbolic", False)
    document = graph_json(result)
    document["defaulted"] = [name for name in graph.inputs if name not in body.get("at", {})]
    document["svg"] = render(graph, result, "svg", engine="builtin")
    document["explanation"] = worked.explain(result, form, symbolic=symbolic)
    syntax = choice_field(body, "syntax", SYNTAXES, "auto")
    document["walkthrough"] = walkthrough(result, formulas_of(body["expression"], syntax))
    return document


@functools.lru_cache(maxsize=256)
def formulas_of(expression: str, syntax: Syntax) -> Formulas | None:
    """The local derivatives' formulas, once per expression: a value edit keeps them.

    None above the explanation's sympy limit (:data:`~chainrule.show.explain.SYMBOLIC_MAX_OPS`).
    """
    graph = parse(expression, syntax=syntax)
    return worked.local_formulas(graph) if len(graph.equations) <= worked.SYMBOLIC_MAX_OPS else None


def walkthrough(result: Result, formulas: Formulas | None = None) -> list[dict[str, Any]]:
    """The forward and the backward pass one node at a time, as the worked solution has them.

    Each step names the node to highlight (``node``: its index, the picture's
    ``id="node{i}"``), the edges that take part (indices, ``id="edge{k}"``: into
    the node going forward, out of it going back) and the line of the worked
    solution (:mod:`chainrule.show.explain`, plain text) for that step;
    ``formulas`` are :func:`formulas_of` the graph's expression (computed if not given).
    """
    graph = result.graph
    notation = worked.Notation()
    if formulas is None and len(graph.equations) <= worked.SYMBOLIC_MAX_OPS:
        formulas = worked.local_formulas(graph)  # as --explain writes them
    edges = [(edge.source, edge.target) for edge in picture(graph).edges]
    out = graph.nodes[graph.output].name
    forward = {notation.name(node.name): i for i, node in enumerate(graph.nodes)}
    backward = {notation.partial(out, node.name): i for i, node in enumerate(graph.nodes)}
    steps = []
    for kind, section, nodes, touches in (
        ("forward", worked.forward_pass(result, notation), forward, 1),
        ("backward", worked.backward_pass(result, notation, formulas), backward, 0),
    ):
        for equation in section.equations:
            index = nodes[equation.lhs]
            steps.append({
                "pass": kind,
                "node": index,
                "name": graph.nodes[index].name,
                "edges": [k for k, edge in enumerate(edges) if edge[touches] == index],
                "text": " = ".join((equation.lhs, *equation.rhs)),
            })
    return steps


# ---------------------------------------------------------------- /api/check


def check_document(body: dict[str, Any]) -> dict[str, Any]:
    """``chainrule check --format json`` for a learner's ``answers`` at ``at``."""
    import chainrule

    graph = parse_request(body)
    answers = text_field(body, "answers")
    report = chainrule.check(graph, input_values(body, graph), answers)
    document: dict[str, Any] = report.to_dict()
    return document


# ---------------------------------------------------------------- /api/chain


def chain_document(body: dict[str, Any]) -> dict[str, Any]:
    """``chainrule chain --format json`` for ``weights``, ``x`` and ``activation``."""
    from chainrule.vanishing.activations import NAMES
    from chainrule.vanishing.chain import analyse

    weights = number_list(body, "weights")
    x = number_field(body, "x", 0.5)
    activation = choice_field(body, "activation", NAMES, "sigmoid")
    analysis = analyse(weights, x, activation)
    document: dict[str, Any] = analysis.to_dict()
    return document


# ---------------------------------------------------------------- /api/predict

_models: dict[str, nn.Module] = {}  # checkpoint path -> network, loaded once per worker


def load_model(checkpoint: str) -> nn.Module:
    """The network of a checkpoint, kept for the worker's lifetime."""
    if checkpoint not in _models:
        from chainrule.mnist.train import load_checkpoint

        _models[checkpoint] = load_checkpoint(checkpoint)[0]
    return _models[checkpoint]


def image_bytes(body: bytes | str) -> bytes:
    """The image in a request: raw PNG/JPEG bytes, or a ``data:image/...;base64,`` URL."""
    if isinstance(body, bytes):
        return body
    head, comma, data = body.strip().partition(",")
    if not (comma and head.startswith("data:image/") and head.endswith(";base64")):
        raise RequestError("'image' must be a data URL: data:image/png;base64,...")
    try:
        return base64.b64decode(data, validate=True)
    except binascii.Error:
        raise RequestError("the data URL's base64 is corrupt") from None


def predict_document(request: dict[str, Any]) -> dict[str, Any]:
    """The digit, its ten probabilities and the 28x28 image the network saw."""
    from chainrule.mnist.predict import classify, open_image, to_mnist

    image = open_image(io.BytesIO(image_bytes(request["image"])), name="the uploaded image")
    digit = to_mnist(image, "the uploaded image")
    (prediction,) = classify(load_model(request["checkpoint"]), ["upload"], [digit])
    return {
        "digit": prediction.digit,
        "probabilities": prediction.probabilities,
        "image28": digit.tolist(),
    }


# ---------------------------------------------------------------- registry

TASKS: dict[str, Callable[[Any], Any]] = {
    "graph": graph_document,
    "check": check_document,
    "chain": chain_document,
    "predict": predict_document,
    "load_model": load_model,
    "pid": lambda _: os.getpid(),
}
"""Task name -> function; the workers run only these."""


def warm_up() -> None:
    """Import and cache what the first requests need, so that they are fast too."""
    graph_document({"expression": "sqrt(a + b) * log(a) + sigmoid(b) / a", "at": {"a": 2}})
    from chainrule.vanishing.activations import NAMES

    for activation in NAMES:
        chain_document({"weights": [1.0, 2.0], "x": 0.5, "activation": activation})


def run_task(task: str, payload: Any) -> tuple[str, Any]:
    """``("ok", result)``, ``("error", {"error", "column"})`` for bad input, or a crash."""
    from chainrule.serve.bodies import error_body

    try:
        return "ok", TASKS[task](payload)
    except ChainruleError as error:
        return "error", error_body(error)
    except RecursionError:
        return "error", {"error": "the input is nested too deeply", "column": None}
