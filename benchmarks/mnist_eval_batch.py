"""How fast each preset's network evaluates the 10,000 test images, by layout and batch size.

Times ``predict_logits`` (what ``chainrule mnist evaluate`` and the trainer's
validation and test passes run) on freshly initialised networks of every preset,
in both memory layouts, the batch sizes interleaved and repeated so that a busy
moment hits them all:

    .venv/bin/python -m benchmarks.mnist_eval_batch [--repeats 3] [--threads 2]

prints a Markdown table (median seconds per 10,000 images, and each one against
the baseline: NCHW in batches of 1000, what ``evaluate`` ran before) headed by
the CPU and its capability.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from benchmarks.machine import torch_machine
from chainrule.mnist.config import PRESETS
from chainrule.mnist.evaluate import load_test_split
from chainrule.mnist.models import build_model
from chainrule.mnist.train import predict_logits

BATCH_SIZES = (1000, 500, 256, 128)
BASELINE = 1000
LAYOUTS = {"NCHW": torch.contiguous_format, "channels_last": torch.channels_last}


def time_batches(model: torch.nn.Module, images: torch.Tensor, repeats: int) -> dict[int, float]:
    """Median seconds of one pass over ``images`` at each batch size, interleaved."""
    predict_logits(model, images[:BASELINE])  # warm the kernels up
    times: dict[int, list[float]] = {size: [] for size in BATCH_SIZES}
    for _ in range(repeats):
        for size in BATCH_SIZES:
            start = time.perf_counter()
            predict_logits(model, images, batch_size=size)
            times[size].append(time.perf_counter() - start)
    return {size: statistics.median(values) for size, values in times.items()}


def table(rows: dict[tuple[str, str], dict[int, float]]) -> str:
    """The Markdown table: one row per preset and layout, seconds and the ratio to the baseline."""
    head = "| preset | layout | " + " | ".join(f"batch {size}" for size in BATCH_SIZES) + " |"
    lines = [head, "|---" * (len(BATCH_SIZES) + 2) + "|"]
    for (name, layout), seconds in rows.items():
        baseline = rows[name, "NCHW"][BASELINE]
        cells = [f"{seconds[size]:.2f} s ({seconds[size] / baseline:.2f}×)"
                 for size in BATCH_SIZES]  # fmt: skip
        lines.append(f"| {name} | {layout} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3, help="passes per batch size")
    parser.add_argument("--threads", type=int, default=2, help="torch threads")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    images, _ = load_test_split(None)
    rows = {}
    for name, config in PRESETS.items():
        torch.manual_seed(0)
        model = build_model(config).eval()
        for layout, memory_format in LAYOUTS.items():
            model = model.to(memory_format=memory_format)  # type: ignore[call-overload]
            rows[name, layout] = time_batches(model, images, args.repeats)
        print(f"{name}: done", flush=True)
    print(f"\n{torch_machine()}, {args.threads} threads; seconds per 10,000 test images, "
          f"median of {args.repeats}:\n")  # fmt: skip
    print(table(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
