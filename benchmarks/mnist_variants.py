"""Harder MNIST variants in MNIST's own format, to check that the presets are not fitted to MNIST.

Each variant transforms every training and test image of data/mnist once, with a
fixed seed, and writes the four gzip IDX files that ``--data-dir`` reads:

  affine   rotated up to 30 degrees, shifted up to 4 pixels, zoomed 0.8x-1.2x
           (the trainer's own random_affine), as digits written off-centre and
           at a slant (labels unchanged)
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
from pathlib import Path

import numpy as np
import torch

from chainrule.mnist.data import IDX_NAMES, idx_bytes, load_mnist, random_affine

SPLITS = {"train": 0, "test": 1}  # the seed offset of each split


def clutter(images: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Add uniform noise and three short random strokes (2x5 pixels) to each image."""
    count = len(images)
    noisy = images + 0.25 * torch.rand(images.shape, generator=generator)
    top = torch.randint(0, 27, (count, 3, 1, 1), generator=generator)
    left = torch.randint(0, 24, (count, 3, 1, 1), generator=generator)
    rows = (top + torch.arange(2).view(1, 1, 2, 1)).expand(count, 3, 2, 5)
    cols = (left + torch.arange(5).view(1, 1, 1, 5)).expand(count, 3, 2, 5)
    image = torch.arange(count).view(count, 1, 1, 1).expand(count, 3, 2, 5)
    noisy[image, 0, rows, cols] += 0.6  # where strokes cross, the pixel brightens once
    return noisy.clamp(0, 1)


def variant(name: str, pixels: torch.Tensor, seed: int) -> torch.Tensor:
    """The uint8 images [N, 28, 28] of one variant."""
    generator = torch.Generator().manual_seed(seed)
    images = pixels.float().div(255).unsqueeze(1)
    draws = torch.rand(len(images), 4, generator=generator)
    images = random_affine(images, draws, degrees=30, translate=4 / 28, scale=0.2)
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
        digits = labels.numpy().astype(np.uint8)
        for stem, array in ((image_stem, images.numpy()), (label_stem, digits)):
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
