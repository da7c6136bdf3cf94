"""Would test-time shifts or a two-network ensemble lift trained checkpoints? (Where best stops.)

For each checkpoint, the test accuracy of its network alone and averaged with its
predictions on the four one-pixel shifts of each digit; for each pair of
checkpoints, the accuracy of the average of their log-probabilities:

    .venv/bin/python -m benchmarks.mnist_ceiling /tmp/best_s0/best.pt /tmp/best_s1/best.pt ...

If neither lifts the mean, the networks miss the same digits and another recipe
of the same network will not gain much either (docs/benchmarks.md, issue 11).
"""

from __future__ import annotations

import argparse
import itertools
import statistics
from pathlib import Path

import torch

from benchmarks.machine import torch_machine
from chainrule.mnist.evaluate import load_test_split
from chainrule.mnist.train import load_checkpoint, predict_logits

SHIFTS = ((1, 0), (-1, 0), (0, 1), (0, -1))  # (right, down) in pixels; MNIST's border is black


def accuracy(log_probabilities: torch.Tensor, labels: torch.Tensor) -> float:
    return 100.0 * float((log_probabilities.argmax(1) == labels).float().mean())


def log_probabilities(model: torch.nn.Module, images: torch.Tensor) -> torch.Tensor:
    return torch.log_softmax(predict_logits(model, images), dim=1)


def on_shifts(model: torch.nn.Module, images: torch.Tensor) -> torch.Tensor:
    """The sum of the log-probabilities of the images' one-pixel shifts."""
    shifted = (torch.roll(images, (down, right), (1, 2)) for right, down in SHIFTS)
    return torch.stack([log_probabilities(model, moved) for moved in shifted]).sum(0)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checkpoints", nargs="+", type=Path, help="best.pt files")
    parser.add_argument("--threads", type=int, default=2, help="torch threads")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    images, labels = load_test_split(None)
    outputs: list[torch.Tensor] = []  # each network's log-probabilities
    singles: list[float] = []
    shifted: list[float] = []
    print(f"{torch_machine()}\n\n| checkpoint | alone % | with 4 shifts % |\n|---|---|---|")
    for path in args.checkpoints:
        model, _ = load_checkpoint(path)
        outputs.append(log_probabilities(model, images))
        singles.append(accuracy(outputs[-1], labels))
        shifted.append(accuracy(outputs[-1] + on_shifts(model, images), labels))
        print(f"| {path} | {singles[-1]:.2f} | {shifted[-1]:.2f} |")
    pairs = [accuracy(a + b, labels) for a, b in itertools.combinations(outputs, 2)]
    mean_alone, mean_shifted = statistics.mean(singles), statistics.mean(shifted)
    print(f"\nmean alone {mean_alone:.3f}, with shifts {mean_shifted:.3f}")
    if pairs:
        print(f"mean of {len(pairs)} two-network ensembles {statistics.mean(pairs):.3f} "
              f"({min(pairs):.2f}-{max(pairs):.2f})")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
