"""The report's cache: a finished part is stored under a key of its inputs and code.

The key hashes the part's inputs (expression, values, budget, facts it uses from
other parts) and the source files of the chainrule modules it depends on, so
editing the trainer retrains, while editing the HTML writer reuses everything.
One file per part, replaced atomically: a crash or a failing part never spoils
what the others stored.

>>> import tempfile
>>> cache = Cache(Path(tempfile.mkdtemp()))
>>> key = cache_key("demo", {"x": 1}, ["chainrule.graph"])
>>> cache.load("demo", key) is None
True
>>> cache.store("demo", key, {"facts": {"y": 2}})
>>> cache.load("demo", key)
{'facts': {'y': 2}}
>>> cache.load("demo", cache_key("demo", {"x": 2}, ["chainrule.graph"])) is None
True
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import re
from collections.abc import Iterable, Mapping
from functools import cache
from pathlib import Path
from typing import Any

from chainrule import __version__
from chainrule.files import write_atomic

FORMAT = 1
"""Bumped when what a part stores changes shape."""

_SAFE_NAME = re.compile(r"[^A-Za-z0-9_.-]+")


@cache
def source_digest(module: str) -> str:
    """SHA-256 of a module's source (all ``.py`` files of a package); "missing" if absent.

    >>> len(source_digest("chainrule.graph")), source_digest("chainrule.no_such_module")
    (64, 'missing')
    """
    try:
        spec = importlib.util.find_spec(module)
    except (ImportError, ValueError):
        spec = None
    if spec is None or spec.origin is None:
        return "missing"
    origin = Path(spec.origin)
    files = sorted(origin.parent.rglob("*.py")) if origin.name == "__init__.py" else [origin]
    digest = hashlib.sha256()
    for file in files:
        digest.update(file.name.encode())
        digest.update(file.read_bytes())
    return digest.hexdigest()


def cache_key(part: str, inputs: Mapping[str, Any], modules: Iterable[str]) -> str:
    """The key of a part's result: its inputs, the code it runs, chainrule's version."""
    material = {
        "part": part,
        "inputs": inputs,
        "code": {module: source_digest(module) for module in sorted(set(modules))},
        "version": __version__,
        "format": FORMAT,
    }
    text = json.dumps(material, sort_keys=True, default=repr)
    return hashlib.sha256(text.encode()).hexdigest()


class Cache:
    """A folder of ``<part>.json`` files, each ``{"key": ..., "value": ...}``."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def _file(self, part: str) -> Path:
        return self.folder / f"{_SAFE_NAME.sub('_', part)}.json"

    def load(self, part: str, key: str) -> Any | None:
        """The stored value if its key matches, else None (also for an unreadable file)."""
        try:
            stored = json.loads(self._file(part).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        if not isinstance(stored, dict) or stored.get("key") != key:
            return None
        return stored.get("value")

    def store(self, part: str, key: str, value: Any) -> None:
        """Store ``value`` (JSON-ready) for ``part`` under ``key``, replacing the old one."""
        write_atomic(self._file(part), json.dumps({"key": key, "value": value}))

    def timings(self) -> dict[str, float]:
        """Seconds each part took when it last ran (for the progress display's estimate)."""
        try:
            data = json.loads((self.folder / "timings.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return {k: float(v) for k, v in data.items() if isinstance(v, int | float)}

    def record_timing(self, part: str, seconds: float) -> None:
        """Remember how long ``part`` took."""
        timings = self.timings()
        timings[part] = round(seconds, 2)
        write_atomic(self.folder / "timings.json", json.dumps(timings, indent=1, sort_keys=True))
