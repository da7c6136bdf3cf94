"""The fastest public MNIST recipe known to the issue, re-implemented as a standalone script.

A 24/32-channel CNN, Adam with OneCycle, batch 256, channels_last, one epoch on
all 60,000 training images; plain torch, its own gzip/numpy IDX reading, no
chainrule code, so its time is the recipe's own. ``benchmarks/mnist_presets.py``
runs it in a fresh process beside chainrule's presets.

    python benchmarks/mnist_reference.py [--seed N]

Prints one JSON line: {"test_accuracy": ..., "seconds": ...} where seconds
counts from process start (before ``import torch``) to the printed accuracy.
"""

from __future__ import annotations

import time

STARTED = time.perf_counter()

import argparse  # noqa: E402
import gzip  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from torch import nn  # noqa: E402

DATA = Path(os.environ.get("CHAINRULE_DATA_DIR") or Path(__file__).parents[1] / "data" / "mnist")


def read(name: str, offset: int) -> np.ndarray:
    with gzip.open(DATA / f"{name}.gz") as stream:
        return np.frombuffer(stream.read(), np.uint8, offset=offset)


def tensors(prefix: str) -> tuple[torch.Tensor, torch.Tensor]:
    images = torch.from_numpy(read(f"{prefix}-images-idx3-ubyte", 16).copy()).view(-1, 1, 28, 28)
    labels = torch.from_numpy(read(f"{prefix}-labels-idx1-ubyte", 8).astype(np.int64))
    x = (images.float() / 255 - 0.1307) / 0.3081
    return x.contiguous(memory_format=torch.channels_last), labels


def network() -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(1, 24, 5, padding=2),
        nn.BatchNorm2d(24),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(24, 32, 5, padding=2),
        nn.BatchNorm2d(32),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(32 * 7 * 7, 10),
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args()
    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    train_x, train_y = tensors("train")
    test_x, test_y = tensors("t10k")
    model = network().to(memory_format=torch.channels_last)
    batch, epochs = 256, 1
    steps = epochs * (len(train_x) // batch)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=0.01, total_steps=steps)
    model.train()
    for _ in range(epochs):
        order = torch.randperm(len(train_x))
        for step in range(len(train_x) // batch):
            index = order[step * batch : (step + 1) * batch]
            loss = F.cross_entropy(model(train_x[index]), train_y[index])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            schedule.step()
    model.eval()
    with torch.inference_mode():
        correct = sum(
            int((model(test_x[i : i + 1000]).argmax(1) == test_y[i : i + 1000]).sum())
            for i in range(0, len(test_x), 1000)
        )
    accuracy = 100 * correct / len(test_x)
    print(json.dumps({"test_accuracy": accuracy, "seconds": time.perf_counter() - STARTED}))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
