"""chainrule's tensor engine on MNIST MLPs against hand-written numpy and PyTorch, in one run.

Two parts:

  steps     time per training step, interleaved in one process on the same batches:
            a hand-written float32 numpy MLP (forward, backward and Adam written out,
            :class:`HandWritten`), chainrule.tensor (``mnist train --engine chainrule``'s
            step) and PyTorch on the CPU (``--engine torch``'s step), for the sheet's
            784 → 128 → 10 and the ``mlp`` preset's 784 → 512 → 10, batch 128, Adam,
            label smoothing 0.1, one thread each (the machine is shared). Rounds rotate
            the order. Times are CPU seconds of the (single-threaded) process, the least
            block of the rounds: on shared cores the wall clock mostly measures the
            others; per-epoch times are a step × 429 steps (55,000 / 128).
  accuracy  full ``chainrule mnist train`` runs, each in a fresh process: the sheet's
            network (``--preset mlp --hidden 128``) with chainrule, and the ``mlp`` preset
            with ``--engine chainrule`` and ``--engine torch``; test accuracy, seconds per
            epoch (from metrics.json) and the process's peak RSS.

Run (about 4 minutes on 2 busy cores)::

    .venv/bin/python -m benchmarks.tensor_mlp [--parts steps,accuracy] [--rounds 9] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.machine import cpu_model

REPO = Path(__file__).resolve().parents[1]
BATCH = 128
STEPS_PER_EPOCH = 55_000 // BATCH
SMOOTHING = 0.1


# ---------------------------------------------------------------- the hand-written baseline


class HandWritten:
    """784 → hidden → 10 ReLU MLP in float32 numpy: every gradient and Adam written out."""

    def __init__(self, weights: list[np.ndarray]) -> None:
        self.params = [w.astype(np.float32).copy() for w in weights]  # W1, b1, W2, b2
        self.m = [np.zeros_like(p) for p in self.params]
        self.v = [np.zeros_like(p) for p in self.params]
        self.steps = 0

    def step(self, x: np.ndarray, y: np.ndarray, lr: float, beta1: float) -> float:
        w1, b1, w2, b2 = self.params
        n = len(y)
        hidden = x @ w1 + b1
        active = np.maximum(hidden, 0)
        logits = active @ w2 + b2
        shifted = logits - logits.max(axis=1, keepdims=True)
        log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
        target = np.full_like(log_probs, SMOOTHING / logits.shape[1])
        target[np.arange(n), y] += 1 - SMOOTHING
        loss = -(target * log_probs).sum() / n
        d_logits = (np.exp(log_probs) - target) / np.float32(n)
        d_w2 = active.T @ d_logits
        d_b2 = d_logits.sum(axis=0)
        d_hidden = (d_logits @ w2.T) * (hidden > 0)
        d_w1 = x.T @ d_hidden
        d_b1 = d_hidden.sum(axis=0)
        self.adam([d_w1, d_b1, d_w2, d_b2], lr, beta1)
        return float(loss)

    def adam(self, grads: list[np.ndarray], lr: float, beta1: float) -> None:
        self.steps += 1
        bias1 = 1 - beta1**self.steps
        bias2_sqrt = math.sqrt(1 - 0.999**self.steps)
        for p, g, m, v in zip(self.params, grads, self.m, self.v, strict=True):
            m *= beta1
            m += (1 - beta1) * g
            v *= 0.999
            v += 0.001 * g * g
            denominator = np.sqrt(v)  # in place from here: no more temporaries than needed
            denominator /= bias2_sqrt
            denominator += 1e-8
            p -= (lr / bias1) * m / denominator


# ---------------------------------------------------------------- the three steps


def initial_weights(hidden: int, seed: int) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    bound1, bound2 = 1 / math.sqrt(784), 1 / math.sqrt(hidden)
    return [
        rng.uniform(-bound1, bound1, (784, hidden)),
        rng.uniform(-bound1, bound1, hidden),
        rng.uniform(-bound2, bound2, (hidden, 10)),
        rng.uniform(-bound2, bound2, 10),
    ]


def chainrule_step(weights: list[np.ndarray]) -> Callable[[np.ndarray, np.ndarray], float]:
    from chainrule.tensor import Tensor, nn, optim
    from chainrule.tensor import functional as F

    network = nn.mlp((weights[0].shape[1],), rng=np.random.default_rng(0))
    network.load_state_dict(dict(zip(["1.weight", "1.bias", "3.weight", "3.bias"], weights,
                                     strict=True)))  # fmt: skip
    optimizer = optim.Adam(network.parameters(), lr=1e-3)

    def step(x: np.ndarray, y: np.ndarray) -> float:
        loss = F.cross_entropy(network(Tensor(x)), y, SMOOTHING)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step(1e-3, 0.9)
        return loss.item()

    return step


def torch_step(weights: list[np.ndarray]) -> Callable[[np.ndarray, np.ndarray], float]:
    import torch
    import torch.nn.functional as F

    from chainrule.mnist.models import mlp
    from chainrule.mnist.optim import Optimizer

    model = mlp((weights[0].shape[1],))
    names = ["1.weight", "1.bias", "3.weight", "3.bias"]
    model.load_state_dict({n: torch.from_numpy(w.T.copy() if w.ndim == 2 else w).float()
                           for n, w in zip(names, weights, strict=True)})  # fmt: skip
    optimizer = Optimizer(list(model.parameters()), "adam", momentum=0.9)

    def step(x: np.ndarray, y: np.ndarray) -> float:
        logits = model(torch.from_numpy(x))
        loss = F.cross_entropy(logits, torch.from_numpy(y), label_smoothing=SMOOTHING)
        optimizer.zero_grad()
        loss.backward()  # type: ignore[no-untyped-call]
        optimizer.step(1e-3, 0.9)
        return float(loss.detach())

    return step


def mnist_batches(count: int) -> list[tuple[np.ndarray, np.ndarray]]:
    from chainrule.mnist.data import load_mnist

    images, labels = load_mnist("train")
    x = ((images.numpy().reshape(-1, 784) / np.float32(255) - 0.1307) / 0.3081).astype(np.float32)
    y = labels.numpy()
    order = np.random.default_rng(0).permutation(len(y))[: count * BATCH].reshape(count, BATCH)
    return [(x[rows], y[rows]) for rows in order]


def steps_part(rounds: int, steps: int) -> list[dict[str, Any]]:
    import torch
    from threadpoolctl import threadpool_limits

    torch.set_num_threads(1)
    batches = mnist_batches(steps)
    rows = []
    with threadpool_limits(limits=1, user_api="blas"):
        for hidden in (128, 512):
            weights = initial_weights(hidden, 0)
            baseline = HandWritten(weights)
            impls: dict[str, Callable[[np.ndarray, np.ndarray], float]] = {
                "numpy (hand-written)": lambda x, y, b=baseline: b.step(x, y, 1e-3, 0.9),
                "chainrule.tensor": chainrule_step(weights),
                "PyTorch CPU": torch_step(weights),
            }
            cpu: dict[str, list[float]] = {name: [] for name in impls}
            wall: dict[str, list[float]] = {name: [] for name in impls}
            losses: dict[str, float] = {}
            names = list(impls)
            for r in range(rounds):
                for name in names[r % 3 :] + names[: r % 3]:  # rotate who goes first
                    started, started_cpu = time.perf_counter(), time.process_time()
                    for x, y in batches:
                        losses[name] = impls[name](x, y)
                    cpu[name].append((time.process_time() - started_cpu) / steps)
                    wall[name].append((time.perf_counter() - started) / steps)
            # CPU time of one thread is the work done, whatever else the shared cores run;
            # the least over the rounds is the block that others disturbed least.
            base = min(cpu["numpy (hand-written)"])
            for name in names:
                per_step = min(cpu[name])
                rows.append({
                    "network": f"784 → {hidden} → 10", "implementation": name,
                    "cpu_ms_per_step": round(1000 * per_step, 3),
                    "cpu_s_per_epoch": round(per_step * STEPS_PER_EPOCH, 2),
                    "vs_numpy": round(per_step / base, 3),
                    "wall_ms_per_step_median": round(1000 * statistics.median(wall[name]), 3),
                    "last_loss": round(losses[name], 4),
                })  # fmt: skip
    return rows


# ---------------------------------------------------------------- full runs, fresh processes


def rss_mb(pid: int) -> float:
    """The resident set size of a running process, in MiB (0 once it has ended)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0.0
    line = next((x for x in status.splitlines() if x.startswith("VmRSS:")), "VmRSS: 0 kB")
    return int(line.split()[1]) / 1024


