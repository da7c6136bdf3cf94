"""CPU work off the event loop, in worker processes that can be stopped mid-task.

The server's event loop only reads requests and writes answers; every parse,
evaluation, picture, explanation and prediction runs in a :class:`WorkerPool`
process. A task that runs past the time budget gets :class:`OverBudget` (the
server answers 503): its process is killed, because a thread cannot be stopped
and a runaway sympy simplification or a huge layout would otherwise keep a core
busy, and a fresh process takes its place once it has warmed up. Meanwhile the
other workers keep serving.

>>> import asyncio
>>> async def demo() -> object:
...     async with WorkerPool(size=1, budget=30, warm=False) as pool:
...         return await pool.run("graph", {"expression": "x*x", "at": {"x": 3}})
>>> asyncio.run(demo())["gradients"]
{'x': 6.0}
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import multiprocessing
import signal
from concurrent.futures import ThreadPoolExecutor
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from types import TracebackType
from typing import Any

from chainrule.errors import ChainruleError

log = logging.getLogger("chainrule.serve")

DEFAULT_BUDGET_S = 2.0
"""Longest a task may run before it is stopped (the answer is 503)."""

QUEUE_WAIT_S = 30.0
"""Longest a request waits for a free worker before it is answered 503 (server busy)."""

START_RETRIES = 3
"""Processes that die while starting are started again this many times in a row, ..."""

RETRY_DELAY_S = 1.0
"""... this long after each death (a machine short of memory may recover)."""


class Unavailable(ChainruleError):
    """The work could not be done now (answered with status 503)."""


class OverBudget(Unavailable):
    """The task ran past the time budget and was stopped."""


class TaskFailed(Exception):
    """The task raised something that is not the user's fault (a bug: status 500)."""


