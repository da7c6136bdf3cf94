"""Start-up time of ``chainrule graph`` at one point, against ``python -c "import numpy"``.

A scalar graph needs none of numpy, sympy, torch or matplotlib, so the whole
command (interpreter start, imports, parsing, evaluating, printing) must take
less time than an interpreter that only imports numpy. Each command runs in a
fresh subprocess; the commands alternate, so that load from other processes
meets both alike, and the table gives the median of each.

Every module runs from compiled bytecode, as in an installed package: the
subprocesses share a temporary ``PYTHONPYCACHEPREFIX``, filled by a warm-up run
(``PYTHONDONTWRITEBYTECODE`` would otherwise make chainrule, unlike numpy's
installed files, compile its sources on every start).

Run:  .venv/bin/python -m benchmarks.startup [--repeat 21]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time

from benchmarks.machine import cpu_model

COMMANDS: dict[str, list[str]] = {
    'python -c "pass"': [sys.executable, "-c", "pass"],
    'python -c "import numpy"': [sys.executable, "-c", "import numpy"],
    'chainrule graph "(a - b*c)*d" --at a=2,b=-7,c=4,d=1': [
        sys.executable, "-m", "chainrule", "graph", "(a - b*c)*d", "--at", "a=2,b=-7,c=4,d=1",
    ],
}  # fmt: skip
BASELINE = 'python -c "import numpy"'


def timed(command: list[str], env: dict[str, str]) -> float:
    """Wall-clock seconds of one run of ``command`` (which must succeed)."""
    start = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, env=env)
    return time.perf_counter() - start


def measure(repeat: int) -> dict[str, float]:
    """The median seconds of each command, run in turn ``repeat`` times."""
    with tempfile.TemporaryDirectory() as cache:
        env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        env["PYTHONPYCACHEPREFIX"] = cache
        for command in COMMANDS.values():
            timed(command, env)  # compiles into the cache and warms the file cache
        samples: dict[str, list[float]] = {label: [] for label in COMMANDS}
        for _ in range(repeat):
            for label, command in COMMANDS.items():
                samples[label].append(timed(command, env))
    return {label: statistics.median(times) for label, times in samples.items()}


def cpu_capability() -> str:
    """torch's name for the vector instructions it uses (asked in a subprocess: torch is slow
    to import, and this process only times others)."""
    code = "import torch; print(torch.backends.cpu.get_cpu_capability())"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    return done.stdout.strip() or "unknown"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=21)
    args = parser.parse_args()
    medians = measure(args.repeat)
    print(f"CPU: {cpu_model()} (torch capability {cpu_capability()}), "
          f"Python {platform.python_version()}, median of {args.repeat} alternating runs\n")
    print("| command | median ms | vs import numpy |\n|---|---|---|")
    for label, seconds in medians.items():
        print(f"| `{label}` | {seconds * 1e3:.0f} | {seconds / medians[BASELINE]:.2f}× |")


if __name__ == "__main__":
    main()
