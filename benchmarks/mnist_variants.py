"""Harder MNIST variants in MNIST's own format, to check that the presets are not fitted to MNIST.

Each variant transforms every training and test image of data/mnist once, with a
fixed seed, and writes the four gzip IDX files that ``--data-dir`` reads:

  affine   rotated up to 30 degrees, shifted up to 4 pixels, zoomed 0.75x-1.15x,
           as digits written off-centre and at a slant (labels unchanged)
  noisy    the affine variant on a cluttered background: uniform noise plus
           random short strokes, as a photographed page

    .venv/bin/python -m benchmarks.mnist_variants OUT_DIR [--variant affine|noisy]

writes OUT_DIR/VARIANT/{train,t10k}-{images-idx3,labels-idx1}-ubyte.gz;
``benchmarks.mnist_presets --parts other --data-dir OUT_DIR/VARIANT`` compares
the ``fast`` preset with the reference recipe on it.
"""

from __future__ import annotations

import argparse
import gzip
import math
import struct
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from chainrule.mnist.data import IDX_NAMES, load_mnist

SPLITS = {"train": 0, "test": 1}  # the seed offset of each split


def idx_bytes(array: np.ndarray) -> bytes:
    """An unsigned-byte array as an IDX file: zero, zero, type 0x08, rank, sizes, data."""
    header = bytes([0, 0, 0x08, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.astype(np.uint8).tobytes()


def affine(images: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Rotate, shift and zoom each float image [N, 1, 28, 28] by its own random amount."""
    count = len(images)
    draws = torch.rand(count, 4, generator=generator) * 2 - 1
    angle = draws[:, 0] * math.radians(30)
    zoom = 1 + torch.where(draws[:, 1] < 0, 0.25, 0.15) * draws[:, 1]
    cos, sin = torch.cos(angle) / zoom, torch.sin(angle) / zoom
    shift = draws[:, 2:] * (4 / 14)  # 4 pixels in affine_grid's [-1, 1] coordinates
    theta = torch.stack(
        [torch.stack([cos, -sin, shift[:, 0]], 1), torch.stack([sin, cos, shift[:, 1]], 1)], 1
    )
    grid = F.affine_grid(theta, list(images.shape), align_corners=False)
    return F.grid_sample(images, grid, align_corners=False, padding_mode="zeros")


def clutter(images: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Add uniform noise and three short random strokes (2x5 pixels) to each image."""
    count = len(images)
    noisy = images + 0.25 * torch.rand(images.shape, generator=generator)
    rows = torch.randint(0, 27, (count, 3), generator=generator)
    cols = torch.randint(0, 24, (count, 3), generator=generator)
    for stroke in range(3):
        for dy in range(2):
            for dx in range(5):
                index = torch.arange(count)
                noisy[index, 0, rows[:, stroke] + dy, cols[:, stroke] + dx] += 0.6
    return noisy.clamp(0, 1)


def variant(name: str, pixels: torch.Tensor, seed: int) -> torch.Tensor:
    """The uint8 images [N, 28, 28] of one variant."""
    generator = torch.Generator().manual_seed(seed)
    images = pixels.float().div(255).unsqueeze(1)
    images = affine(images, generator)
    if name == "noisy":
        images = clutter(images, generator)
    return images.squeeze(1).mul(255).round().clamp(0, 255).to(torch.uint8)


def write(folder: Path, name: str, seed: int = 0) -> Path:
    """Write one variant's four IDX files under ``folder / name``; returns that folder."""
    out = folder / name
    out.mkdir(parents=True, exist_ok=True)
    for split, offset in SPLITS.items():
        pixels, labels = load_mnist(split)  # type: ignore[arg-type]
        images = variant(name, pixels, seed + offset)
        image_stem, label_stem = IDX_NAMES[split]  # type: ignore[index]
        for stem, array in ((image_stem, images.numpy()), (label_stem, labels.numpy())):
            with gzip.open(out / f"{stem}.gz", "wb", compresslevel=6) as stream:
                stream.write(idx_bytes(array))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--variant", choices=["affine", "noisy"], default="affine")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    print(write(args.out, args.variant, args.seed))


if __name__ == "__main__":
    main()