def full_run(label: str, arguments: list[str]) -> dict[str, Any]:
    """One `chainrule mnist train` in a fresh process: accuracy, s/epoch and memory.

    Memory twice: the process's peak RSS (which loading MNIST sets, the same pipeline for
    both engines), and the largest RSS once training runs (sampled every 50 ms from the
    first epoch's line to the end): what the engine itself holds.
    """
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "run"
        command = [sys.executable, "-m", "chainrule", "mnist", "train", *arguments,
                   "--threads", "1", "--out", str(out)]  # fmt: skip
        env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
        started = time.perf_counter()
        process = subprocess.Popen(command, cwd=REPO, env=env, stdout=subprocess.PIPE,
                                   stderr=subprocess.DEVNULL, text=True)  # fmt: skip
        training_peak = [0.0]
        training = threading.Event()
        finished = threading.Event()

        def sample() -> None:
            while not finished.wait(0.05):
                if training.is_set():
                    training_peak[0] = max(training_peak[0], rss_mb(process.pid))

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        assert process.stdout is not None
        for line in process.stdout:
            if line.startswith("epoch 1/"):
                training.set()
        _, status, usage = os.wait4(process.pid, 0)
        finished.set()
        sampler.join()
        seconds = time.perf_counter() - started
        if status != 0:
            raise RuntimeError(f"{' '.join(command)} failed (status {status})")
        metrics = json.loads((out / "metrics.json").read_text())
    epochs = metrics["epochs"]
    best = max(epochs, key=lambda e: (e["val_accuracy"], e["epoch"]))
    return {
        "run": label,
        "command": "chainrule mnist train " + " ".join(arguments) + " --threads 1",
        "test_accuracy": best["test_accuracy"],
        "s_per_epoch": round(statistics.median(e["seconds"] for e in epochs), 1),
        "wall_s": round(seconds, 1),
        "peak_rss_mb": round(usage.ru_maxrss / 1024),  # Linux reports kilobytes
        "training_rss_mb": round(training_peak[0]),
    }


