"""``chainrule serve``: latency of ``POST /api/graph`` and edit-to-update time in the browser.

All on the sheet's B at a=2, b=-7, c=4, d=1, against a real server on 127.0.0.1:

1. one client, one request at a time: median and p95 latency;
2. 50 concurrent clients: requests per second and the latency they see;
3. the baseline, interleaved with 1.: a bare ``chainrule graph B --at ... --format json``
   CLI call (a new Python process, what a script without the server pays), and the same
   work called in-process (``handlers.graph_document``: what the server cannot go below);
4. in Chromium (Playwright): from editing a value (``performance.mark("edit")``) to the
   new gradients in the DOM (``"updated"``), the page's own ``edit-to-update`` measure.

Run:  .venv/bin/python -m benchmarks.serve [--requests 400] [--clients 50] [--edits 40]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import statistics
import subprocess
import sys
import time

import httpx

from chainrule.serve.handlers import graph_document
from chainrule.sheet import SHEET_EXPRESSIONS, SHEET_VALUES

BODY = {"expression": SHEET_EXPRESSIONS["B"], "at": SHEET_VALUES}
AT = ",".join(f"{k}={v:g}" for k, v in SHEET_VALUES.items())
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def start_server(workers: int) -> tuple[subprocess.Popen[str], str]:
    command = [sys.executable, "-m", "chainrule", "serve", "--port", "0", "--workers",
               str(workers)]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    url = process.stdout.readline().split()[2]
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        try:
            state = httpx.get(url + "api/health").json()
            if state["workers"] == state["size"]:
                return process, url
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    process.kill()
    raise SystemExit("the server did not start")


def serial_and_baselines(url: str, requests: int, rounds: int) -> dict[str, list[float]]:
    """HTTP requests one at a time, interleaved with CLI calls and in-process calls."""
    times: dict[str, list[float]] = {"http": [], "cli": [], "in_process": []}
    cli = [sys.executable, "-m", "chainrule", "graph", SHEET_EXPRESSIONS["B"], "--at", AT,
           "--format", "json"]
    graph_document(BODY)  # imports and caches, as the server's workers do at start
    with httpx.Client(base_url=url) as client:
        client.post("/api/graph", json=BODY)
        for _ in range(rounds):
            for _ in range(requests // rounds):
                start = time.perf_counter()
                answer = client.post("/api/graph", json=BODY)
                times["http"].append(time.perf_counter() - start)
                assert answer.status_code == 200
            start = time.perf_counter()
            subprocess.run(cli, check=True, capture_output=True)
            times["cli"].append(time.perf_counter() - start)
            for _ in range(5):
                start = time.perf_counter()
                graph_document(BODY)
                times["in_process"].append(time.perf_counter() - start)
    return times


async def concurrent(url: str, clients: int, per_client: int) -> tuple[float, list[float]]:
    """(requests per second, latencies) with ``clients`` clients sending at once."""
    latencies: list[float] = []
    limits = httpx.Limits(max_connections=clients)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=120) as client:

        async def one_client() -> None:
            for _ in range(per_client):
                start = time.perf_counter()
                answer = await client.post("/api/graph", json=BODY)
                latencies.append(time.perf_counter() - start)
                assert answer.status_code == 200

        start = time.perf_counter()
        await asyncio.gather(*(one_client() for _ in range(clients)))
        elapsed = time.perf_counter() - start
    return len(latencies) / elapsed, latencies


def edit_to_update(url: str, edits: int) -> list[float]:
    """Milliseconds from a value edit to the new gradients in the DOM, as the page measures."""
    from playwright.sync_api import sync_playwright

    query = httpx.QueryParams({"expr": SHEET_EXPRESSIONS["B"], "at": AT})
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium",
                                             args=CHROMIUM_ARGS)
        page = browser.new_page()
        page.goto(f"{url}?{query}")
        page.get_by_test_id("gradient-a").wait_for()
        field = page.get_by_test_id("value-a")
        for edit in range(edits):
            field.fill(f"{2 + (edit + 1) / 100:g}")
            page.wait_for_function(
                "n => performance.getEntriesByName('edit-to-update').length >= n", arg=edit + 1)
        durations: list[float] = page.evaluate(
            "() => performance.getEntriesByName('edit-to-update').map(m => m.duration)")
        browser.close()
    return durations


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as info:
            for line in info:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--per-client", type=int, default=20)
    parser.add_argument("--edits", type=int, default=40)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    import torch

    load = os.getloadavg()[0]
    process, url = start_server(args.workers)
    try:
        times = serial_and_baselines(url, args.requests, args.rounds)
        rate, loaded = asyncio.run(concurrent(url, args.clients, args.per_client))
        edits = edit_to_update(url, args.edits)
    finally:
        process.terminate()
        process.wait(timeout=30)
    ms = {name: [1000 * t for t in values] for name, values in times.items()}
    loaded_ms = [1000 * t for t in loaded]
    rows = [
        ("POST /api/graph, one client", ms["http"], f"{1000 / statistics.median(ms['http']):.0f}"),
        (f"POST /api/graph, {args.clients} concurrent clients", loaded_ms, f"{rate:.0f}"),
        ("`chainrule graph B --format json` (new process)", ms["cli"],
         f"{1000 / statistics.median(ms['cli']):.1f}"),
        ("graph_document in-process (no HTTP)", ms["in_process"],
         f"{1000 / statistics.median(ms['in_process']):.0f}"),
        ("browser: edit a value -> gradients updated", edits, "-"),
    ]
    print(f"CPU: {cpu_model()}, {os.cpu_count()} cores, torch capability "
          f"{torch.backends.cpu.get_cpu_capability()}, load average {load:.1f} at start, "
          f"{os.getloadavg()[0]:.1f} at the end; {args.workers} workers")
    print()
    print("| what | n | median ms | p95 ms | per second |")
    print("|---|---|---|---|---|")
    for name, values, per_second in rows:
        print(f"| {name} | {len(values)} | {statistics.median(values):.1f} | "
              f"{percentile(values, 0.95):.1f} | {per_second} |")
    ratio = statistics.median(ms["cli"]) / statistics.median(ms["http"])
    print(f"\nthe server answers {ratio:.0f}x faster than a CLI call (medians)")


if __name__ == "__main__":
    main()
