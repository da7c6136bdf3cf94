"""The MNIST download fallback, against local HTTP servers (this machine has no internet)."""

from __future__ import annotations

import gzip
import hashlib
import http.server
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from chainrule.errors import ChainruleError
from chainrule.mnist import download
from chainrule.mnist.download import default_cache_dir, download_mnist
from mnist_model import tiny_checkpoint

__all__ = ["tiny_checkpoint"]  # a fixture, imported for pytest

NAMES = list(download.MNIST_MD5)


class _Mirror:
    """A static file server on 127.0.0.1 that records the paths it was asked for."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.requests: list[str] = []
        mirror = self

        class Handler(http.server.SimpleHTTPRequestHandler):
            def __init__(self, *args: object, **kwargs: object) -> None:
                super().__init__(*args, directory=str(root), **kwargs)  # type: ignore[arg-type]

            def do_GET(self) -> None:
                mirror.requests.append(self.path)
                super().do_GET()

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/mnist/"
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _payloads() -> dict[str, bytes]:
    """Small gzip files standing in for the four MNIST files (distinct contents)."""
    return {name: gzip.compress(name.encode() * 100, mtime=0) for name in NAMES}


@pytest.fixture
def payloads() -> dict[str, bytes]:
    return _payloads()


@pytest.fixture
def checksums(payloads: dict[str, bytes]) -> dict[str, str]:
    return {name: hashlib.md5(data).hexdigest() for name, data in payloads.items()}


def _serve(tmp_path: Path, label: str, files: dict[str, bytes]) -> _Mirror:
    root = tmp_path / label
    (root / "mnist").mkdir(parents=True)
    for name, data in files.items():
        (root / "mnist" / name).write_bytes(data)
    return _Mirror(root)


@pytest.fixture
def good_mirror(tmp_path: Path, payloads: dict[str, bytes]) -> Iterator[_Mirror]:
    mirror = _serve(tmp_path, "good", payloads)
    yield mirror
    mirror.close()


def _closed_port_url() -> str:
    """A URL nothing listens on: connecting is refused at once."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}/mnist/"


def test_default_mirrors_are_pytorch_s3_then_cvdf() -> None:
    assert download.MIRRORS[0].startswith("https://ossci-datasets.s3.amazonaws.com/mnist")
    assert download.MIRRORS[1].startswith("https://storage.googleapis.com/cvdf-datasets/mnist")


