"""pytorch/examples ``mnist/main.py`` re-implemented as a standalone script (no torchvision).

The same network, recipe and data path as the example: a Dataset that turns each
28x28 image into a PIL image and then into a normalised tensor (what
``transforms.ToTensor()`` and ``Normalize((0.1307,), (0.3081,))`` do), a shuffling
DataLoader with batch 64, Adadelta at rate 1.0 with StepLR(gamma=0.7), test batch
1000, nll_loss on log_softmax outputs, training on all 60,000 images.

    python benchmarks/mnist_examples_reference.py [--epochs 1] [--seed 1]

Prints one JSON line per epoch {"epoch", "test_accuracy", "seconds"}; seconds run
from process start (before ``import torch``).
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
from PIL import Image  # noqa: E402
from torch import nn  # noqa: E402
from torch.utils.data import DataLoader, Dataset  # noqa: E402

DATA = Path(os.environ.get("CHAINRULE_DATA_DIR") or Path(__file__).parents[1] / "data" / "mnist")


def idx_payload(name: str, header: int) -> np.ndarray:
    with gzip.open(DATA / f"{name}.gz") as stream:
        return np.frombuffer(stream.read(), np.uint8, offset=header)


class MNIST(Dataset[tuple[torch.Tensor, int]]):
    """torchvision.datasets.MNIST's item path: uint8 array -> PIL image -> normalised tensor."""

    def __init__(self, prefix: str) -> None:
        self.images = idx_payload(f"{prefix}-images-idx3-ubyte", 16).reshape(-1, 28, 28)
        self.labels = idx_payload(f"{prefix}-labels-idx1-ubyte", 8).astype(np.int64)

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        image = Image.fromarray(self.images[index], mode="L")
        pixels = torch.from_numpy(np.array(image, dtype=np.float32) / 255).unsqueeze(0)
        return (pixels - 0.1307) / 0.3081, int(self.labels[index])


class Net(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(1, 32, 3, 1)
        self.conv2 = nn.Conv2d(32, 64, 3, 1)
        self.dropout1 = nn.Dropout(0.25)
        self.dropout2 = nn.Dropout(0.5)
        self.fc1 = nn.Linear(9216, 128)
        self.fc2 = nn.Linear(128, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.max_pool2d(F.relu(self.conv2(F.relu(self.conv1(x)))), 2)
        x = self.dropout1(torch.flatten(x, 1))
        x = self.dropout2(F.relu(self.fc1(x)))
        return F.log_softmax(self.fc2(x), dim=1)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    torch.manual_seed(args.seed)
    train_loader = DataLoader(MNIST("train"), batch_size=64, shuffle=True)
    test_loader = DataLoader(MNIST("t10k"), batch_size=1000)
    model = Net()
    optimizer = torch.optim.Adadelta(model.parameters(), lr=1.0)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=1, gamma=0.7)
    for epoch in range(1, args.epochs + 1):
        model.train()
        for data, target in train_loader:
            optimizer.zero_grad()
            F.nll_loss(model(data), target).backward()
            optimizer.step()
        model.eval()
        correct = 0
        with torch.no_grad():
            for data, target in test_loader:
                correct += int((model(data).argmax(1) == target).sum())
        scheduler.step()
        accuracy = 100 * correct / len(test_loader.dataset)  # type: ignore[arg-type]
        seconds = time.perf_counter() - STARTED
        record = {"epoch": epoch, "test_accuracy": accuracy, "seconds": seconds}
        print(json.dumps(record), flush=True)


if __name__ == "__main__":
    main()
