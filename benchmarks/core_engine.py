"""Speed of the core engine against a micrograd-style engine and PyTorch scalars.

Workloads (issue 2), each run forward and backward separately, garbage collector on:
  W1  a sum of 50,000 products: a chain 100,000 operations deep
  W2  a 32-48-48-1 ReLU MLP on 13 scalar samples with a squared loss (~100k operations)
plus the vectorized evaluation of the sheet's expression B at 1,000,000 points against
the same formulas written in numpy, and parsing the sum of 50,000 products (200k nodes).

Run:  .venv/bin/python -m benchmarks.core_engine [--repeat 5]
      .venv/bin/python -m benchmarks.core_engine --only parse --parse-baseline OLD/src
"""

from __future__ import annotations

import argparse
import itertools
import math
import os
import random
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

import numpy as np

import chainrule
from chainrule import GraphBuilder

# ---------------------------------------------------------------- micrograd-style baseline


class Value:
    """micrograd's Value: a scalar with a closure for its local backward step."""

    __slots__ = ("_backward", "_prev", "data", "grad")

    def __init__(self, data: float, children: tuple[Value, ...] = ()) -> None:
        self.data = data
        self.grad = 0.0
        self._backward: Callable[[], None] = lambda: None
        self._prev = children

    def __add__(self, other: Value) -> Value:
        out = Value(self.data + other.data, (self, other))

        def _backward() -> None:
            self.grad += out.grad
            other.grad += out.grad

        out._backward = _backward
        return out

    def __mul__(self, other: Value) -> Value:
        out = Value(self.data * other.data, (self, other))

        def _backward() -> None:
            self.grad += other.data * out.grad
            other.grad += self.data * out.grad

        out._backward = _backward
        return out

    def __sub__(self, other: Value) -> Value:
        out = Value(self.data - other.data, (self, other))

        def _backward() -> None:
            self.grad += out.grad
            other.grad -= out.grad

        out._backward = _backward
        return out

    def relu(self) -> Value:
        out = Value(self.data if self.data > 0 else 0.0, (self,))

        def _backward() -> None:
            self.grad += (out.data > 0) * out.grad

        out._backward = _backward
        return out

    def backward(self) -> None:
        # micrograd's topological sort, made iterative: its recursive one overflows at W1's depth.
        topo: list[Value] = []
        visited: set[int] = set()
        stack: list[tuple[Value, bool]] = [(self, False)]
        while stack:
            node, expanded = stack.pop()
            if expanded:
                topo.append(node)
            elif id(node) not in visited:
                visited.add(id(node))
                stack.append((node, True))
                stack.extend((child, False) for child in node._prev)
        self.grad = 1.0
        for node in reversed(topo):
            node._backward()


# ---------------------------------------------------------------- workloads as op-recorders


class Recorder:
    """Builds a workload once against an abstract API, for each engine."""

    def __init__(self, leaf: Callable[[str, float], Any], ops: dict[str, Callable[..., Any]]):
        self.leaf = leaf
        self.ops = ops


def w1(rec: Recorder, terms: int = 50_000) -> Any:
    rng = random.Random(1)
    total = None
    for i in range(terms):
        product = rec.ops["mul"](rec.leaf(f"x{i}", rng.uniform(-1, 1)),
                                 rec.leaf(f"y{i}", rng.uniform(-1, 1)))
        total = product if total is None else rec.ops["add"](total, product)
    return total


def w2(rec: Recorder, sizes: tuple[int, ...] = (32, 48, 48, 1), samples: int = 13) -> Any:
    rng = random.Random(2)
    layers = [
        [[rec.leaf(f"w{k}_{j}_{i}", rng.gauss(0, 1 / math.sqrt(n_in))) for i in range(n_in)]
         for j in range(n_out)]
        for k, (n_in, n_out) in enumerate(itertools.pairwise(sizes))
    ]
    loss = None
    for s in range(samples):
        activations = [rec.leaf(f"x{s}_{i}", rng.uniform(-1, 1)) for i in range(sizes[0])]
        for k, layer in enumerate(layers):
            outputs = []
            for weights in layer:
                acc = rec.ops["mul"](weights[0], activations[0])
                for w, a in zip(weights[1:], activations[1:], strict=True):
                    acc = rec.ops["add"](acc, rec.ops["mul"](w, a))
                outputs.append(acc if k == len(layers) - 1 else rec.ops["relu"](acc))
            activations = outputs
        error = rec.ops["sub"](activations[0], rec.leaf(f"t{s}", rng.uniform(-1, 1)))
        square = rec.ops["mul"](error, error)
        loss = square if loss is None else rec.ops["add"](loss, square)
    return loss


