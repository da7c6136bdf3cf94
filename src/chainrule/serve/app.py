"""The playground's web server: one page and four JSON endpoints (Starlette).

- ``GET /``: the page (``static/index.html``, its script and style; no CDN).
- ``POST /api/graph``, ``/api/check``, ``/api/chain``: JSON in, JSON out.
- ``POST /api/predict``: a PNG or JPEG body (or ``{"image": "data:image/png;base64,..."}``).
- ``GET /api/health``: the workers and the digit network, for scripts and tests.

Bad input is answered 400 with ``{"error": str, "column": int | null}``; work past
the time budget 503; nothing a user sends gets a 500 or a traceback.

What keeps another web site from using it (every check is a test in
``tests/test_serve.py``): the server binds 127.0.0.1 unless told otherwise; the
``Host`` header must name the server (so a rebound DNS name cannot reach it); an
API request with an ``Origin`` or ``Sec-Fetch-Site`` header must come from the
page itself, and no CORS header is ever sent, so a page elsewhere can neither
read an answer nor, since the API takes only ``application/json`` and image
types (never a form's), send one without a refused pre-flight; bodies over
:data:`JSON_LIMIT` (images :data:`IMAGE_LIMIT`) get 413 before they are read.

>>> settings = Settings(port=8000)
>>> settings.url, sorted(settings.allowed_hosts())
('http://127.0.0.1:8000/', ['127.0.0.1:8000', '[::1]:8000', 'localhost:8000'])
>>> SameOrigin(create_app(settings), settings.allowed_hosts()).refusal(
...     "/api/graph", {"host": "127.0.0.1:8000", "origin": "http://evil.example"})
"cross-origin requests are refused (Origin 'http://evil.example')"
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from chainrule.errors import ChainruleError
from chainrule.serve.bodies import RequestError, error_body, read_json
from chainrule.serve.digits import DigitService
from chainrule.serve.workers import DEFAULT_BUDGET_S, TaskError, TaskFailed, Unavailable, WorkerPool

if TYPE_CHECKING:
    from chainrule.mnist.config import TrainConfig

log = logging.getLogger("chainrule.serve")

STATIC = Path(__file__).parent / "static"
JSON_LIMIT = 64 * 1024
"""Largest JSON body accepted (bytes); an expression the engine can explain is far smaller."""
IMAGE_LIMIT = 4 * 1024 * 1024
"""Largest image body accepted (bytes): a phone photo as JPEG."""
IMAGE_TYPES = ("image/png", "image/jpeg")
LOCAL_NAMES = ("127.0.0.1", "localhost", "[::1]")
ANY_ADDRESS = ("0.0.0.0", "::", "")

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data: blob:; connect-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'none'; frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "content-security-policy": CONTENT_SECURITY_POLICY,
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
    "cross-origin-resource-policy": "same-origin",
}


@dataclass(frozen=True)
class Settings:
    """How the server runs; ``chainrule serve``'s options."""

    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = max(1, min(4, os.cpu_count() or 1))
    budget: float = DEFAULT_BUDGET_S
    checkpoint: Path | None = None
    cache_dir: Path | None = None
    training: TrainConfig | None = None  # first-use training (None: the fast preset)

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        shown = "127.0.0.1" if self.host in ANY_ADDRESS else host
        return f"http://{shown}:{self.port}/"

    def allowed_hosts(self) -> set[str] | None:
        """Host headers that name this server; None (any) when it listens on every address."""
        if self.host in ANY_ADDRESS:
            return None
        names = {*LOCAL_NAMES, f"[{self.host}]" if ":" in self.host else self.host}
        return {f"{name}:{self.port}" for name in names}


# ---------------------------------------------------------------- answers


def error(status: int, message: str, column: int | None = None) -> JSONResponse:
    return JSONResponse({"error": message, "column": column}, status, headers=_no_store())


def _no_store() -> dict[str, str]:
    return {"cache-control": "no-store"}


async def _answer(work: Awaitable[tuple[int, Any]]) -> Response:
    """Run the work; its (status, result) as JSON, or the error as 400, 500 or 503."""
    try:
        status, body = await work
        return JSONResponse(body, status, headers=_no_store())
    except TaskError as refused:
        return JSONResponse(refused.body, 400, headers=_no_store())
    except Unavailable as busy:
        return error(503, str(busy))
    except ChainruleError as bad:
        return JSONResponse(error_body(bad), 400, headers=_no_store())
    except TaskFailed as bug:
        log.error("a task failed: %s", bug)
        return error(500, f"internal error: {bug}")


# ---------------------------------------------------------------- bodies


def media_type(request: Request) -> str:
    return request.headers.get("content-type", "").split(";")[0].strip().lower()


