"""Fetch the four MNIST files from the maintained mirrors when they are missing.

The original host (yann.lecun.com) no longer serves the files reliably, so the
mirrors that torchvision uses are tried in order: the PyTorch S3 mirror, then
Google's CVDF mirror. Every download is checked against the MD5 of the original
``.gz`` (the sums torchvision publishes) and written atomically, so an
interrupted or tampered download never leaves a file that looks complete.

Offline, :func:`download_mnist` raises a one-line :class:`ChainruleError` that
says exactly what to do instead.

>>> default_cache_dir().parts[-2:]
('chainrule', 'mnist')
>>> sorted(MNIST_MD5)[0]
't10k-images-idx3-ubyte.gz'
"""

from __future__ import annotations

import hashlib
import os
import sys
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from pathlib import Path

from chainrule.errors import ChainruleError
from chainrule.files import atomic_path

MIRRORS: tuple[str, ...] = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
)

# MD5 of each original .gz, as published by torchvision (see data/mnist/README.md).
MNIST_MD5: dict[str, str] = {
    "train-images-idx3-ubyte.gz": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
    "train-labels-idx1-ubyte.gz": "d53e105ee54ea40749a09fcbcd1e9432",
    "t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
    "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c",
}

# The largest file is ~9.9 MB; anything far bigger is not MNIST, so stop reading.
MAX_DOWNLOAD_BYTES = 64 * 1024 * 1024
_CHUNK = 1 << 16


class _BadDownload(Exception):
    """One mirror failed for one file (network, HTTP status, size or checksum)."""


