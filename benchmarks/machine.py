"""What every benchmark table names: the processor (its timings mean nothing without it)."""

from __future__ import annotations

import platform
from pathlib import Path


def cpu_model() -> str:
    """The processor's name as the kernel reports it (platform's answer elsewhere).

    >>> isinstance(cpu_model(), str) and cpu_model() != ""
    True
    """
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:  # not Linux
        pass
    return platform.processor() or platform.machine() or "unknown"