WORKLOADS = {"W1 sum of products": w1, "W2 MLP 32-48-48-1 x13": w2}


def build_chainrule(
    workload: Callable[[Recorder], Any],
) -> tuple[chainrule.Graph, dict[str, float]]:
    """The workload's graph, compiled by one evaluation, and its input values."""
    builder = GraphBuilder()
    values: dict[str, float] = {}

    def leaf(name: str, value: float) -> int:
        values[name] = value
        return builder.input(name)

    ops = {name: (lambda op: lambda *a: builder.apply(op, *a))(name)
           for name in ("add", "mul", "sub", "relu")}
    graph = builder.build(workload(Recorder(leaf, ops)))
    graph.evaluate(values)  # compile once, as a user evaluating a graph repeatedly would
    return graph, values


def run_chainrule(workload: Callable[[Recorder], Any]) -> tuple[float, float, float, int]:
    build_start = time.perf_counter()
    graph, values = build_chainrule(workload)
    build = time.perf_counter() - build_start
    start = time.perf_counter()
    result = graph.evaluate(values, gradients=False)
    middle = time.perf_counter()
    result.backward()
    end = time.perf_counter()
    return build, middle - start, end - middle, len(graph.equations)


def run_micrograd(workload: Callable[[Recorder], Any]) -> tuple[float, float, float, int]:
    ops = {"add": Value.__add__, "mul": Value.__mul__, "sub": Value.__sub__,
           "relu": Value.relu}
    leaves: dict[str, Value] = {}
    start = time.perf_counter()
    out = workload(Recorder(lambda n, v: leaves.setdefault(n, Value(v)), ops))
    middle = time.perf_counter()
    out.backward()
    end = time.perf_counter()
    return 0.0, middle - start, end - middle, 0


def run_torch(workload: Callable[[Recorder], Any]) -> tuple[float, float, float, int]:
    import torch

    torch.set_num_threads(1)
    ops = {"add": torch.add, "mul": torch.mul, "sub": torch.sub, "relu": torch.relu}
    leaves: dict[str, Any] = {}

    def leaf(name: str, value: float) -> Any:
        if name not in leaves:
            leaves[name] = torch.tensor(value, dtype=torch.float64, requires_grad=True)
        return leaves[name]

    start = time.perf_counter()
    out = workload(Recorder(leaf, ops))
    middle = time.perf_counter()
    out.backward()
    end = time.perf_counter()
    return 0.0, middle - start, end - middle, 0


ENGINES: dict[str, Callable[[Callable[[Recorder], Any]], tuple[float, float, float, int]]] = {
    "chainrule": run_chainrule,
    "micrograd-style": run_micrograd,
    "torch 0-dim": run_torch,
}


def bench_engines(repeat: int) -> None:
    print("The baselines build their graph during the forward pass; chainrule builds and "
          "compiles it once (the build column), then evaluates it.\n")
    print("| workload | engine | ops | build ms | forward ms | backward ms | µs/op fwd+bwd "
          "| vs chainrule | µs/op incl. build |")
    print("|---|---|---|---|---|---|---|---|---|")
    for label, workload in WORKLOADS.items():
        per_op: dict[str, float] = {}
        ops_count = 0
        for engine, run in ENGINES.items():
            runs = [run(workload) for _ in range(repeat)]
            build, forward, backward = (statistics.median(r[k] for r in runs) for k in range(3))
            ops_count = runs[0][3] or ops_count
            per_op[engine] = (forward + backward) / ops_count * 1e6
            total = (build + forward + backward) / ops_count * 1e6
            ratio = per_op[engine] / per_op["chainrule"]
            print(f"| {label} | {engine} | {ops_count:,} | {build * 1e3:.0f} | "
                  f"{forward * 1e3:.1f} | {backward * 1e3:.1f} | {per_op[engine]:.2f} | "
                  f"{ratio:.1f}× | {total:.2f} |")


