"""The fastest public MNIST recipe known to issue 4, re-implemented as a standalone script.

The recipe (tuomaso/train_mnist_fast, "8_Final"): a CNN with 24 and 32 channels
(conv 5x5, pool, conv 3x3, pool, 800 -> 256 -> 10), Adam (betas 0.7, 0.9) with
OneCycle at a peak rate of 0.01 and no momentum cycling, batch 256, one epoch over
all 60,000 training images in their stored order, the data held as normalised
tensors in memory, channels_last. Plain torch and numpy, no chainrule code, so its
time is the recipe's own; it reads the same gzip IDX files chainrule does.

    python benchmarks/mnist_reference.py [--seed N] [--threads N]

Prints one JSON line {"test_accuracy": ..., "seconds": ...}; seconds run from process
start (before ``import torch``) to the printed accuracy.
"""

from __future__ import annotations

import time

STARTED = time.perf_counter()

import argparse  # noqa: E402
import gzip  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from torch import nn  # noqa: E402

DATA = Path(os.environ.get("CHAINRULE_DATA_DIR") or Path(__file__).parents[1] / "data" / "mnist")


def idx_payload(name: str, header: int) -> np.ndarray:
    with gzip.open(DATA / f"{name}.gz") as stream:
        return np.frombuffer(stream.read(), np.uint8, offset=header)


def split(prefix: str) -> tuple[torch.Tensor, torch.Tensor]:
    pixels = torch.from_numpy(idx_payload(f"{prefix}-images-idx3-ubyte", 16).copy())
    images = ((pixels.float() / 255 - 0.1307) / 0.3081).view(-1, 1, 28, 28)
    labels = torch.from_numpy(idx_payload(f"{prefix}-labels-idx1-ubyte", 8).astype(np.int64))
    return images.contiguous(memory_format=torch.channels_last), labels


class Net(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(1, 24, 5)
        self.conv2 = nn.Conv2d(24, 32, 3)
        self.fc1 = nn.Linear(800, 256)
        self.fc2 = nn.Linear(256, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.relu(F.max_pool2d(self.conv1(x), 2))  # 24 x 12 x 12
        x = F.relu(F.max_pool2d(self.conv2(x), 2))  # 32 x 5 x 5
        x = F.relu(self.fc1(torch.flatten(x, 1)))
        return F.log_softmax(self.fc2(x), dim=1)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=len(os.sched_getaffinity(0)))
    args = parser.parse_args()
    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    train_x, train_y = split("train")
    test_x, test_y = split("t10k")
    model = Net().to(memory_format=torch.channels_last)  # type: ignore[call-overload]
    batch = 256
    steps = (len(train_x) - 1) // batch + 1
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01, betas=(0.7, 0.9))
    schedule = torch.optim.lr_scheduler.OneCycleLR(
        optimizer, max_lr=0.01, total_steps=steps, cycle_momentum=False
    )
    model.train()
    for step in range(steps):
        x, y = (
            train_x[step * batch : (step + 1) * batch],
            train_y[step * batch : (step + 1) * batch],
        )
        optimizer.zero_grad()
        F.nll_loss(model(x), y).backward()
        optimizer.step()
        schedule.step()
    model.eval()
    correct = 0
    with torch.no_grad():
        for start in range(0, len(test_x), 2000):
            output = model(test_x[start : start + 2000])
            correct += int((output.argmax(1) == test_y[start : start + 2000]).sum())
    accuracy = 100 * correct / len(test_x)
    print(
        json.dumps({"test_accuracy": accuracy, "seconds": time.perf_counter() - STARTED}),
        flush=True,
    )


if __name__ == "__main__":
    main()
