"""The report's cache: a finished part is stored under a key of its inputs and code.

The key hashes the part's inputs (expression, values, budget, facts it uses from
other parts) and the source files of the chainrule modules it depends on, so
editing the trainer retrains, while editing the HTML writer reuses everything.
One file per part, replaced atomically: a crash or a failing part never spoils
what the others stored.

>>> import tempfile
>>> cache = Cache(Path(tempfile.mkdtemp()))
>>> key = cache_key("demo", {"x": 1}, ["chainrule.core.graph"])
>>> cache.load("demo", key) is None
True
>>> cache.store("demo", key, {"facts": {"y": 2}})
>>> cache.load("demo", key)
{'facts': {'y': 2}}
>>> cache.load("demo", cache_key("demo", {"x": 2}, ["chainrule.core.graph"])) is None
True
"""

from __future__ import annotations

import ast
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

_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]+")


def safe_name(part: str) -> str:
    """A part id as a file name.

    >>> safe_name("1.2 A/B")
    '1.2_A_B'
    """
    return _UNSAFE.sub("_", part)


def module_file(module: str) -> Path | None:
    """The source file of a chainrule module (a package's ``__init__.py``), None if absent."""
    try:
        spec = importlib.util.find_spec(module)
    except (ImportError, ValueError):  # a name inside a module, or a missing parent
        return None
    if spec is None or spec.origin is None or not spec.origin.endswith(".py"):
        return None
    return Path(spec.origin)


def _imported(path: Path, module: str) -> set[str]:
    """The chainrule modules a source file imports (``from x import y`` may name a module y)."""
    found: set[str] = set()
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_bytes())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative import
                parent = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{parent}.{base}" if base else parent
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return {name for name in found if name.split(".")[0] == "chainrule"}


def module_closure(module: str) -> list[str]:
    """``module`` and every chainrule module it imports, transitively, that exists.

    >>> "chainrule.core.graph" in module_closure("chainrule.core.evaluate")
    True
    """
    seen, queue, found = {module}, [module], []
    while queue:  # breadth first over the import graph; no recursion
        name = queue.pop(0)
        path = module_file(name)
        if path is None:
            continue
        found.append(name)
        for imported in sorted(_imported(path, name) - seen):
            seen.add(imported)
            queue.append(imported)
    return sorted(found)


@cache
def source_digest(module: str) -> str:
    """SHA-256 of a module's source and of every chainrule module it imports, transitively.

    Imports are read from the source (``ast``), so the key covers exactly the code the
    module can run, however the modules are arranged; a module that does not exist yet
    counts as "missing", so its arrival changes the key.

    >>> len(source_digest("chainrule.core.graph")), source_digest("chainrule.no_such_module")
    (64, 'missing')
    >>> source_digest("chainrule.errors") != source_digest("chainrule.core.graph")
    True
    """
    closure = module_closure(module)
    if not closure:
        return "missing"
    digest = hashlib.sha256()
    for name in closure:
        path = module_file(name)
        assert path is not None
        digest.update(f"{name}\n".encode())
        digest.update(path.read_bytes())
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
        return self.folder / f"{safe_name(part)}.json"

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
