"""The digit recognizer behind ``/api/predict``: a checkpoint, or one trained on first use.

With ``--checkpoint FILE`` the network comes from that file. Without it, the
first prediction asked for trains the ``fast`` preset once, in a process of its
own (the page shows its progress), into the cache folder
(``$XDG_CACHE_HOME/chainrule/serve`` or ``~/.cache/chainrule/serve``); later
runs of the server find it there. The network then lives in a one-process
:class:`~chainrule.serve.workers.WorkerPool`, so torch is imported only by the
server processes that need it, and a hostile image cannot stall the rest.

A network that is there already (given or cached) is loaded as the server
starts. While the network is not ready :meth:`DigitService.predict` answers 202 with
``{"status": "training" | "loading", "progress": 0..1, "message": str}``; the
page asks again until the prediction comes.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import multiprocessing
import os
import shutil
import signal
import tempfile
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from chainrule.errors import ChainruleError
from chainrule.serve.workers import DEFAULT_BUDGET_S, Unavailable, WorkerPool

if TYPE_CHECKING:
    from chainrule.mnist.config import TrainConfig

log = logging.getLogger("chainrule.serve")

LOAD_BUDGET_S = 120.0
"""Importing torch and loading a checkpoint, once per digit worker."""

State = Literal["idle", "training", "loading", "ready", "failed"]


def default_cache_dir() -> Path:
    """``$XDG_CACHE_HOME/chainrule/serve``, or ``~/.cache/chainrule/serve``."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "chainrule" / "serve"


def _train(config: TrainConfig, out: str, connection: Connection) -> None:
    """The training process: progress and the outcome go back over the pipe."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # share the cores politely
    from chainrule.mnist.train import train

    try:
        result = train(
            config, Path(out), progress=False,
            on_progress=lambda done: connection.send(("progress", done)),
        )
        connection.send(("done", f"test accuracy {result.test_accuracy:.2f}%"))
    except ChainruleError as error:
        connection.send(("failed", str(error)))
    except Exception as error:  # a bug: say so on the page rather than hang at "training"
        connection.send(("failed", f"training failed: {type(error).__name__}: {error}"))


@dataclass
class Status:
    state: State
    progress: float = 0.0
    message: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"status": self.state, "progress": round(self.progress, 4), "message": self.message}


class DigitService:
    """The network for ``/api/predict``: where it comes from, and its worker."""

    def __init__(
        self,
        checkpoint: Path | None,
        *,
        cache_dir: Path | None = None,
        training: TrainConfig | None = None,
        budget: float = DEFAULT_BUDGET_S,
    ) -> None:
        self.cache_dir = cache_dir or default_cache_dir()
        self.given = checkpoint is not None
        self.checkpoint = checkpoint or self.cache_dir / "fast" / "best.pt"
        self.training = training
        self.budget = budget
        self.status = Status("idle")
        self.pool: WorkerPool | None = None
        self.job: asyncio.Task[None] | None = None
        self.trainer: multiprocessing.process.BaseProcess | None = None

    async def predict(self, image: bytes | str) -> tuple[int, dict[str, Any]]:
        """(HTTP status, body): 200 with the prediction, or 202 while getting ready."""
        if self.status.state == "failed":
            raise Unavailable(self.status.message)
        if self.status.state != "ready":
            self.start()
            return 202, self.status.to_dict()
        assert self.pool is not None
        payload = {"image": image, "checkpoint": str(self.checkpoint)}
        document: dict[str, Any] = await self.pool.run("predict", payload)
        return 200, document

    def start(self) -> None:
        """Begin training or loading in the background (once)."""
        if self.job is None:
            self.status = Status("loading", 0.0, "starting")
            self.job = asyncio.ensure_future(self._prepare())

    async def _prepare(self) -> None:
        try:
            if self.given and not self.checkpoint.is_file():
                raise ChainruleError(f"{self.checkpoint}: no such checkpoint")
            if not self.given and not self.cache_fits():
                await self._train()
            self.status = Status("loading", 1.0, "loading the network")
            self.pool = WorkerPool(1, self.budget, warm=False)
            await self.pool.start()
            await self.pool.run("load_model", str(self.checkpoint), budget=LOAD_BUDGET_S)
            self.status = Status("ready", 1.0, "ready")
        except ChainruleError as error:
            self.status = Status("failed", self.status.progress, str(error))
        except Exception as error:  # a bug: the page must not wait forever
            log.exception("preparing the digit network failed")
            self.status = Status("failed", self.status.progress, f"{type(error).__name__}: {error}")

    def training_config(self) -> TrainConfig:
        """What a first use trains: the configured config, or the ``fast`` preset."""
        from chainrule.mnist.config import PRESETS

        return self.training or PRESETS["fast"]

    def cache_fits(self) -> bool:
        """Whether the cached run exists and was trained with today's config.

        A newer chainrule may change the preset (its network included), so a run
        cached by an older one is trained again rather than failing to load.
        """
        from chainrule.mnist.config import TrainConfig

        metrics = self.checkpoint.with_name("metrics.json")
        if not self.checkpoint.is_file() or not metrics.is_file():
            return False
        try:
            saved = TrainConfig.from_dict(json.loads(metrics.read_text())["config"])
        except (ChainruleError, ValueError, KeyError, TypeError):
            return False
        return saved == self.training_config()

    async def _train(self) -> None:
        """Train the ``fast`` preset (or the configured one) into the cache folder."""
        config = self.training_config()
        self.status = Status("training", 0.0, f"training the {config.model} network (first use)")
        folder = self.checkpoint.parent
        folder.parent.mkdir(parents=True, exist_ok=True)
        scratch = Path(tempfile.mkdtemp(prefix=".training-", dir=folder.parent))
        try:
            outcome = await self._run_training(config, scratch / "run")
            with contextlib.suppress(FileNotFoundError):
                shutil.rmtree(folder)  # a run left without best.pt
            os.replace(scratch / "run", folder)  # atomic: the cache has a whole run or none
            self.status = Status("loading", 1.0, outcome)
        finally:
            shutil.rmtree(scratch, ignore_errors=True)

    async def _run_training(self, config: TrainConfig, out: Path) -> str:
        context = multiprocessing.get_context("spawn")
        ours, theirs = context.Pipe()
        self.trainer = context.Process(
            target=_train, args=(config, str(out), theirs), daemon=True, name="chainrule-train"
        )
        self.trainer.start()
        theirs.close()
        loop = asyncio.get_running_loop()
        try:
            while True:
                try:
                    kind, value = await loop.run_in_executor(None, ours.recv)
                except (EOFError, OSError):
                    raise ChainruleError("the training process died") from None
                if kind == "progress":
                    self.status = Status("training", float(value), self.status.message)
                elif kind == "failed":
                    raise ChainruleError(str(value))
                else:
                    return str(value)
        finally:
            ours.close()
            self.trainer.join(timeout=30)

    async def close(self) -> None:
        if self.trainer is not None and self.trainer.is_alive():
            self.trainer.kill()
        if self.job is not None:
            self.job.cancel()
        if self.pool is not None:
            await self.pool.close()