def default_cache_dir() -> Path:
    """``$XDG_CACHE_HOME/chainrule/mnist``, or ``~/.cache/chainrule/mnist``."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "chainrule" / "mnist"


def idx_spellings(data_dir: Path, stem: str) -> list[Path]:
    """Where an IDX file may be: standard or dotted name, gzipped or raw.

    >>> [p.name for p in idx_spellings(Path("."), "t10k-labels-idx1-ubyte")][::2]
    ['t10k-labels-idx1-ubyte.gz', 't10k-labels.idx1-ubyte.gz']
    """
    dotted = stem.replace("-idx", ".idx")
    return [data_dir / f"{name}{ext}" for name in (stem, dotted) for ext in (".gz", "")]


def missing_files(data_dir: Path, names: Sequence[str]) -> list[str]:
    """The names in ``names`` that ``data_dir`` lacks in every spelling the loader reads.

    ``train-images-idx3-ubyte.gz`` is present as itself, decompressed, or with the
    dotted name some copies use (``train-images.idx3-ubyte``).

    >>> missing_files(Path("/nonexistent"), ["t10k-labels-idx1-ubyte.gz"])
    ['t10k-labels-idx1-ubyte.gz']
    """
    return [
        name
        for name in names
        if not any(p.is_file() for p in idx_spellings(data_dir, name.removesuffix(".gz")))
    ]


def offline_advice(folder: Path, names: Sequence[str]) -> ChainruleError:
    """The one-line error that tells a user without network what to do."""
    return ChainruleError.naming(
        "MNIST files missing in {folder} ({names}) and no mirror could be reached; "
        "copy them there from a machine with internet ({mirror}NAME) "
        "or pass {data_dir}, a folder holding the four IDX files (the repository ships "
        "them in data/mnist)",
        folder=folder, names=", ".join(names), mirror=MIRRORS[0],
    )


def _fetch(url: str, target: Path, expected_md5: str, timeout: float, progress: bool) -> None:
    """Download ``url`` to ``target`` atomically if its MD5 is ``expected_md5``."""
    from tqdm import tqdm

    digest = hashlib.md5(usedforsecurity=False)
    try:
        with (
            urllib.request.urlopen(url, timeout=timeout) as response,
            atomic_path(target) as tmp,
            tmp.open("wb") as out,
        ):
            total = int(response.headers.get("Content-Length") or 0) or None
            bar = tqdm(
                total=total,
                unit="B",
                unit_scale=True,
                desc=target.name,
                file=sys.stderr,
                disable=not progress or not sys.stderr.isatty(),
                leave=False,
            )
            with bar:
                size = 0
                for chunk in iter(lambda: response.read(_CHUNK), b""):
                    size += len(chunk)
                    if size > MAX_DOWNLOAD_BYTES:
                        raise _BadDownload(f"{url}: more than {MAX_DOWNLOAD_BYTES} bytes")
                    digest.update(chunk)
                    out.write(chunk)
                    bar.update(len(chunk))
            out.flush()
            if digest.hexdigest() != expected_md5:
                raise _BadDownload(f"{url}: MD5 {digest.hexdigest()} != {expected_md5}")
    except (OSError, ValueError) as error:
        # URLError/HTTPError/timeouts/refused connections are all OSErrors; ValueError: bad URL
        raise _BadDownload(f"{url}: {error}") from error


def download_mnist(
    data_dir: str | os.PathLike[str] | None = None,
    *,
    mirrors: Sequence[str] | None = None,
    checksums: Mapping[str, str] | None = None,
    timeout: float = 20.0,
    progress: bool = True,
) -> Path:
    """Make sure ``data_dir`` (default: the cache) holds the MNIST files; return it.

    Files already present (as ``.gz`` or decompressed) are left alone; each missing
    one is fetched from the first of ``mirrors`` (default :data:`MIRRORS`) that
    serves it with the MD5 in ``checksums`` (default :data:`MNIST_MD5`).
    ``timeout`` bounds every connection and every read, so a dead network fails in
    seconds instead of hanging. Raises :class:`ChainruleError` (one line) when a
    file cannot be fetched from any mirror.
    """
    target_dir = Path(data_dir) if data_dir is not None else default_cache_dir()
    mirrors = MIRRORS if mirrors is None else mirrors
    checksums = MNIST_MD5 if checksums is None else checksums
    missing = missing_files(target_dir, list(checksums))
    if not missing:
        return target_dir
    try:
        target_dir.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise ChainruleError(f"cannot create the MNIST cache {target_dir}: {error}") from None
    for name in missing:
        failures = _fetch_from_any(name, target_dir, mirrors, checksums[name], timeout, progress)
        if failures is None:
            continue
        if all(_is_network_failure(failure) for failure in failures):
            raise offline_advice(target_dir, missing)
        raise ChainruleError(f"could not download {name}: " + "; ".join(map(str, failures)))
    return target_dir


def _fetch_from_any(
    name: str, target_dir: Path, mirrors: Sequence[str], md5: str, timeout: float, progress: bool
) -> list[_BadDownload] | None:
    """Try each mirror in turn; ``None`` on success, else every mirror's failure."""
    failures: list[_BadDownload] = []
    for mirror in mirrors:
        try:
            _fetch(mirror.rstrip("/") + "/" + name, target_dir / name, md5, timeout, progress)
            return None
        except _BadDownload as failure:
            failures.append(failure)
    return failures


def _is_network_failure(failure: _BadDownload) -> bool:
    """True when the mirror was unreachable (as offline), not when it answered badly."""
    cause = failure.__cause__
    if isinstance(cause, urllib.error.HTTPError):
        return False
    return isinstance(cause, (urllib.error.URLError, TimeoutError, ConnectionError))


def fallback_dir(data_dir: Path, explicit: bool, progress: bool = True) -> Path | None:
    """Where to read MNIST from when ``data_dir`` lacks some of its files.

    The loader's download call site uses this. The default folder (``explicit``
    false) falls back to the cache, downloading what the cache lacks. A folder
    the user named is filled by download only when it holds none of the four
    files: a half-filled folder may hold another IDX dataset (Fashion-MNIST has
    the same file names), which MNIST files must not be mixed into; then the
    answer is ``None`` and the caller reports the missing files.
    """
    if not explicit:
        return download_mnist(default_cache_dir(), progress=progress)
    if len(missing_files(data_dir, list(MNIST_MD5))) < len(MNIST_MD5):
        return None
    return download_mnist(data_dir, progress=progress)