def bench_full_call(repeat: int) -> None:
    """What a user pays: the whole ``graph.evaluate(**values)`` against the closure engine."""
    print("\nThe whole call a user makes, `graph.evaluate(**values)` (input checks, forward "
          "and backward passes, finiteness checks, the Result), against the micrograd-style "
          f"engine's forward + backward; interleaved, median of {repeat}:\n")
    print("| workload | ops | chainrule evaluate(**values) µs/op | micrograd-style µs/op "
          "| micrograd-style / chainrule |")
    print("|---|---|---|---|---|")
    for label, workload in WORKLOADS.items():
        graph, values = build_chainrule(workload)
        ours, theirs = [], []
        for _ in range(repeat):
            ours.append(_timed(lambda: graph.evaluate(**values)))  # noqa: B023
            _, forward, backward, _ = run_micrograd(workload)
            theirs.append(forward + backward)
        ops_count = len(graph.equations)
        us_ours, us_theirs = (statistics.median(t) / ops_count * 1e6 for t in (ours, theirs))
        print(f"| {label} | {ops_count:,} | {us_ours:.2f} | {us_theirs:.2f} | "
              f"{us_theirs / us_ours:.1f}× |")


def expression_b_numpy(a: Any, b: Any, c: Any, d: Any) -> tuple[Any, dict[str, Any]]:
    """The sheet's B = sqrt(a + b + c^3) + log(a/d) and its gradient, written by hand."""
    root = np.sqrt(a + b + c**3)
    value = root + np.log(a / d)
    half = 0.5 / root
    return value, {"a": half + 1.0 / a, "b": half, "c": 3.0 * c * c * half, "d": -1.0 / d}


def vectorized_variants(points: int = 1_000_000) -> dict[str, Callable[[], Any]]:
    """The sheet's expression B at ``points`` random points, three ways, checked equal."""
    rng = np.random.default_rng(0)
    inputs = {"a": rng.uniform(1, 3, points), "b": rng.uniform(-1, 1, points),
              "c": rng.uniform(0, 2, points), "d": rng.uniform(0.5, 2, points)}
    graph = chainrule.parse(r"\sqrt{a + b + c^3} + \log\left(\frac{a}{d}\right)")
    expected_value, expected_grads = expression_b_numpy(**inputs)
    for keep in (True, False):
        result = graph.evaluate(inputs, keep_intermediates=keep)
        assert np.allclose(result.value, expected_value)
        assert all(np.allclose(result.gradients[k], expected_grads[k]) for k in expected_grads)
    return {
        "hand-written numpy": lambda: expression_b_numpy(**inputs),
        "chainrule, every node kept": lambda: graph.evaluate(inputs).gradients,
        "chainrule, keep_intermediates=False":
            lambda: graph.evaluate(inputs, keep_intermediates=False).gradients,
    }


def bench_vectorized(repeat: int) -> None:
    variants = vectorized_variants()
    # Interleaved, so that every variant meets the same machine load and allocator state.
    times: dict[str, list[float]] = {label: [] for label in variants}
    for _ in range(repeat):
        for label, variant in variants.items():
            times[label].append(_timed(variant))
    medians = {label: statistics.median(samples) for label, samples in times.items()}
    _print_vectorized(f"interleaved, median of {repeat}", medians)


def bench_vectorized_alone(repeat: int) -> None:
    """Each variant in a process of its own: the allocator's state is the variant's own."""
    medians = {}
    for label in vectorized_variants(points=10):
        command = [sys.executable, "-m", "benchmarks.core_engine", "--repeat", str(repeat),
                   "--time-variant", label]
        medians[label] = float(subprocess.run(command, capture_output=True, text=True,
                                              check=True).stdout)
    _print_vectorized(f"each alone in its own process, median of {repeat}", medians)


