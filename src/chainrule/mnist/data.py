"""MNIST on tensors: an IDX reader, checksums, the validation split, batches, augmentation.

No torchvision: the four IDX files are read straight into tensors, kept in
memory, shuffled with index permutations and augmented a whole batch at a time.

>>> images, labels = load_mnist("test")
>>> images.shape, images.dtype, labels.shape, labels.dtype
(torch.Size([10000, 28, 28]), torch.uint8, torch.Size([10000]), torch.int64)
>>> labels[:8].tolist()
[7, 2, 1, 0, 4, 1, 4, 9]
"""

from __future__ import annotations

import gzip
import hashlib
import math
import os
import struct
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch
import torch.nn.functional as F

from chainrule.errors import ChainruleError
from chainrule.mnist.download import fallback_dir, idx_spellings

Split = Literal["train", "test"]

DEFAULT_DATA_DIR = Path(
    os.environ.get("CHAINRULE_DATA_DIR") or Path(__file__).resolve().parents[3] / "data" / "mnist"
)
"""The repo's ``data/mnist`` folder (the env var ``CHAINRULE_DATA_DIR`` overrides it)."""

IDX_NAMES: dict[Split, tuple[str, str]] = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
"""The standard file names (without ``.gz``) of each split: images, labels."""

MNIST_SHA256 = {
    "train-images-idx3-ubyte": "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
    "train-labels-idx1-ubyte": "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
    "t10k-images-idx3-ubyte": "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
    "t10k-labels-idx1-ubyte": "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
}
"""SHA-256 of the decompressed MNIST files (see data/mnist/README.md)."""

MNIST_MEAN = 0.1307
MNIST_STD = 0.3081
"""Pixel mean and standard deviation of the MNIST training set (pixels in [0, 1])."""

# IDX type byte -> big-endian numpy dtype (yann.lecun.com/exdb/mnist, "THE IDX FILE FORMAT").
_IDX_DTYPES: dict[int, np.dtype[Any]] = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}


class MissingDataError(ChainruleError):
    """IDX files are missing from a data folder; ``missing`` lists the expected names."""

    directory: Path
    missing: list[str]

    @classmethod
    def of(cls, directory: Path, missing: list[str]) -> MissingDataError:
        """The error for ``missing`` files in ``directory``, saying what to do."""
        error = cls.naming(
            "{folder}: missing {names}; put the four IDX files (train-images-idx3-ubyte.gz, "
            "train-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz, t10k-labels-idx1-ubyte.gz) "
            "there, or pass {data_dir} with a folder that has them (a clone of the repo ships "
            "MNIST in data/mnist)",
            folder=directory,
            names=", ".join(missing),
        )
        error.directory, error.missing = directory, missing
        return error


def read_bytes(path: Path) -> bytes:
    """The decompressed content of an IDX file, ``.gz`` or raw; one-line errors name the file."""
    try:
        if path.suffix == ".gz":
            with gzip.open(path, "rb") as stream:
                return stream.read()
        return path.read_bytes()
    except (OSError, EOFError, zlib.error) as error:  # BadGzipFile is an OSError
        raise ChainruleError(f"{path}: cannot read ({error})") from None


def parse_idx(data: bytes, name: str = "<bytes>") -> torch.Tensor:
    """Decode IDX bytes (any IDX dtype) into a tensor, checking magic and size.

    >>> parse_idx(bytes([0, 0, 8, 1, 0, 0, 0, 3, 7, 8, 9])).tolist()
    [7, 8, 9]
    >>> parse_idx(bytes([0, 0, 8, 1, 0, 0, 0, 3, 7]), "f")
    Traceback (most recent call last):
    chainrule.errors.ChainruleError: f: truncated IDX file: expected 3 bytes of data, found 1
    """
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] not in _IDX_DTYPES:
        magic = data[:4].hex() or "nothing"
        raise ChainruleError(f"{name}: not an IDX file (bad magic number 0x{magic})")
    dtype, ndim = _IDX_DTYPES[data[2]], data[3]
    header = 4 + 4 * ndim
    if ndim == 0 or len(data) < header:
        raise ChainruleError(f"{name}: truncated IDX header ({ndim} dimensions)")
    shape = tuple(int(d) for d in np.frombuffer(data, dtype=">u4", count=ndim, offset=4))
    expected = math.prod(shape) * dtype.itemsize
    found = len(data) - header
    if found != expected:
        problem = "truncated IDX file" if found < expected else "IDX file has trailing data"
        raise ChainruleError(f"{name}: {problem}: expected {expected} bytes of data, found {found}")
    array = np.frombuffer(data, dtype=dtype, offset=header).reshape(shape)
    return torch.from_numpy(array.astype(dtype.newbyteorder("="), copy=True))


