"""Writing files so that a crash at any moment never leaves half a file behind.

>>> import tempfile, pathlib
>>> target = pathlib.Path(tempfile.mkdtemp()) / "out.txt"
>>> write_atomic(target, "hello\\n")
>>> target.read_text()
'hello\\n'
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

from chainrule.errors import ChainruleError


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it over ``path`` on success.

    The rename is atomic on POSIX, so readers see the old file or the new one,
    never a partial write (e.g. a checkpoint while training is killed).
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    os.close(fd)
    try:
        yield Path(tmp)
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; give the usual permissions
        os.replace(tmp, target)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_atomic(path: str | os.PathLike[str], data: str | bytes) -> None:
    """Write text or bytes to ``path`` atomically."""
    with atomic_path(path) as tmp:
        if isinstance(data, str):
            tmp.write_text(data, encoding="utf-8")
        else:
            tmp.write_bytes(data)


def read_text(path: str | os.PathLike[str], what: str, limit: int) -> str:
    """The UTF-8 text of ``path`` (``what``: "the key file"), or a one-line error saying why not.

    A file over ``limit`` bytes is refused before it is read.

    >>> read_text("/nope", "the key file", 100)
    Traceback (most recent call last):
    chainrule.errors.ChainruleError: /nope: cannot read the key file (No such file or directory)
    """
    try:
        if os.stat(path).st_size > limit:
            raise ChainruleError(f"{path}: {what} is larger than {limit:,} bytes")
        return Path(path).read_text(encoding="utf-8")
    except OSError as error:
        raise ChainruleError(f"{path}: cannot read {what} ({error.strerror})") from None
    except UnicodeDecodeError:
        raise ChainruleError(f"{path}: {what} is not UTF-8 text") from None