def _time_variant(label: str, repeat: int) -> None:
    variant = vectorized_variants()[label]
    print(statistics.median(_timed(variant) for _ in range(repeat)))


def _print_vectorized(how: str, medians: dict[str, float]) -> None:
    print(f"\nexpression B at 1,000,000 points, value + 4 gradients ({how}):")
    print("| variant | ms | vs numpy |\n|---|---|---|")
    t_numpy = medians["hand-written numpy"]
    for label, t in medians.items():
        print(f"| {label} | {t * 1e3:.1f} | {t / t_numpy:.2f}× |")


def bench_parse(repeat: int, baseline_src: str | None = None, terms: int = 50_000) -> None:
    """Parse + build of the sum of 50,000 products (200k nodes, issue 11's case) in nodes/s.

    CPU time (``process_time``), so that other jobs on a shared machine count less.
    With ``baseline_src`` (another checkout's ``src/``, e.g. a worktree of main before
    a change) the same parse runs there too: fresh processes, alternating, so both
    meet the same load.
    """
    sources = {"this checkout": None} | ({f"baseline {baseline_src}": baseline_src}
                                          if baseline_src else {})
    times: dict[str, list[float]] = {label: [] for label in sources}
    for _ in range(repeat):
        for label, src in sources.items():
            times[label].extend(_parse_times_in_process(src, terms))
    text = _sum_of_products(terms)
    nodes = len(chainrule.parse(text).nodes)
    print(f"\nparse + build of the sum of {terms:,} products ({nodes:,} nodes, "
          f"{len(text):,} characters), CPU seconds, {len(times['this checkout'])} parses "
          f"in {repeat} processes each:")
    print("| code | min ms | median ms | nodes/s (median) |\n|---|---|---|---|")
    for label, samples in times.items():
        median = statistics.median(samples)
        print(f"| {label} | {min(samples) * 1e3:.0f} | {median * 1e3:.0f} | "
              f"{nodes / median:,.0f} |")


def _sum_of_products(terms: int) -> str:
    return " + ".join(f"x{i}*y{i}" for i in range(terms))


def _parse_times_in_process(src: str | None, terms: int) -> list[float]:
    """CPU seconds of three parses in a fresh interpreter importing chainrule from ``src``."""
    env = dict(os.environ)
    if src is not None:
        env["PYTHONPATH"] = os.pathsep.join([src, env.get("PYTHONPATH", "")])
    command = [sys.executable, "-m", "benchmarks.core_engine", "--time-parse", str(terms)]
    output = subprocess.run(command, capture_output=True, text=True, check=True, env=env)
    return [float(line) for line in output.stdout.split()]


def _time_parse(terms: int, parses: int = 3) -> None:
    text = _sum_of_products(terms)
    for _ in range(parses):
        start = time.process_time()
        chainrule.parse(text)
        print(time.process_time() - start)


def _timed(fn: Callable[[], Any]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--only", choices=["parse"], help="run only this benchmark")
    parser.add_argument("--parse-baseline", metavar="SRC",
                        help="another checkout's src/ to time the parse against")
    parser.add_argument("--time-variant", help=argparse.SUPPRESS)  # bench_vectorized_alone's
    parser.add_argument("--time-parse", type=int, help=argparse.SUPPRESS)  # bench_parse's
    args = parser.parse_args()
    if args.time_variant:
        _time_variant(args.time_variant, args.repeat)
        return
    if args.time_parse:
        _time_parse(args.time_parse)
        return
    if args.only == "parse":
        bench_parse(args.repeat, args.parse_baseline)
        return
    bench_engines(args.repeat)
    bench_full_call(args.repeat)
    bench_vectorized(args.repeat)
    bench_vectorized_alone(args.repeat)
    bench_parse(args.repeat, args.parse_baseline)


if __name__ == "__main__":
    main()
