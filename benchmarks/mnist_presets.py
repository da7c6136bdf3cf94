"""chainrule's MNIST presets against the baselines, each measured in a fresh process, same run.

Parts (``--parts``, default all but ``best``):
  fast        `mnist train --preset fast` vs the fastest public recipe
              (benchmarks/mnist_reference.py), alternating, one pair per seed
  mlp         `--preset mlp`, per seed
  examples    `--preset examples --epochs 1` vs pytorch/examples re-implemented
              (benchmarks/mnist_examples_reference.py), one epoch each
  ddp         `--preset fast --epochs 3`, one process vs torchrun with 2 processes
  ddp-best    the same with `--preset best --epochs 2` (about 2.5 minutes a run)
  checkpoint  time spent writing checkpoints and metrics, as a share of the epoch
  best        `--preset best`, per seed (11-17 minutes each on 2 cores)
  other       `fast` vs the reference on other datasets in MNIST's format
              (`--data-dir`, repeatable; default Debian's dataset-fashion-mnist)

Times run from process start to the printed accuracy (imports and data loading
included). Run:

    .venv/bin/python -m benchmarks.mnist_presets [--seeds 5] [--parts fast,mlp,...]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from benchmarks.machine import torch_machine

REPO = Path(__file__).resolve().parents[1]
FASHION_MNIST = "/usr/share/datasets/fashion-mnist"  # Debian's dataset-fashion-mnist
ACCURACY = re.compile(r"test accuracy ([0-9.]+)%|\"test_accuracy\": ([0-9.]+)")


def timed(command: Sequence[str], env: dict[str, str] | None = None) -> tuple[float, float]:
    """(accuracy %, seconds from start to the last accuracy printed) of a command."""
    started = time.perf_counter()
    process = subprocess.Popen(
        command,
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **(env or {})},
    )
    accuracy, seconds = float("nan"), float("nan")
    assert process.stdout is not None
    for line in process.stdout:
        match = ACCURACY.search(line)
        if match:
            accuracy = float(match.group(1) or match.group(2))
            seconds = time.perf_counter() - started
    _, err = process.communicate()
    if process.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed:\n{err[-2000:]}")
    return accuracy, seconds


def chainrule(*args: str) -> list[str]:
    out = tempfile.mkdtemp(prefix="mnist-bench-")
    return [sys.executable, "-m", "chainrule", "mnist", "train", "--quiet", "--out", out, *args]


def torchrun(processes: int, *args: str) -> list[str]:
    out = tempfile.mkdtemp(prefix="mnist-bench-")
    launcher = [sys.executable, "-m", "torch.distributed.run", f"--nproc_per_node={processes}"]
    launcher += ["--master_addr=127.0.0.1", "--master_port=29531"]
    return [*launcher, "-m", "chainrule", "mnist", "train", "--quiet", "--out", out, *args]


def summary(values: list[float], digits: int = 2) -> str:
    """Mean, then median and range: 'mean / median (min-max)'."""
    if len(values) == 1:
        return f"{values[0]:.{digits}f}"
    spread = f"{min(values):.{digits}f}-{max(values):.{digits}f}"
    middle = statistics.median(values)
    return f"{statistics.mean(values):.{digits}f} / {middle:.{digits}f} ({spread})"


def ratio(ours: list[tuple[float, float]], theirs: list[tuple[float, float]]) -> str:
    """Time ratio of the means and of the medians."""
    mean = statistics.mean(t for _, t in ours) / statistics.mean(t for _, t in theirs)
    median = statistics.median(t for _, t in ours) / statistics.median(t for _, t in theirs)
    return f"{mean:.2f} / {median:.2f}"


def row(*cells: str) -> None:
    print("| " + " | ".join(cells) + " |", flush=True)


def bench_fast(seeds: int) -> None:
    # The reference runs twice per seed: as its script runs anywhere (torch's default,
    # spinning OpenMP threads) and with the sleeping threads chainrule's CLI asks for,
    # so that the comparison with the same runtime setting is there too.
    script = [sys.executable, "benchmarks/mnist_reference.py"]
    default: list[tuple[float, float]] = []
    passive: list[tuple[float, float]] = []
    ours: list[tuple[float, float]] = []
    for seed in range(seeds):
        default.append(timed([*script, f"--seed={seed}"]))
        passive.append(timed([*script, f"--seed={seed}"], {"OMP_WAIT_POLICY": "PASSIVE"}))
        ours.append(timed(chainrule("--preset", "fast", f"--seed={seed}")))
        print(f"  seed {seed}: {default[-1]} {passive[-1]} {ours[-1]}", file=sys.stderr)
    for label, runs in (
        ("fastest public recipe (reference)", default),
        ("reference, OMP_WAIT_POLICY=PASSIVE", passive),
        ("chainrule `fast`", ours),
    ):
        row(label, str(seeds), summary([a for a, _ in runs]), summary([t for _, t in runs], 1),
            ratio(runs, default) + " (" + ratio(runs, passive) + ")")  # fmt: skip


def bench_other(seeds: int, data_dirs: list[str], preset: str = "fast") -> None:
    """`preset` and the reference on each dataset, alternating, one pair per seed."""
    script = [sys.executable, "benchmarks/mnist_reference.py"]
    for data_dir in data_dirs:
        name = Path(data_dir).name
        theirs, ours = [], []
        for seed in range(seeds):
            theirs.append(timed([*script, f"--seed={seed}"], {"CHAINRULE_DATA_DIR": data_dir}))
            args = ("--preset", preset, "--data-dir", data_dir, f"--seed={seed}")
            ours.append(timed(chainrule(*args)))
            print(f"  {name} seed {seed}: {theirs[-1]} {ours[-1]}", file=sys.stderr)
        gap = statistics.mean(a for a, _ in ours) - statistics.mean(a for a, _ in theirs)
        row(f"{name}: reference", str(seeds), summary([a for a, _ in theirs]),
            summary([t for _, t in theirs], 1), "1.00")  # fmt: skip
        row(f"{name}: chainrule `{preset}` ({gap:+.2f} points)", str(seeds),
            summary([a for a, _ in ours]), summary([t for _, t in ours], 1),
            ratio(ours, theirs))  # fmt: skip


def bench_mlp(seeds: int) -> None:
    runs = [timed(chainrule("--preset", "mlp", f"--seed={seed}")) for seed in range(seeds)]
    row("chainrule `mlp`", str(seeds), summary([a for a, _ in runs]),
        summary([t for _, t in runs], 1), "")  # fmt: skip


def bench_examples(seeds: int) -> None:
    script = [sys.executable, "benchmarks/mnist_examples_reference.py", "--epochs=1"]
    reference = [timed([*script, f"--seed={seed}"]) for seed in range(1, seeds + 1)]
    ours = [
        timed(chainrule("--preset", "examples", "--epochs", "1", f"--seed={seed}"))
        for seed in range(1, seeds + 1)
    ]
    row("pytorch/examples, 1 epoch (reference)", str(seeds), summary([a for a, _ in reference]),
        summary([t for _, t in reference], 1), "1.00")  # fmt: skip
    row("chainrule `examples`, 1 epoch", str(seeds), summary([a for a, _ in ours]),
        summary([t for _, t in ours], 1), ratio(ours, reference))  # fmt: skip


def bench_ddp(seeds: int, preset: str, epochs: int) -> None:
    args = ("--preset", preset, "--epochs", str(epochs))
    single = [timed(chainrule(*args, f"--seed={seed}")) for seed in range(seeds)]
    double = [timed(torchrun(2, *args, f"--seed={seed}")) for seed in range(seeds)]
    name = f"`{preset} --epochs {epochs}`"
    row(f"{name}, 1 process x 2 threads", str(seeds), summary([a for a, _ in single]),
        summary([t for _, t in single], 1), "1.00")  # fmt: skip
    row(f"{name}, torchrun 2 processes x 1 thread", str(seeds),
        summary([a for a, _ in double]), summary([t for _, t in double], 1),
        ratio(double, single))  # fmt: skip


CHECKPOINT_SNIPPET = """
import json, sys, tempfile
from pathlib import Path
from chainrule.mnist.config import PRESETS, replace
from chainrule.mnist.train import train
config = replace(PRESETS[sys.argv[1]], epochs=int(sys.argv[2]))
result = train(config, Path(tempfile.mkdtemp()), progress=False)
epoch = sum(e["seconds"] for e in result.epochs) / len(result.epochs)
print(json.dumps({"share": result.checkpoint_seconds / len(result.epochs) / epoch,
                  "per_epoch": result.checkpoint_seconds / len(result.epochs), "epoch": epoch}))
