"""Time to draw a graph: Graphviz's dot against the built-in renderer, same graphs.

Graphs, each with values and gradients (so every edge carries a label):
  sheet A, B, C           the exercise sheet's expressions (7-12 nodes)
  tree N                  a random expression over 8 inputs, N operations, little reuse
  chain N                 x·x·…·x, N products all reusing x: edges cross many layers

For each: the layers its edges cross in all (chainrule.show.layout.total_span, what
``auto`` compares with DOT_SPAN_LIMIT), then seconds for dot (SVG), the built-in
SVG and the built-in PNG. dot runs with a timeout; ">T" means it did not finish.

Run:  .venv/bin/python -m benchmarks.render [--dot-timeout 90]
"""

from __future__ import annotations

import argparse
import random
import subprocess
import time

import chainrule
from chainrule import Graph, GraphBuilder
from chainrule.show.dot import dot_program, to_dot
from chainrule.show.layout import total_span
from chainrule.show.picture import picture
from chainrule.show.render import DOT_SPAN_LIMIT, render

SHEET = {
    "A": r"(a - (b \cdot c)) \cdot d",
    "B": r"\sqrt{a + b + c^3} + \log\left(\frac{a}{d}\right)",
    "C": r"d - \exp^{(a+b) \cdot c}",
}


def chain(length: int) -> Graph:
    builder = GraphBuilder()
    x = product = builder.input("x")
    for _ in range(length):
        product = builder.apply("mul", product, x)
    return builder.build(product)


def tree(operations: int, seed: int = 0) -> Graph:
    """A random formula: each operation combines the newest result with a fresh input
    or an earlier result, so inputs are reused but edges stay fairly short."""
    rng = random.Random(seed)
    builder = GraphBuilder()
    results = [builder.input(f"x{rng.randrange(8)}")]
    for _ in range(operations):
        if rng.random() < 0.6:
            other = builder.input(f"x{rng.randrange(8)}")
        else:
            other = results[rng.randrange(max(0, len(results) - 4), len(results))]
        results.append(builder.apply(rng.choice(["add", "mul", "sub"]), results[-1], other))
    return builder.build(results[-1])


def seconds(action: object) -> float:
    start = time.perf_counter()
    action()  # type: ignore[operator]
    return time.perf_counter() - start


def dot_seconds(graph: Graph, result: chainrule.Result, timeout: float) -> str:
    program = dot_program()
    if program is None:
        return "no dot"
    text = to_dot(graph, result).encode()
    start = time.perf_counter()
    try:
        subprocess.run(
            [program, "-Tsvg"], input=text, capture_output=True, timeout=timeout, check=True
        )
    except subprocess.TimeoutExpired:
        return f">{timeout:g}"
    return f"{time.perf_counter() - start:.2f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dot-timeout", type=float, default=90.0)
    args = parser.parse_args()
    graphs = [(f"sheet {name}", chainrule.parse(text)) for name, text in SHEET.items()]
    graphs += [(f"tree {n}", tree(n)) for n in (50, 100, 200)]
    graphs += [(f"chain {n}", chain(n)) for n in (30, 50, 70, 200)]
    render(graphs[0][1], None, "png", engine="builtin")  # import matplotlib outside the timings
    print(f"DOT_SPAN_LIMIT = {DOT_SPAN_LIMIT}")
    print("| graph | nodes | span | auto picks | dot SVG s | builtin SVG s | builtin PNG s |")
    print("|---|---|---|---|---|---|---|")
    for name, graph in graphs:
        result = graph.evaluate(dict.fromkeys(graph.inputs, 0.5))
        drawing = picture(graph, result)
        edges = [(edge.source, edge.target) for edge in drawing.edges]
        inputs = [i for i, node in enumerate(graph.nodes) if node.kind == "input"]
        span = total_span(len(graph.nodes), edges, inputs)
        picks = "dot" if span <= DOT_SPAN_LIMIT else "builtin"
        builtin_svg = seconds(lambda g=graph, r=result: render(g, r, "svg", engine="builtin"))
        builtin_png = seconds(lambda g=graph, r=result: render(g, r, "png", engine="builtin"))
        dot = dot_seconds(graph, result, args.dot_timeout)
        print(
            f"| {name} | {len(graph.nodes)} | {span} | {picks} | {dot} | "
            f"{builtin_svg:.2f} | {builtin_png:.2f} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