def _serve(connection: Connection, warm: bool) -> None:
    """A worker process: answer tasks from the pipe until it closes."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C stops the server, which stops us
    from chainrule.serve.handlers import run_task, warm_up

    if warm:
        warm_up()
    connection.send(("ready", None))
    while True:
        try:
            task, payload = connection.recv()
        except (EOFError, OSError):
            return
        try:
            reply = run_task(task, payload)
        except Exception as error:  # a bug; the server logs it and answers 500
            reply = ("crash", f"{type(error).__name__}: {error}")
        connection.send(reply)


class Worker:
    """One process and the pipe to it; used by one task at a time."""

    def __init__(self, context: multiprocessing.context.BaseContext, warm: bool) -> None:
        ours, theirs = context.Pipe()
        self.connection: Connection = ours
        self.process: BaseProcess = context.Process(  # type: ignore[attr-defined]
            target=_serve, args=(theirs, warm), daemon=True, name="chainrule-worker"
        )
        self.process.start()
        theirs.close()

    def wait_ready(self) -> None:
        """Block until the process has imported and warmed up (it says so)."""
        state, _ = self.connection.recv()
        assert state == "ready"

    def call(self, task: str, payload: Any) -> tuple[str, Any]:
        """Send a task and block for the reply (in a thread of the pool)."""
        self.connection.send((task, payload))
        reply: tuple[str, Any] = self.connection.recv()
        return reply

    def stop(self) -> None:
        self.process.kill()
        self.process.join(timeout=10)
        self.connection.close()


class WorkerPool:
    """``size`` worker processes; :meth:`run` gives a task to a free one.

    ``budget`` is the longest one task may take (seconds); ``warm`` runs
    :func:`chainrule.serve.handlers.warm_up` in each new process before it takes work.
    """

    def __init__(self, size: int, budget: float = DEFAULT_BUDGET_S, *, warm: bool = True) -> None:
        if size < 1:
            raise ChainruleError(f"a worker pool needs at least one process, got {size}")
        self.size = size
        self.budget = budget
        self.warm = warm
        self.context = multiprocessing.get_context("spawn")  # no fork of a threaded server
        self.threads = ThreadPoolExecutor(max_workers=2 * size, thread_name_prefix="worker-io")
        self.idle: asyncio.Queue[Worker] = asyncio.Queue()
        self.workers: set[Worker] = set()
        self.starting = 0
        self.background: set[asyncio.Task[None]] = set()  # starting workers (kept referenced)
        self.replaced = 0  # workers stopped for running past the budget or dying
        self.failed_starts = 0  # processes in a row that died before they were ready
        self.closed = False

    async def __aenter__(self) -> WorkerPool:
        await self.start()
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def start(self, wait: bool = True) -> None:
        """Start the processes; with ``wait``, return once all of them are ready."""
        started = [self._start_one() for _ in range(self.size)]
        if wait:
            await asyncio.gather(*started)

    def _start_one(self) -> asyncio.Task[None]:
        task = asyncio.ensure_future(self._add_worker())
        self.background.add(task)
        task.add_done_callback(self.background.discard)
        return task

    @property
    def ready(self) -> int:
        """Processes that are up (idle or busy)."""
        return len(self.workers)

    async def _add_worker(self) -> None:
        """Start one process; it joins the idle queue once it has warmed up."""
        loop = asyncio.get_running_loop()
        self.starting += 1
        try:
            worker = await loop.run_in_executor(self.threads, Worker, self.context, self.warm)
            try:
                await loop.run_in_executor(self.threads, worker.wait_ready)
            except (EOFError, OSError):
                worker.stop()
                await self._retry_start()
                return
        finally:
            self.starting -= 1
        if self.closed:
            worker.stop()
            return
        self.failed_starts = 0
        self.workers.add(worker)
        self.idle.put_nowait(worker)

    async def _retry_start(self) -> None:
        """After a process died while starting: start another, a few times in a row."""
        self.failed_starts += 1
        if self.closed or self.failed_starts > START_RETRIES:
            log.error("a worker process died while starting; %d in a row, none is started again",
                      self.failed_starts)
            return
        log.error("a worker process died while starting; starting another in %g s",
                  RETRY_DELAY_S)
        await asyncio.sleep(RETRY_DELAY_S)
        if not self.closed:
            self._start_one()

    def _replace(self, worker: Worker) -> None:
        """Stop a worker whose state is unknown (over budget, cancelled, dead)."""
        self.workers.discard(worker)
        self.threads.submit(worker.stop)  # killing and reaping it must not block the loop
        self.replaced += 1
        if not self.closed:
            self._start_one()

    async def run(self, task: str, payload: Any, budget: float | None = None) -> Any:
        """Run ``task`` in a free worker; its result, or the user's error raised again.

        Raises :class:`OverBudget` past ``budget`` seconds (default: the pool's),
        :class:`Unavailable` when no worker frees up in time, the task's own
        :class:`~chainrule.errors.ChainruleError` (as :class:`TaskError`) for bad input
        and :class:`TaskFailed` for a bug.
        """
        try:
            worker = await asyncio.wait_for(self.idle.get(), QUEUE_WAIT_S)
        except TimeoutError:
            raise Unavailable("the server is busy; try again in a moment") from None
        loop = asyncio.get_running_loop()
        limit = self.budget if budget is None else budget
        try:
            call = loop.run_in_executor(self.threads, worker.call, task, payload)
            state, value = await asyncio.wait_for(call, limit)
        except TimeoutError:
            self._replace(worker)
            raise OverBudget(
                f"the computation took longer than {limit:g} s and was stopped; "
                "try a smaller expression"
            ) from None
        except (EOFError, OSError):
            self._replace(worker)
            raise Unavailable("the worker process died (out of memory?); try again") from None
        except BaseException:  # cancelled: the reply may still come, so the worker is unusable
            self._replace(worker)
            raise
        self.idle.put_nowait(worker)
        if state == "error":
            raise TaskError(value)
        if state == "crash":
            raise TaskFailed(value)
        return value

    async def close(self) -> None:
        """Stop every process (idle or not)."""
        self.closed = True
        for worker in list(self.workers):
            with contextlib.suppress(Exception):
                worker.stop()
        self.workers.clear()
        self.threads.shutdown(wait=False, cancel_futures=True)


class TaskError(ChainruleError):
    """A task refused its input; ``body`` is the 400 answer, ``{"error", "column"}``."""

    def __init__(self, body: dict[str, Any]) -> None:
        super().__init__(body["error"])
        self.body = body