"""


def bench_checkpoint() -> None:
    for preset, epochs in (("fast", "1"), ("best", "1")):
        command = [sys.executable, "-c", CHECKPOINT_SNIPPET, preset, epochs]
        done = subprocess.run(command, cwd=REPO, capture_output=True, text=True, check=True)
        result = json.loads(done.stdout.strip().splitlines()[-1])
        row(f"checkpoint + metrics, `{preset}`", "1", f"{100 * result['share']:.2f}% of an epoch",
            f"{1000 * result['per_epoch']:.0f} ms / {result['epoch']:.1f} s", "")  # fmt: skip


def bench_best(seeds: int) -> None:
    runs = [timed(chainrule("--preset", "best", f"--seed={seed}")) for seed in range(seeds)]
    spread = statistics.stdev([a for a, _ in runs]) if len(runs) > 1 else 0.0
    row("chainrule `best`", str(seeds), summary([a for a, _ in runs]) + f" sd {spread:.3f}",
        summary([t for _, t in runs], 0), "")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5, help="seeds for fast and mlp")
    parser.add_argument("--best-seeds", type=int, default=3)
    parser.add_argument("--ddp-seeds", type=int, default=2)
    parser.add_argument("--examples-seeds", type=int, default=3)
    parser.add_argument("--parts", default="fast,mlp,examples,ddp,checkpoint")
    parser.add_argument("--data-dir", action="append", dest="data_dirs",
                        help="a dataset for `other` (repeatable)")  # fmt: skip
    parser.add_argument("--other-preset", default="fast", help="the preset `other` runs")
    args = parser.parse_args()
    parts = args.parts.split(",")
    print(f"{torch_machine()}; {sys.executable}, {time.strftime('%Y-%m-%d %H:%M')}")
    row("run", "seeds", "test accuracy %: mean / median (min-max)", "seconds: same",
        "time ratio: means / medians")  # fmt: skip
    row("---", "---", "---", "---", "---")
    if "fast" in parts:
        bench_fast(args.seeds)
    if "mlp" in parts:
        bench_mlp(args.seeds)
    if "examples" in parts:
        bench_examples(args.examples_seeds)
    if "ddp" in parts:
        bench_ddp(args.ddp_seeds, "fast", 3)
    if "ddp-best" in parts:
        bench_ddp(args.ddp_seeds, "best", 2)
    if "checkpoint" in parts:
        bench_checkpoint()
    if "best" in parts:
        bench_best(args.best_seeds)
    if "other" in parts:
        bench_other(args.seeds, args.data_dirs or [FASHION_MNIST], args.other_preset)


if __name__ == "__main__":
    main()
