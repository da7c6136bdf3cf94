"""What one float32 training step of the ``best`` network costs, per image, by width and batch.

Times forward, backward and an SGD step on random batches in channels_last (as the
trainer runs them), the configurations interleaved and repeated:

    .venv/bin/python -m benchmarks.mnist_step [--widths 16 24 32] [--batches 64 128 256]

prints a Markdown table of median milliseconds per image, headed by the CPU.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
import torch.nn.functional as F

from benchmarks.machine import torch_machine
from chainrule.mnist.models import best_cnn

STEPS = 6  # timed steps per repeat, after two to warm up


def step_time(width: int, batch: int) -> float:
    """Seconds per image of one training step (median of ``STEPS`` steps)."""
    model = best_cnn(width, 0.1).to(memory_format=torch.channels_last)  # type: ignore[call-overload]
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    x = torch.randn(batch, 1, 28, 28).contiguous(memory_format=torch.channels_last)
    y = torch.randint(0, 10, (batch,))
    times = []
    for step in range(STEPS + 2):
        start = time.perf_counter()
        optimizer.zero_grad()
        F.cross_entropy(model(x), y).backward()  # type: ignore[no-untyped-call]
        optimizer.step()
        if step >= 2:
            times.append((time.perf_counter() - start) / batch)
    return statistics.median(times)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--widths", type=int, nargs="+", default=[16, 24, 32])
    parser.add_argument("--batches", type=int, nargs="+", default=[64, 128, 256])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    cells = [(w, b) for w in args.widths for b in args.batches]
    times: dict[tuple[int, int], list[float]] = {cell: [] for cell in cells}
    for _ in range(args.repeats):
        for cell in cells:
            times[cell].append(step_time(*cell))
    print(f"{torch_machine()}, {args.threads} threads; ms per image of a float32 step, "
          f"median of {args.repeats}:\n")  # fmt: skip
    print("| width | " + " | ".join(f"batch {b}" for b in args.batches) + " |")
    print("|---" * (len(args.batches) + 1) + "|")
    for width in args.widths:
        row = [f"{1e3 * statistics.median(times[width, b]):.2f}" for b in args.batches]
        print(f"| {width} | " + " | ".join(row) + " |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