def idx_bytes(array: np.ndarray[Any, Any]) -> bytes:
    """Encode an array as IDX bytes (big-endian), the inverse of :func:`parse_idx`.

    >>> parse_idx(idx_bytes(np.array([[7, 8, 9]], dtype=np.uint8))).tolist()
    [[7, 8, 9]]
    """
    codes = {dtype.str[1:]: code for code, dtype in _IDX_DTYPES.items()}
    code = codes.get(array.dtype.str[1:])
    if code is None:
        raise ChainruleError(f"IDX files hold no {array.dtype} numbers")
    header = bytes([0, 0, code, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.astype(array.dtype.newbyteorder(">")).tobytes()


def read_idx(path: Path, sha256: str | None = None) -> torch.Tensor:
    """Read one IDX file; if ``sha256`` is given the decompressed bytes must match it."""
    data = read_bytes(path)
    if sha256 is not None and hashlib.sha256(data).hexdigest() != sha256:
        raise ChainruleError(
            f"{path}: checksum mismatch (corrupt or not the MNIST file); "
            "restore it, e.g. `git checkout data/mnist`, or delete it to download it again"
        )
    return parse_idx(data, str(path))


def find_idx_files(data_dir: Path, split: Split) -> tuple[Path, Path]:
    """The images and labels files of ``split`` in ``data_dir`` (``.gz`` or raw).

    Accepts the standard names (``train-images-idx3-ubyte``) and the dotted ones
    some copies use (``train-images.idx3-ubyte``); raises :class:`MissingDataError`
    saying exactly what to do when a file is missing.
    """
    found: list[Path] = []
    missing: list[str] = []
    for stem in IDX_NAMES[split]:
        path = next((c for c in idx_spellings(data_dir, stem) if c.is_file()), None)
        if path is None:
            missing.append(f"{stem}.gz")
        else:
            found.append(path)
    if missing:
        raise MissingDataError.of(data_dir, missing)
    return found[0], found[1]


def _checksums_for(data_dir: Path) -> dict[str, str]:
    """Known SHA-256 values for the files in ``data_dir``.

    The repo's MNIST folder holds MNIST by construction, so its files must match
    the published checksums. Another folder may hold any dataset in IDX format
    (Fashion-MNIST and KMNIST use the same file names), so there only a
    ``SHA256SUMS`` file in that folder (``sha256sum`` format, decompressed bytes)
    says what to expect.
    """
    if data_dir.resolve() == DEFAULT_DATA_DIR.resolve():
        return dict(MNIST_SHA256)
    sums_file = data_dir / "SHA256SUMS"
    if not sums_file.is_file():
        return {}
    sums: dict[str, str] = {}
    for line in sums_file.read_text(encoding="utf-8", errors="replace").splitlines():
        parts = line.split()
        if len(parts) == 2:
            sums[parts[1].lstrip("*").removesuffix(".gz")] = parts[0].lower()
    return sums


def _stem(path: Path) -> str:
    return path.name.removesuffix(".gz").replace(".idx", "-idx")


def _as_uint8_images(images: torch.Tensor, path: Path) -> torch.Tensor:
    if images.dim() != 3:
        shape = list(images.shape)
        raise ChainruleError(f"{path}: expected images [N, rows, cols], got shape {shape}")
    if images.dtype == torch.uint8:
        return images
    if images.is_floating_point() and float(images.max()) <= 1.0:
        images = images * 255.0  # float images in [0, 1]
    rounded = images.round()
    if bool((rounded != images).any()) or float(images.min()) < 0 or float(images.max()) > 255:
        raise ChainruleError(f"{path}: pixel values must be integers in 0..255")
    return rounded.to(torch.uint8)


def load_mnist(split: Split, data_dir: Path | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Images (uint8 [N, 28, 28]) and labels (int64 [N]) of MNIST's ``"train"`` or ``"test"`` split.

    ``data_dir`` may be any folder with the four standard IDX files (Fashion-MNIST,
    KMNIST...); it defaults to :data:`DEFAULT_DATA_DIR`.
    """
    if split not in IDX_NAMES:
        raise ChainruleError(f"unknown split {split!r}; choose 'train' or 'test'")
    directory = Path(data_dir) if data_dir is not None else DEFAULT_DATA_DIR
    try:
        images_path, labels_path = find_idx_files(directory, split)
    except MissingDataError as missing:
        # Download fallback (chainrule.mnist.download): MNIST from the mirrors into the cache
        # for the default folder, or into an empty folder the user named; offline, one line
        # that says what to do.
        explicit = data_dir is not None or bool(os.environ.get("CHAINRULE_DATA_DIR"))
        found = fallback_dir(directory, explicit=explicit)
        if found is None:
            raise missing from None
        directory = found
        images_path, labels_path = find_idx_files(directory, split)
    sums = _checksums_for(directory)
    images = read_idx(images_path, sums.get(_stem(images_path)))
    labels = read_idx(labels_path, sums.get(_stem(labels_path)))
    images = _as_uint8_images(images, images_path)
    if labels.dim() != 1 or labels.is_floating_point():
        shape = list(labels.shape)
        raise ChainruleError(f"{labels_path}: expected integer labels [N], got {shape}")
    if labels.shape[0] != images.shape[0]:
        raise ChainruleError(
            f"{labels_path}: {labels.shape[0]} labels for {images.shape[0]} images in {images_path}"
        )
    return images, labels.to(torch.int64)


def split_validation(
    images: torch.Tensor, labels: torch.Tensor, val_size: int, seed: int
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Set ``val_size`` random examples aside (fixed by ``seed``): train images, labels, val ones.

    >>> x, y = torch.arange(10).view(10, 1), torch.arange(10)
    >>> tx, ty, vx, vy = split_validation(x, y, 3, seed=0)
    >>> len(tx), len(vx), sorted(ty.tolist() + vy.tolist()) == list(range(10))
    (7, 3, True)
    """
    if not 0 <= val_size < len(images):
        raise ChainruleError(f"validation size {val_size} must be in 0..{len(images) - 1}")
    order = torch.randperm(len(images), generator=torch.Generator().manual_seed(seed))
    train, val = order[val_size:].sort().values, order[:val_size].sort().values
    return images[train], labels[train], images[val], labels[val]


def epoch_generator(seed: int, epoch: int) -> torch.Generator:
    """One epoch's random stream (shuffling, augmentation), as ``DistributedSampler.set_epoch``.

    Seeding per epoch makes a resumed run draw exactly what the uninterrupted run drew.
    """
    return torch.Generator().manual_seed(seed * 1_000_003 + epoch)


def batch_indices(
    n: int, batch_size: int, generator: torch.Generator | None, drop_last: bool = False
) -> Iterator[torch.Tensor]:
    """Index batches over ``n`` examples, shuffled when a generator is given.

    >>> [b.tolist() for b in batch_indices(5, 2, None)]
    [[0, 1], [2, 3], [4]]
    """
    order = torch.randperm(n, generator=generator) if generator is not None else torch.arange(n)
    stop = n - n % batch_size if drop_last else n
    for start in range(0, stop, batch_size):
        yield order[start : start + batch_size]


def shard(batch: torch.Tensor, rank: int, world_size: int) -> torch.Tensor:
    """This rank's share of a global batch (the ``DistributedSampler`` rule: every world_size-th).

    >>> shard(torch.arange(7), 1, 2).tolist()
    [1, 3, 5]
    """
    return batch[rank::world_size]


def random_affine(
    images: torch.Tensor,
    draws: torch.Tensor,
    degrees: float,
    translate: float,
    scale: float,
) -> torch.Tensor:
    """Rotate, shift and scale a whole float batch [B, C, H, W] in one ``grid_sample``.

    ``draws`` holds 4 uniform numbers in [0, 1) per image (``torch.rand(B, 4)``),
    drawn by the caller so that processes can share one stream. ``degrees``
    bounds the rotation, ``translate`` the shift as a fraction of the size,
    ``scale`` the relative zoom (0.1 means 0.9x..1.1x). The background is the
    value of each image's corner pixel (black after normalisation).

    >>> x = torch.zeros(4, 1, 28, 28)
    >>> x[:, :, 10:18, 10:18] = 1
    >>> y = random_affine(x, torch.rand(4, 4), 15, 0.1, 0.1)
    >>> y.shape, bool((y.sum((1, 2, 3)) > 40).all())
    (torch.Size([4, 1, 28, 28]), True)
    >>> bool(torch.allclose(random_affine(x, torch.full((4, 4), 0.5), 15, 0.1, 0.1), x))
    True
    """
    signed = draws.to(images.device, images.dtype) * 2 - 1  # uniform in [-1, 1)
    angle = signed[:, 0] * math.radians(degrees)
    zoom = 1 + signed[:, 1] * scale
    cos, sin = torch.cos(angle) / zoom, torch.sin(angle) / zoom
    # affine_grid maps output coordinates to input ones in [-1, 1]: a shift of t
    # (fraction of the size) is 2t there, and zooming in divides by the zoom.
    theta = torch.stack(
        [
            torch.stack([cos, -sin, signed[:, 2] * 2 * translate], dim=1),
            torch.stack([sin, cos, signed[:, 3] * 2 * translate], dim=1),
        ],
        dim=1,
    )
    grid = F.affine_grid(theta, list(images.shape), align_corners=False)
    background = images[:, :, :1, :1]
    moved = F.grid_sample(images - background, grid, align_corners=False, padding_mode="zeros")
    return moved + background