async def read_body(request: Request, limit: int) -> bytes:
    """The body, or 413 as soon as it is known to exceed ``limit`` bytes."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise HTTPException(413, f"the body is larger than {limit // 1024} KiB")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise HTTPException(413, f"the body is larger than {limit // 1024} KiB")
        chunks.append(chunk)
    return b"".join(chunks)


async def json_body(request: Request) -> dict[str, Any]:
    if media_type(request) != "application/json":
        raise HTTPException(415, "send the body as JSON with Content-Type: application/json")
    return read_json(await read_body(request, JSON_LIMIT))


async def image_body(request: Request) -> bytes | str:
    """Raw PNG/JPEG bytes, or the data URL of ``{"image": ...}``."""
    kind = media_type(request)
    if kind in IMAGE_TYPES:
        return await read_body(request, IMAGE_LIMIT)
    if kind != "application/json":
        raise HTTPException(
            415, "send a PNG or JPEG (Content-Type image/png or image/jpeg) or JSON with 'image'"
        )
    body = read_json(await read_body(request, IMAGE_LIMIT))
    image = body.get("image")
    if not isinstance(image, str):
        raise RequestError("the field 'image' (a data URL) is missing")
    return image


# ---------------------------------------------------------------- the endpoints


def create_app(settings: Settings | None = None) -> Starlette:
    """The ASGI application; uvicorn runs it (``chainrule serve``), tests too."""
    settings = settings or Settings()
    pool = WorkerPool(settings.workers, settings.budget)
    digits = DigitService(
        settings.checkpoint, cache_dir=settings.cache_dir, training=settings.training,
        budget=settings.budget,
    )

    def task(name: str) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            async def work() -> tuple[int, Any]:
                return 200, await pool.run(name, await json_body(request))

            return await _answer(work())

        return endpoint

    async def predict(request: Request) -> Response:
        async def work() -> tuple[int, Any]:
            return await digits.predict(await image_body(request))

        return await _answer(work())

    async def health(request: Request) -> Response:
        return JSONResponse({
            "workers": pool.ready,
            "size": pool.size,
            "replaced": pool.replaced,
            "digits": digits.status.to_dict(),
        }, headers=_no_store())

    async def index(request: Request) -> Response:
        return FileResponse(STATIC / "index.html", headers=_no_store())

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await pool.start(wait=False)
        if digits.checkpoint.is_file():  # a network to load: ready before the first drawing
            digits.start()
        try:
            yield
        finally:
            await digits.close()
            await pool.close()

    async def http_error(request: Request, problem: Exception) -> Response:
        assert isinstance(problem, HTTPException)
        return error(problem.status_code, str(problem.detail))

    async def user_error(request: Request, problem: Exception) -> Response:
        assert isinstance(problem, ChainruleError)
        return JSONResponse(error_body(problem), 400, headers=_no_store())

    routes = [
        Route("/", index),
        Route("/api/graph", task("graph"), methods=["POST"]),
        Route("/api/check", task("check"), methods=["POST"]),
        Route("/api/chain", task("chain"), methods=["POST"]),
        Route("/api/predict", predict, methods=["POST"]),
        Route("/api/health", health),
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
    ]
    app = Starlette(
        routes=routes,
        lifespan=lifespan,
        exception_handlers={HTTPException: http_error, ChainruleError: user_error},
    )
    app.state.pool, app.state.digits = pool, digits
    app.add_middleware(SameOrigin, hosts=settings.allowed_hosts())
    return app


# ---------------------------------------------------------------- the origin checks


class SameOrigin:
    """Refuses requests for another host, and API calls from another origin (403).

    Also adds the security headers to every answer. ``hosts`` None accepts any
    ``Host`` (the server listens on every address) but still wants API calls to
    come from the page the same host served.
    """

    def __init__(self, app: ASGIApp, hosts: set[str] | None) -> None:
        self.app = app
        self.hosts = hosts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        refusal = self.refusal(scope["path"], headers)
        if refusal is not None:
            await error(403, refusal)(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", [])
                message["headers"] = [
                    *message["headers"],
                    *((k.encode(), v.encode()) for k, v in SECURITY_HEADERS.items()),
                ]
            await send(message)

        await self.app(scope, receive, with_headers)

    def refusal(self, path: str, headers: dict[str, str]) -> str | None:
        host = headers.get("host", "")
        if self.hosts is not None and host.lower() not in self.hosts:
            return f"this server answers to {sorted(self.hosts)[0]}, not to Host {host!r}"
        if not path.startswith("/api/"):
            return None  # a link from anywhere may open the page
        origin = headers.get("origin")
        if origin is not None and origin.lower() != f"http://{host.lower()}":
            return f"cross-origin requests are refused (Origin {origin!r})"
        site = headers.get("sec-fetch-site")
        if site is not None and site not in ("same-origin", "none"):
            return f"cross-site requests are refused (Sec-Fetch-Site {site!r})"
        return None
