"""MNIST data: IDX reader, checksums, missing files, validation split, batches, augmentation."""

from __future__ import annotations

import gzip
import hashlib
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from chainrule.errors import ChainruleError
from chainrule.mnist import data
from chainrule.mnist.data import (
    DEFAULT_DATA_DIR,
    batch_indices,
    find_idx_files,
    idx_bytes,
    load_mnist,
    parse_idx,
    random_affine,
    shard,
    split_validation,
)

TRAIN_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
TEST_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
IDX_TYPES = ["f4", "f8", "i1", "i2", "i4", "u1"]  # the six number types of the IDX format


def write_dataset(folder: Path, images: np.ndarray, labels: np.ndarray, gz: bool = True) -> None:
    """Write both splits of a small IDX dataset with the standard names."""
    folder.mkdir(parents=True, exist_ok=True)
    for stems in data.IDX_NAMES.values():
        for stem, array in zip(stems, (images, labels), strict=True):
            payload = idx_bytes(array)
            if gz:
                (folder / f"{stem}.gz").write_bytes(gzip.compress(payload))
            else:
                (folder / stem).write_bytes(payload)


def tiny_dataset(n: int = 6) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8)
    return images, (np.arange(n) % 10).astype(np.uint8)


# ---------------------------------------------------------------- the real files


@pytest.mark.parametrize(
    ("split", "count", "classes"), [("train", 60000, TRAIN_COUNTS), ("test", 10000, TEST_COUNTS)]
)
def test_shipped_mnist_loads_with_its_class_counts(
    split: data.Split, count: int, classes: list[int]
) -> None:
    images, labels = load_mnist(split)
    assert images.shape == (count, 28, 28) and images.dtype == torch.uint8
    assert labels.shape == (count,) and labels.dtype == torch.int64
    assert torch.bincount(labels, minlength=10).tolist() == classes
    assert int(images.max()) == 255 and int(images.min()) == 0


def test_default_dir_is_the_repos_data_folder() -> None:
    repo = Path(__file__).resolve().parents[1]
    assert repo / "data" / "mnist" == DEFAULT_DATA_DIR
    assert (DEFAULT_DATA_DIR / "README.md").read_text().count("Creative Commons") == 1


@pytest.mark.slow
def test_env_var_overrides_the_data_dir(tmp_path: Path) -> None:
    code = "from chainrule.mnist.data import DEFAULT_DATA_DIR; print(DEFAULT_DATA_DIR)"
    env = {"CHAINRULE_DATA_DIR": str(tmp_path), "PATH": "/usr/bin:/bin"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert out.stdout.strip() == str(tmp_path), out.stderr


# ---------------------------------------------------------------- the IDX format


@settings(max_examples=60, deadline=None)
@given(
    dtype=st.sampled_from(IDX_TYPES),
    shape=st.lists(st.integers(0, 5), min_size=1, max_size=4),
    seed=st.integers(0, 2**32 - 1),
)
def test_parse_idx_round_trips_every_dtype(dtype: str, shape: list[int], seed: int) -> None:
    rng = np.random.default_rng(seed)
    array = (rng.standard_normal(shape) * 100).astype(dtype)
    parsed = parse_idx(idx_bytes(array))
    assert parsed.shape == tuple(shape)
    np.testing.assert_array_equal(parsed.numpy(), array)


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        (b"", "bad magic number 0xnothing"),
        (b"\x01\x00\x08\x01\x00\x00\x00\x01\x05", "bad magic number 0x01000801"),
        (b"\x00\x00\x07\x01\x00\x00\x00\x01\x05", "bad magic number"),
        (b"\x00\x00\x08\x03\x00\x00\x00\x01", "truncated IDX header"),
        (b"\x00\x00\x08\x01\x00\x00\x00\x04\x05", "truncated IDX file: expected 4 bytes"),
        (b"\x00\x00\x08\x01\x00\x00\x00\x01\x05\x06", "trailing data"),
        (b"\x00\x00\x0c\x01\x00\x00\x00\x02\x00\x00\x00\x01", "expected 8 bytes of data, found 4"),
    ],
)
def test_bad_idx_is_a_one_line_error_naming_the_file(payload: bytes, message: str) -> None:
    with pytest.raises(ChainruleError, match=message) as error:
        parse_idx(payload, "some/file-idx1-ubyte")
    assert str(error.value).startswith("some/file-idx1-ubyte: ")
    assert "\n" not in str(error.value)