def accuracy_part() -> list[dict[str, Any]]:
    runs = [
        ("sheet network, chainrule",
         ["--preset", "mlp", "--hidden", "128", "--engine", "chainrule"]),
        ("mlp preset, chainrule", ["--preset", "mlp", "--engine", "chainrule"]),
        ("mlp preset, PyTorch", ["--preset", "mlp", "--engine", "torch"]),
    ]  # fmt: skip
    return [full_run(label, arguments) for label, arguments in runs]


# ---------------------------------------------------------------- output


def markdown(rows: list[dict[str, Any]]) -> str:
    header = list(rows[0])
    lines = ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
    lines += ["| " + " | ".join(str(row[h]) for h in header) + " |" for row in rows]
    return "\n".join(lines)


def machine() -> str:
    import torch

    capability = torch.backends.cpu.get_cpu_capability()
    return f"{cpu_model()}, {os.cpu_count()} cores, torch {torch.__version__} ({capability})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--parts", default="steps,accuracy")
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--steps", type=int, default=30, help="steps per timed block")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()
    sys.path.insert(0, str(REPO / "src"))
    parts = args.parts.split(",")
    results: dict[str, Any] = {"machine": machine()}
    print(results["machine"], flush=True)
    if "steps" in parts:
        results["steps"] = steps_part(args.rounds, args.steps)
        print(markdown(results["steps"]), "\n", flush=True)
    if "accuracy" in parts:
        results["accuracy"] = accuracy_part()
        print(markdown(results["accuracy"]), flush=True)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
