"""200 concurrent requests on ``chainrule serve``: all four endpoints, hostile ones among them.

Bounded in count (200) and time (the whole burst must finish within
:data:`BURST_LIMIT_S`, a bound against a hang, not a speed target), sent only to
the test server on 127.0.0.1. Every answer is checked against what the engine
computes locally; none may be lost; the server must be healthy afterwards.
"""

from __future__ import annotations

import asyncio
import base64
import json
import random
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from chainrule import parse
from chainrule.serve.app import JSON_LIMIT
from chainrule.serve.handlers import MAX_OPERATIONS
from chainrule.vanishing.chain import analyse
from conftest import health, one_digit_png, wait_until_ready

pytestmark = pytest.mark.slow

REQUESTS = 200
BURST_LIMIT_S = 240.0
EXPRESSIONS = ["(a - b*c)*d", "sqrt(a + b + c^3) + log(a/d)", "sigmoid(w*x + b)", "x^3 - 2*x",
               r"\frac{a}{d} + \exp(b)"]

Check = Callable[[httpx.Response], None]


def graph_request(rng: random.Random) -> tuple[str, dict[str, Any], Check]:
    expression = rng.choice(EXPRESSIONS)
    graph = parse(expression)
    # positive values keep sqrt and log in their domains
    at = {name: round(rng.uniform(0.5, 3.0), 3) for name in graph.inputs}
    expected = graph.evaluate(at).gradients

    def check(answer: httpx.Response) -> None:
        assert answer.status_code == 200, answer.text
        assert answer.json()["gradients"] == pytest.approx(expected, rel=1e-12)

    return "/api/graph", {"json": {"expression": expression, "at": at}}, check


def chain_request(rng: random.Random) -> tuple[str, dict[str, Any], Check]:
    weights = [round(rng.uniform(-6, 6), 2) for _ in range(rng.randint(1, 8))]
    x = round(rng.uniform(-2, 2), 2)
    expected = analyse(weights, x)

    def check(answer: httpx.Response) -> None:
        assert answer.status_code == 200, answer.text
        assert answer.json()["dy_dx"]["backprop"] == pytest.approx(expected.backprop, rel=1e-12)
        assert answer.json()["depth"] == len(weights)

    return "/api/chain", {"json": {"weights": weights, "x": x}}, check


def refused(status: int, message: str) -> Check:
    def check(answer: httpx.Response) -> None:
        assert answer.status_code == status, answer.text
        assert message in answer.json()["error"] and set(answer.json()) == {"error", "column"}

    return check


def hostile_requests() -> list[tuple[str, dict[str, Any], Check]]:
    as_json = {"content-type": "application/json"}
    return [
        ("/api/graph", {"json": {"expression": "(a+b))"}}, refused(400, "column 6")),
        ("/api/graph", {"content": b"{nope", "headers": as_json}, refused(400, "not JSON")),
        ("/api/graph", {"content": b'{"expression": "x", "at": {"x": NaN}}', "headers": as_json},
         refused(400, "NaN")),
        ("/api/graph", {"content": b"x" * (JSON_LIMIT + 1), "headers": as_json},
         refused(413, "larger than")),
        ("/api/graph", {"content": b'{"expression": "x"}',
                        "headers": {"content-type": "text/plain"}},
         refused(415, "JSON")),
        ("/api/graph", {"json": {"expression": "x"}, "headers": {"origin": "http://evil.example"}},
         refused(403, "cross-origin")),
        ("/api/graph", {"json": {"expression": "+".join(["x"] * (MAX_OPERATIONS + 5))}},
         refused(400, "operations")),
        ("/api/chain", {"json": {"weights": [1, "two"]}}, refused(400, "weights[1]")),
        ("/api/predict", {"content": b"not an image", "headers": {"content-type": "image/png"}},
         refused(400, "the uploaded image")),
        ("/api/predict", {"json": {"image": "javascript:alert(1)"}}, refused(400, "data URL")),
    ]


def test_200_concurrent_mixed_requests_all_answered_correctly(server: str) -> None:
    wait_until_ready(server)
    png = one_digit_png("1")
    with httpx.Client(base_url=server, timeout=60) as client:  # the network loaded, once
        deadline = time.monotonic() + 120
        first = client.post("/api/predict", content=png, headers={"content-type": "image/png"})
        while first.status_code == 202 and time.monotonic() < deadline:
            time.sleep(0.1)
            first = client.post("/api/predict", content=png, headers={"content-type": "image/png"})
        assert first.status_code == 200, first.text
    prediction = first.json()

    def predicted(answer: httpx.Response) -> None:
        assert answer.status_code == 200, answer.text
        assert answer.json() == prediction

    rng = random.Random(14)
    data_url = "data:image/png;base64," + base64.b64encode(png).decode()
    hostile = hostile_requests()
    plan: list[tuple[str, dict[str, Any], Check]] = []
    for index in range(REQUESTS):
        slot = index % 10
        if slot < 4:
            plan.append(graph_request(rng))
        elif slot < 6:
            plan.append(chain_request(rng))
        elif slot == 6:
            body = ({"content": png, "headers": {"content-type": "image/png"}} if index % 20 < 10
                    else {"json": {"image": data_url}})
            plan.append(("/api/predict", body, predicted))
        else:
            plan.append(hostile[index % len(hostile)])
    rng.shuffle(plan)
    replaced_before = health(server)["replaced"]

    async def burst() -> list[httpx.Response | BaseException]:
        limits = httpx.Limits(max_connections=REQUESTS, max_keepalive_connections=REQUESTS)
        async with httpx.AsyncClient(base_url=server, timeout=120, limits=limits) as client:
            sends = [client.post(path, **options) for path, options, _ in plan]
            return await asyncio.wait_for(asyncio.gather(*sends, return_exceptions=True),
                                          BURST_LIMIT_S)

    with ThreadPoolExecutor(1) as thread:  # a loop of its own, whatever runs in this thread
        answers = thread.submit(asyncio.run, burst()).result()
    lost = [repr(a) for a in answers if isinstance(a, BaseException)]
    assert lost == []
    for (path, options, check), answer in zip(plan, answers, strict=True):
        assert isinstance(answer, httpx.Response)
        try:
            check(answer)
        except AssertionError as problem:
            raise AssertionError(f"{path} {json.dumps(options, default=str)[:200]}") from problem
    after = health(server)
    assert after["workers"] == after["size"] and after["replaced"] == replaced_before
    with httpx.Client(base_url=server, timeout=60) as client:
        assert client.post("/api/graph", json={"expression": "x*x", "at": {"x": 3}}
                           ).json()["gradients"] == {"x": 6.0}