def test_raw_and_gzip_files_read_alike(tmp_path: Path) -> None:
    images, labels = tiny_dataset()
    write_dataset(tmp_path / "gz", images, labels, gz=True)
    write_dataset(tmp_path / "raw", images, labels, gz=False)
    for folder in ("gz", "raw"):
        x, y = load_mnist("test", tmp_path / folder)
        np.testing.assert_array_equal(x.numpy(), images)
        assert y.tolist() == labels.tolist()


def test_dotted_file_names_are_found(tmp_path: Path) -> None:
    images, labels = tiny_dataset()
    write_dataset(tmp_path, images, labels, gz=False)
    for path in tmp_path.iterdir():
        path.rename(path.with_name(path.name.replace("-idx", ".idx")))
    assert load_mnist("train", tmp_path)[0].shape == (6, 28, 28)


def test_other_idx_datasets_with_mnist_names_load_unchecked(tmp_path: Path) -> None:
    # Fashion-MNIST and KMNIST use MNIST's file names; only the repo's folder is checksummed.
    images, labels = tiny_dataset(12)
    write_dataset(tmp_path, images, labels)
    x, y = load_mnist("train", tmp_path)
    assert x.shape == (12, 28, 28) and y.tolist() == labels.tolist()


def test_float_images_in_0_1_become_uint8(tmp_path: Path) -> None:
    images, labels = tiny_dataset()
    write_dataset(tmp_path, images.astype(np.float32) / 255, labels)
    np.testing.assert_array_equal(load_mnist("test", tmp_path)[0].numpy(), images)


@pytest.mark.parametrize(
    ("images", "labels", "message"),
    [
        (np.zeros((3, 28, 28), np.uint8), np.zeros(4, np.uint8), "4 labels for 3 images"),
        (np.zeros((3, 784), np.uint8), np.zeros(3, np.uint8), r"expected images \[N, rows, cols\]"),
        (np.full((2, 28, 28), 300, np.int16), np.zeros(2, np.uint8), "integers in 0..255"),
        (np.zeros((2, 28, 28), np.uint8), np.zeros(2, np.float32), "expected integer labels"),
    ],
)
def test_inconsistent_files_are_one_line_errors(
    tmp_path: Path, images: np.ndarray, labels: np.ndarray, message: str
) -> None:
    write_dataset(tmp_path, images, labels)
    with pytest.raises(ChainruleError, match=message):
        load_mnist("train", tmp_path)


def test_corrupt_gzip_names_the_file(tmp_path: Path) -> None:
    images, labels = tiny_dataset()
    write_dataset(tmp_path, images, labels)
    target = tmp_path / "train-images-idx3-ubyte.gz"
    target.write_bytes(target.read_bytes()[:40])  # cut mid-stream
    with pytest.raises(ChainruleError, match=r"train-images-idx3-ubyte\.gz: cannot read"):
        load_mnist("train", tmp_path)


def test_checksum_mismatch_in_the_mnist_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"):
        shutil.copy(DEFAULT_DATA_DIR / name, tmp_path / name)
    labels = tmp_path / "t10k-labels-idx1-ubyte.gz"
    raw = bytearray(gzip.decompress(labels.read_bytes()))
    raw[100] = (raw[100] + 1) % 10  # one wrong label: structure fine, content not MNIST
    labels.write_bytes(gzip.compress(bytes(raw)))
    monkeypatch.setattr(data, "DEFAULT_DATA_DIR", tmp_path)
    with pytest.raises(ChainruleError, match=r"t10k-labels-idx1-ubyte\.gz: checksum mismatch"):
        load_mnist("test")


def test_sha256sums_file_is_checked_in_other_folders(tmp_path: Path) -> None:
    images, labels = tiny_dataset()
    write_dataset(tmp_path, images, labels)
    good = hashlib.sha256(idx_bytes(images)).hexdigest()
    sums = tmp_path / "SHA256SUMS"
    sums.write_text(f"{good}  t10k-images-idx3-ubyte\n")
    assert load_mnist("test", tmp_path)[0].shape == (6, 28, 28)
    sums.write_text(f"{'0' * 64}  t10k-images-idx3-ubyte.gz\n")
    with pytest.raises(ChainruleError, match="checksum mismatch"):
        load_mnist("test", tmp_path)


def test_missing_files_say_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(data.MissingDataError) as error:
        find_idx_files(tmp_path, "train")
    message = str(error.value)
    assert error.value.missing == ["train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"]
    assert "pass data_dir with" in message and "t10k-labels-idx1-ubyte.gz" in message
    assert "pass --data-dir with" in error.value.render({"data_dir": "--data-dir"})
    assert "\n" not in message


def test_unknown_split_is_an_error() -> None:
    with pytest.raises(ChainruleError, match="unknown split"):
        load_mnist("validation")  # type: ignore[arg-type]


# ---------------------------------------------------------------- splits and batches


