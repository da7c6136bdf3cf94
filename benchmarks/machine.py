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


def torch_machine() -> str:
    """The processor, its core count and torch's CPU capability, with the flags that cap it.

    ``ATEN_CPU_CAPABILITY=avx2`` and ``ONEDNN_MAX_CPU_ISA=AVX2`` make a bigger CPU
    measure the AVX2 case, so a table must say when they were set.
    """
    import os

    import torch

    flags = [f"{k}={os.environ[k]}" for k in ("ATEN_CPU_CAPABILITY", "ONEDNN_MAX_CPU_ISA")
             if k in os.environ]  # fmt: skip
    return (
        f"CPU: {cpu_model()}, {len(os.sched_getaffinity(0))} cores; torch {torch.__version__}, "
        f"capability {torch.backends.cpu.get_cpu_capability()}"
        + (f" ({', '.join(flags)})" if flags else "")
    )