def test_cache_dir_follows_xdg(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert default_cache_dir() == tmp_path / "chainrule" / "mnist"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert default_cache_dir() == tmp_path / "home" / ".cache" / "chainrule" / "mnist"


def test_downloads_every_file_with_checksums(
    tmp_path: Path, good_mirror: _Mirror, payloads: dict[str, bytes], checksums: dict[str, str]
) -> None:
    target = tmp_path / "cache"
    result = download_mnist(target, mirrors=[good_mirror.url], checksums=checksums, timeout=5)
    assert result == target
    for name, data in payloads.items():
        assert (target / name).read_bytes() == data
    assert sorted(good_mirror.requests) == sorted(f"/mnist/{name}" for name in NAMES)
    assert [p.name for p in target.iterdir() if p.name.startswith(".")] == []  # no temp files


def test_uses_the_cache_by_default(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    good_mirror: _Mirror,
    checksums: dict[str, str],
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    result = download_mnist(mirrors=[good_mirror.url], checksums=checksums, timeout=5)
    assert result == tmp_path / "xdg" / "chainrule" / "mnist"
    assert sorted(p.name for p in result.iterdir()) == sorted(NAMES)


def test_present_files_are_not_fetched_again(
    tmp_path: Path, good_mirror: _Mirror, checksums: dict[str, str]
) -> None:
    target = tmp_path / "data"
    target.mkdir()
    (target / NAMES[0]).write_bytes(b"already here")
    (target / NAMES[1].removesuffix(".gz")).write_bytes(b"decompressed copy")
    download_mnist(target, mirrors=[good_mirror.url], checksums=checksums, timeout=5)
    assert sorted(good_mirror.requests) == sorted(f"/mnist/{name}" for name in NAMES[2:])
    assert (target / NAMES[0]).read_bytes() == b"already here"
    assert not (target / NAMES[1]).exists()
    good_mirror.requests.clear()
    download_mnist(target, mirrors=[good_mirror.url], checksums=checksums, timeout=5)
    assert good_mirror.requests == []


def test_unreachable_first_mirror_falls_back_to_the_next(
    tmp_path: Path, good_mirror: _Mirror, payloads: dict[str, bytes], checksums: dict[str, str]
) -> None:
    target = tmp_path / "cache"
    download_mnist(
        target, mirrors=[_closed_port_url(), good_mirror.url], checksums=checksums, timeout=5
    )
    assert all((target / name).read_bytes() == data for name, data in payloads.items())


def test_corrupt_mirror_is_rejected_by_md5_and_the_next_one_used(
    tmp_path: Path, good_mirror: _Mirror, payloads: dict[str, bytes], checksums: dict[str, str]
) -> None:
    tampered = {name: data[:-1] + b"\x00" for name, data in payloads.items()}
    bad_mirror = _serve(tmp_path, "bad", tampered)
    try:
        target = tmp_path / "cache"
        download_mnist(
            target, mirrors=[bad_mirror.url, good_mirror.url], checksums=checksums, timeout=5
        )
    finally:
        bad_mirror.close()
    assert len(bad_mirror.requests) == 4  # each file was tried there first
    assert all((target / name).read_bytes() == data for name, data in payloads.items())


def test_only_corrupt_mirrors_is_an_error_that_names_the_checksum(
    tmp_path: Path, payloads: dict[str, bytes], checksums: dict[str, str]
) -> None:
    bad_mirror = _serve(tmp_path, "bad", {n: b"not gzip" for n in payloads})
    target = tmp_path / "cache"
    try:
        with pytest.raises(ChainruleError, match=r"could not download .*MD5") as info:
            download_mnist(target, mirrors=[bad_mirror.url], checksums=checksums, timeout=5)
    finally:
        bad_mirror.close()
    assert "\n" not in str(info.value)
    assert list(target.iterdir()) == []  # nothing half-written or unverified kept


def test_http_404_is_not_mistaken_for_offline(tmp_path: Path, checksums: dict[str, str]) -> None:
    empty_mirror = _serve(tmp_path, "empty", {})
    try:
        with pytest.raises(ChainruleError, match="404"):
            download_mnist(tmp_path / "c", mirrors=[empty_mirror.url], checksums=checksums)
    finally:
        empty_mirror.close()


def test_offline_says_what_to_do_in_one_line(tmp_path: Path, checksums: dict[str, str]) -> None:
    target = tmp_path / "cache"
    with pytest.raises(ChainruleError) as info:
        download_mnist(
            target, mirrors=[_closed_port_url(), _closed_port_url()], checksums=checksums, timeout=2
        )
    message = str(info.value)
    assert "\n" not in message
    assert str(target) in message and "pass data_dir," in message
    assert "pass --data-dir," in info.value.render({"data_dir": "--data-dir"})
    assert all(name in message for name in NAMES)


def test_a_silent_server_times_out_instead_of_hanging(
    tmp_path: Path, checksums: dict[str, str]
) -> None:
    # accepts connections (the kernel's backlog does) but never answers
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        url = f"http://127.0.0.1:{silent.getsockname()[1]}/mnist/"
        start = time.monotonic()
        with pytest.raises(ChainruleError, match="no mirror could be reached"):
            download_mnist(tmp_path / "cache", mirrors=[url], checksums=checksums, timeout=0.3)
    assert time.monotonic() - start < 30  # bounded, not a hang (generous on a loaded CI box)


def test_oversized_answers_are_cut_off(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    good_mirror: _Mirror,
    checksums: dict[str, str],
) -> None:
    monkeypatch.setattr(download, "MAX_DOWNLOAD_BYTES", 10)
    with pytest.raises(ChainruleError, match="more than 10 bytes"):
        download_mnist(tmp_path / "c", mirrors=[good_mirror.url], checksums=checksums, timeout=5)


@pytest.fixture
def served_by_default(
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    good_mirror: _Mirror,
    checksums: dict[str, str],
) -> Path:
    """Point the module's default mirrors, checksums and cache at local test doubles."""
    monkeypatch.setattr(download, "MIRRORS", (_closed_port_url(), good_mirror.url))
    monkeypatch.setattr(download, "MNIST_MD5", checksums)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    return tmp_path / "xdg" / "chainrule" / "mnist"


def test_fallback_for_the_default_folder_fills_the_cache(
    tmp_path: Path, served_by_default: Path
) -> None:
    found = download.fallback_dir(tmp_path / "repo-data", explicit=False, progress=False)
    assert found == served_by_default
    assert sorted(p.name for p in served_by_default.iterdir()) == sorted(NAMES)
    assert not (tmp_path / "repo-data").exists()


def test_fallback_fills_an_empty_named_folder(tmp_path: Path, served_by_default: Path) -> None:
    named = tmp_path / "mine"
    assert download.fallback_dir(named, explicit=True, progress=False) == named
    assert sorted(p.name for p in named.iterdir()) == sorted(NAMES)


def test_fallback_never_mixes_mnist_into_a_half_filled_folder(
    tmp_path: Path, served_by_default: Path, good_mirror: _Mirror
) -> None:
    named = tmp_path / "fashion"
    named.mkdir()
    (named / "train-images.idx3-ubyte").write_bytes(b"some other dataset")
    assert download.fallback_dir(named, explicit=True, progress=False) is None
    assert good_mirror.requests == []
    assert [p.name for p in named.iterdir()] == ["train-images.idx3-ubyte"]


# ---------------------------------------------------------------- the loader's call site

REPO_MNIST = Path(__file__).resolve().parents[1] / "data" / "mnist"


@pytest.fixture
def real_mirror(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[_Mirror]:
    """A local mirror serving the repo's MNIST files, with their MD5s as the expected ones."""
    files = {name: (REPO_MNIST / name).read_bytes() for name in NAMES}
    monkeypatch.setattr(
        download, "MNIST_MD5", {n: hashlib.md5(d).hexdigest() for n, d in files.items()}
    )
    mirror = _serve(tmp_path, "real", files)
    monkeypatch.setattr(download, "MIRRORS", (_closed_port_url(), mirror.url))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    monkeypatch.delenv("CHAINRULE_DATA_DIR", raising=False)
    yield mirror
    mirror.close()


def test_load_mnist_downloads_into_the_cache_when_the_default_folder_is_empty(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, real_mirror: _Mirror
) -> None:
    from chainrule.mnist import data

    monkeypatch.setattr(data, "DEFAULT_DATA_DIR", tmp_path / "no-data-here")
    images, labels = data.load_mnist("test")
    assert images.shape == (10000, 28, 28) and labels[:3].tolist() == [7, 2, 1]
    assert (tmp_path / "xdg" / "chainrule" / "mnist" / "t10k-images-idx3-ubyte.gz").is_file()
    requests = len(real_mirror.requests)
    data.load_mnist("test")  # now served from the cache
    assert len(real_mirror.requests) == requests


def test_load_mnist_fills_an_empty_named_folder_but_not_a_half_filled_one(
    tmp_path: Path, real_mirror: _Mirror
) -> None:
    from chainrule.mnist import data

    empty = tmp_path / "empty"
    assert data.load_mnist("test", empty)[0].shape == (10000, 28, 28)
    half = tmp_path / "half"
    half.mkdir()
    (half / "t10k-images-idx3-ubyte.gz").write_bytes(
        (REPO_MNIST / "t10k-images-idx3-ubyte.gz").read_bytes()
    )
    with pytest.raises(data.MissingDataError, match="t10k-labels"):
        data.load_mnist("test", half)


def test_offline_cli_is_one_line_and_exit_2(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    tiny_checkpoint: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from chainrule.cli import main

    monkeypatch.setattr(download, "MIRRORS", (_closed_port_url(), _closed_port_url()))
    empty = tmp_path / "empty"
    args = ["mnist", "evaluate", "--checkpoint", str(tiny_checkpoint), "--data-dir", str(empty)]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no mirror could be reached" in err and str(empty) in err
    assert "or pass --data-dir, a folder" in err  # the CLI names its flag