def test_validation_split_is_fixed_by_seed_and_disjoint() -> None:
    x = torch.arange(1000).view(1000, 1)
    y = torch.arange(1000)
    a = split_validation(x, y, 100, seed=3)
    b = split_validation(x, y, 100, seed=3)
    c = split_validation(x, y, 100, seed=4)
    assert all(torch.equal(p, q) for p, q in zip(a, b, strict=True))
    assert not torch.equal(a[3], c[3])
    train, val = set(a[1].tolist()), set(a[3].tolist())
    assert len(val) == 100 and not train & val and len(train | val) == 1000
    assert torch.equal(a[0].squeeze(1), a[1])  # images and labels stay paired


def test_validation_size_must_leave_training_data() -> None:
    with pytest.raises(ChainruleError, match="validation size"):
        split_validation(torch.zeros(10, 1), torch.zeros(10), 10, seed=0)


@settings(max_examples=100, deadline=None)
@given(n=st.integers(1, 300), batch=st.integers(1, 64), drop_last=st.booleans(), seed=st.integers())
def test_batches_cover_each_index_once(n: int, batch: int, drop_last: bool, seed: int) -> None:
    generator = torch.Generator().manual_seed(seed % 2**63)
    batches = list(batch_indices(n, batch, generator, drop_last))
    flat = torch.cat(batches).tolist() if batches else []
    assert len(flat) == len(set(flat))
    assert len(flat) == (n - n % batch if drop_last else n)
    assert all(len(b) == batch for b in batches[:-1])


@settings(max_examples=100, deadline=None)
@given(size=st.integers(0, 100), world=st.integers(1, 8))
def test_shards_partition_a_batch(size: int, world: int) -> None:
    batch = torch.randperm(size)
    parts = [shard(batch, rank, world) for rank in range(world)]
    assert sorted(torch.cat(parts).tolist()) == list(range(size))
    assert max(len(p) for p in parts) - min(len(p) for p in parts) <= 1


# ---------------------------------------------------------------- augmentation


def test_affine_with_middle_draws_is_the_identity() -> None:
    x = torch.rand(3, 1, 28, 28)
    torch.testing.assert_close(random_affine(x, torch.full((3, 4), 0.5), 20, 0.2, 0.2), x)


def test_affine_shift_moves_whole_pixels() -> None:
    x = torch.rand(2, 1, 28, 28)
    draws = torch.tensor([[0.5, 0.5, 1.0, 0.5], [0.5, 0.5, 0.5, 0.0]])  # +1 px in x, -1 px in y
    y = random_affine(x, draws, 0, 1 / 28, 0)
    torch.testing.assert_close(y[0, :, :, :-1], x[0, :, :, 1:] - x[0, :, :1, :1] + x[0, 0, 0, 0])
    torch.testing.assert_close(y[1, :, 1:, :], x[1, :, :-1, :] - x[1, :, :1, :1] + x[1, 0, 0, 0])


def test_affine_rotation_by_90_degrees_is_rot90() -> None:
    x = torch.rand(1, 1, 28, 28)
    y = random_affine(x, torch.tensor([[1.0, 0.5, 0.5, 0.5]]), 90, 0, 0)
    rotated = [torch.rot90(x, k, dims=(2, 3)) for k in (1, -1)]
    assert any(torch.allclose(y, r, atol=1e-5) for r in rotated)


def test_affine_keeps_the_normalised_background() -> None:
    x = torch.full((4, 1, 28, 28), -0.4242)
    x[:, :, 12:16, 12:16] = 2.8
    y = random_affine(x, torch.rand(4, 4), 30, 0.2, 0.2)
    torch.testing.assert_close(y[:, :, 0, :], torch.full((4, 1, 28), -0.4242))


@pytest.mark.slow
def test_harder_mnist_variants_are_mnist_format_with_the_same_labels(tmp_path: Path) -> None:
    # The datasets docs/benchmarks.md names for "fast is not fitted to MNIST" (issue 11).
    from benchmarks.mnist_variants import write

    pixels, labels = load_mnist("test")
    folder = write(tmp_path, "noisy", seed=3)
    for split, count in (("train", 60000), ("test", 10000)):
        x, y = load_mnist(split, folder)
        assert x.shape == (count, 28, 28) and x.dtype == torch.uint8
    x, y = load_mnist("test", folder)
    assert torch.equal(y, labels)
    moved = (x.float() - pixels.float()).abs().mean(dim=(1, 2))
    assert (moved > 10).float().mean() > 0.9  # nearly every digit is transformed
    again = write(tmp_path / "again", "noisy", seed=3)
    assert torch.equal(load_mnist("test", again)[0], x)  # fixed by the seed
