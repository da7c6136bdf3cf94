"""``chainrule serve``: the playground in the browser (uvicorn on 127.0.0.1:8000).

Prints the URL and serves until Ctrl-C. ``--open`` opens it in the default
browser; ``--checkpoint FILE`` uses that digit network instead of training the
``fast`` preset on first use.
"""

from __future__ import annotations

import argparse
import ipaddress
import socket
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

from chainrule.errors import ChainruleError


def register(subcommands: Any) -> None:
    parser = subcommands.add_parser(
        "serve",
        help="the playground in the browser: graphs, step-through, answers, chain, digits",
        description="Serve the playground page and its JSON API (POST /api/graph, /api/check, "
        "/api/chain, /api/predict). It binds 127.0.0.1 unless --host says otherwise and "
        "works offline.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    parser.add_argument(
        "--checkpoint", type=Path, metavar="FILE",
        help="the digit network (a best.pt of chainrule mnist train); default: train the "
        "fast preset on first use and cache it",
    )
    parser.add_argument("--open", action="store_true", help="open the page in a browser")
    parser.add_argument(
        "--workers", type=int, help="worker processes for the CPU work (default: the cores, "
        "at most 4)",
    )
    parser.add_argument(
        "--budget", type=float, default=None, metavar="SECONDS",
        help="longest one request may compute before it is stopped with 503 (default 2)",
    )
    parser.set_defaults(run=run)


def settings_from(args: argparse.Namespace) -> Any:
    """The :class:`~chainrule.serve.app.Settings` the options ask for, checked."""
    from chainrule.serve.app import Settings

    defaults = Settings()
    if not 0 <= args.port <= 65535:
        raise ChainruleError(f"--port must be between 0 and 65535, got {args.port}")
    if args.checkpoint is not None and not args.checkpoint.is_file():
        raise ChainruleError(f"--checkpoint {args.checkpoint}: no such file")
    workers = defaults.workers if args.workers is None else args.workers
    if workers < 1:
        raise ChainruleError(f"--workers must be at least 1, got {workers}")
    budget = defaults.budget if args.budget is None else args.budget
    if not budget > 0:
        raise ChainruleError(f"--budget must be a positive number of seconds, got {budget}")
    return Settings(args.host, args.port, workers, budget, args.checkpoint)


def listen(host: str, port: int) -> socket.socket:
    """A listening TCP socket (port 0: any free one), or a one-line error.

    Made with ``IPPROTO_TCP`` spelled out: asyncio sets ``TCP_NODELAY`` only on
    connections whose socket says so, and without it every answer waits ~40 ms
    for the client's delayed ACK (Nagle's algorithm).
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    server = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        server.bind((host, port))
        server.listen(2048)
    except OSError as problem:
        server.close()
        reason = problem.strerror or str(problem)
        raise ChainruleError(f"cannot listen on {host}:{port}: {reason}") from None
    return server


def run(args: argparse.Namespace) -> int:
    import uvicorn

    from chainrule.serve.app import create_app

    settings = settings_from(args)
    bound = listen(settings.host, settings.port)
    settings = replace(settings, port=bound.getsockname()[1])  # the port 0 chose
    config = uvicorn.Config(
        create_app(settings), log_level="warning", access_log=False, timeout_graceful_shutdown=5,
        timeout_keep_alive=60,  # the default 5 s races clients that reuse a connection
    )
    print(f"chainrule playground: {settings.url}  (Ctrl-C stops it)", flush=True)
    if not ipaddress.ip_address(bound.getsockname()[0]).is_loopback:
        print(f"warning: listening on {settings.host}: other computers can use it too",
              file=sys.stderr)
    if args.open:
        import webbrowser

        webbrowser.open(settings.url)
    uvicorn.Server(config).run(sockets=[bound])
    return 0
