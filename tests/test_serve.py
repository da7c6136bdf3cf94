"""``chainrule serve``'s HTTP API on a real uvicorn server: answers, errors, limits, origins.

The answers are compared with what the command line prints for the same input,
since the API promises the JSON of ``chainrule graph/chain/mnist predict``.
"""

from __future__ import annotations

import base64
import contextlib
import io
import json
import re
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from chainrule import parse
from chainrule.cli import main
from chainrule.mnist.config import PRESETS, asdict, replace
from chainrule.serve.app import IMAGE_LIMIT, JSON_LIMIT, Settings
from chainrule.serve.digits import DigitService
from chainrule.serve.handlers import MAX_OPERATIONS
from chainrule.sheet import SHEET_EXPRESSIONS, SHEET_VALUES
from chainrule.show.explain import explain
from conftest import free_port, health, one_digit_png, running

URL = re.compile(r"(?:https?:)?//[A-Za-z0-9.-]+\.[A-Za-z]{2,}[^\s\"')]*")
SHEET_AT = ",".join(f"{k}={v:g}" for k, v in SHEET_VALUES.items())


@pytest.fixture(scope="module")
def web(server: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server, timeout=60) as client:
        yield client


def cli_json(capsys: pytest.CaptureFixture[str], *argv: str) -> Any:
    """What ``chainrule ARGV`` prints, parsed as JSON."""
    capsys.readouterr()
    assert main(list(argv)) == 0
    return json.loads(capsys.readouterr().out)


def cli_text(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    capsys.readouterr()
    assert main(list(argv)) == 0
    return capsys.readouterr().out


# ------------------------------------------------------------------ /api/graph


def test_graph_is_the_cli_json_plus_picture_and_explanation(
    web: httpx.Client, capsys: pytest.CaptureFixture[str]
) -> None:
    expression = SHEET_EXPRESSIONS["B"]
    answer = web.post("/api/graph", json={"expression": expression, "at": SHEET_VALUES})
    assert answer.status_code == 200
    document = answer.json()
    cli = cli_json(capsys, "graph", expression, "--at", SHEET_AT, "--format", "json")
    assert {key: document[key] for key in cli} == cli
    assert document["svg"].startswith("<?xml") and document["svg"].count('class="node"') == 12
    graph = parse(expression)
    assert document["explanation"] == explain(graph.evaluate(SHEET_VALUES), symbolic=False)
    assert "not requested" in document["explanation"]  # sympy only when asked for
    assert document["defaulted"] == []


def test_graph_with_symbolic_is_exactly_the_cli_worked_solution(
    web: httpx.Client, capsys: pytest.CaptureFixture[str]
) -> None:
    expression = SHEET_EXPRESSIONS["A"]
    for form in ("text", "markdown", "latex"):
        body = {"expression": expression, "at": SHEET_VALUES, "explain": form, "symbolic": True}
        document = web.post("/api/graph", json=body).json()
        printed = cli_text(capsys, "graph", expression, "--at", SHEET_AT, "--explain",
                           "--format", form)
        assert document["explanation"] + "\n" == printed


def test_each_step_is_a_line_of_the_worked_solution(
    web: httpx.Client, capsys: pytest.CaptureFixture[str]
) -> None:
    expression = SHEET_EXPRESSIONS["B"]
    document = web.post("/api/graph", json={"expression": expression, "at": SHEET_VALUES}).json()
    printed = cli_text(capsys, "graph", expression, "--at", SHEET_AT, "--explain")
    forward = printed.split("2. Forward pass")[1].split("3. Local")[0].strip().splitlines()
    backward = printed.split("4. Backward pass")[1].split("5. Gradients")[0].strip().splitlines()
    steps = document["walkthrough"]
    assert [s["text"] for s in steps if s["pass"] == "forward"] == [x.strip() for x in forward[1:]]
    backward_texts = [s["text"] for s in steps if s["pass"] == "backward"]
    assert backward_texts == [x.strip() for x in backward[1:]]
    names = [s["name"] for s in steps if s["pass"] == "forward"]
    assert names == ["a", "b", "c", "d", "v1", "v2", "v3", "v4", "v5", "v6", "v7"]
    svg = document["svg"]
    for step in steps:  # the picture has every node and edge a step highlights
        assert f'id="node{step["node"]}"' in svg
        assert all(f'id="edge{edge}"' in svg for edge in step["edges"])
    v1 = next(s for s in steps if s["name"] == "v1" and s["pass"] == "forward")
    assert len(v1["edges"]) == 2  # a + b: both arguments flow in
    a_back = next(s for s in steps if s["name"] == "a" and s["pass"] == "backward")
    assert len(a_back["edges"]) == 2  # a feeds v1 and v5: two terms of the chain rule


def test_missing_inputs_default_to_one_and_are_listed(web: httpx.Client) -> None:
    document = web.post("/api/graph", json={"expression": "x*y", "at": {"x": 3, "zz": 5}}).json()
    assert document["inputs"] == {"x": 3.0, "y": 1.0}
    assert document["defaulted"] == ["y"] and document["gradients"] == {"x": 1.0, "y": 3.0}
    assert document["warnings"] == []  # zz belongs to an earlier expression: ignored


def test_latex_and_plain_syntax(web: httpx.Client) -> None:
    latex = web.post("/api/graph", json={"expression": r"\frac{a}{d}", "at": {"a": 2, "d": 4}})
    assert latex.json()["output"]["value"] == 0.5
    plain = web.post("/api/graph", json={"expression": r"\frac{a}{d}", "syntax": "plain"})
    assert plain.status_code == 400 and plain.json()["column"] == 1


def test_parse_error_is_400_with_the_cli_message_and_column(
    web: httpx.Client, capsys: pytest.CaptureFixture[str]
) -> None:
    answer = web.post("/api/graph", json={"expression": "(a+b))"})
    assert answer.status_code == 400
    assert answer.json() == {"error": "unmatched ')' at column 6", "column": 6}
    capsys.readouterr()
    assert main(["graph", "(a+b))"]) == 2
    assert capsys.readouterr().err.splitlines()[0] == "error: " + answer.json()["error"]


def test_domain_errors_are_400(web: httpx.Client) -> None:
    answer = web.post("/api/graph", json={"expression": "log(a - 3)", "at": {"a": 2.75}})
    assert answer.status_code == 400
    assert answer.json() == {
        "error": "v2 = log(v1): argument -0.25 is outside log's domain (0, inf)", "column": None}
    allowed = web.post("/api/graph", json={"expression": "log(a - 3)", "at": {"a": 2.75},
                                           "allow_nan": True})
    assert allowed.status_code == 200 and allowed.json()["output"]["value"] == "nan"


HOSTILE_BODIES = [
    (b"not json", "the body is not JSON"),
    (b"[1, 2]", "the body must be a JSON object, not an array"),
    (b'{"expression": 5}', "'expression' must be a string, not a number"),
    (b'{"at": {}}', "the field 'expression' is missing"),
    (b'{"expression": "x", "at": {"x": NaN}}', "NaN is not a JSON number"),
    (b'{"expression": "x", "at": {"x": 1e400}}', "at.x must be a finite number"),
    (b'{"expression": "x", "at": {"x": true}}', "at.x must be a number, not a boolean"),
    (b'{"expression": "x", "at": [1]}', "'at' must be an object of numbers"),
    (b'{"expression": "x", "syntax": "python"}', "'syntax' must be one of auto, plain, latex"),
    (b'{"expression": "x", "explain": "html"}', "'explain' must be one of text, markdown"),
    (b'{"expression": "__import__(\'os\')"}', "expected an operator before '(' at column 11"),
    (b"\xff\xfe", "the body is not UTF-8 text"),
    (b"[" * 30000 + b"]" * 30000, "nested too deeply"),
]


@pytest.mark.parametrize(("body", "message"), HOSTILE_BODIES)
def test_hostile_bodies_get_a_400_that_says_what(
    web: httpx.Client, body: bytes, message: str
) -> None:
    answer = web.post("/api/graph", content=body, headers={"content-type": "application/json"})
    assert answer.status_code == 400, answer.text
    assert message in answer.json()["error"]
    assert set(answer.json()) == {"error", "column"}


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.recursive(
    st.none() | st.booleans() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(
        st.sampled_from(["expression", "at", "syntax", "explain", "symbolic", "weights", "x",
                         "activation", "answers", "a"]), children, max_size=5),
    max_leaves=12,
))
def test_any_json_gets_an_answer_never_a_500(web: httpx.Client, body: Any) -> None:
    for endpoint in ("/api/graph", "/api/chain"):
        answer = web.post(endpoint, content=json.dumps(body),
                          headers={"content-type": "application/json"})
        assert answer.status_code in (200, 400), answer.text
        if answer.status_code == 400:
            assert set(answer.json()) == {"error", "column"} and answer.json()["error"]


# ------------------------------------------------------------------ limits


def test_expressions_over_the_size_limit_are_refused(web: httpx.Client) -> None:
    expression = "+".join(["x"] * (MAX_OPERATIONS + 2))
    answer = web.post("/api/graph", json={"expression": expression})
    assert answer.status_code == 400
    assert f"up to {MAX_OPERATIONS:,}" in answer.json()["error"]


def test_bodies_over_the_limit_get_413_before_they_are_read(web: httpx.Client) -> None:
    big = json.dumps({"expression": "x" + "+x" * JSON_LIMIT}).encode()
    answer = web.post("/api/graph", content=big, headers={"content-type": "application/json"})
    assert answer.status_code == 413 and "64 KiB" in answer.json()["error"]

    def chunks() -> Iterator[bytes]:  # no Content-Length: counted as it arrives
        yield b'{"expression": "x'
        for _ in range(100):
            yield b"+x" * 1000
        yield b'"}'

    streamed = web.post("/api/graph", content=chunks(),
                        headers={"content-type": "application/json"})
    assert streamed.status_code == 413
    image = web.post("/api/predict", content=b"\x89PNG" + b"0" * IMAGE_LIMIT,
                     headers={"content-type": "image/png"})
    assert image.status_code == 413 and "4096 KiB" in image.json()["error"]


def test_json_only_with_the_right_content_type(web: httpx.Client) -> None:
    for kind in ("text/plain", "application/x-www-form-urlencoded", "multipart/form-data", ""):
        answer = web.post("/api/graph", content=b'{"expression": "x"}',
                          headers={"content-type": kind})
        assert answer.status_code == 415, kind
    assert web.post("/api/predict", content=b"x", headers={"content-type": "text/plain"}
                    ).status_code == 415
    assert web.get("/api/graph").status_code == 405
    missing = web.post("/api/nothing", json={})
    assert missing.status_code == 404 and set(missing.json()) == {"error", "column"}


def test_work_over_the_budget_is_503_while_others_are_served(web: httpx.Client) -> None:
    # ~990 operations: parsing is instant, laying out the picture takes many seconds
    expression = "+".join(f"sin(x{i % 40}*y{i % 7})" for i in range(MAX_OPERATIONS // 3))
    before = health(str(web.base_url))["replaced"]
    quick: list[int] = []

    def meanwhile() -> None:
        time.sleep(0.3)  # let the slow one start first
        for _ in range(5):
            quick.append(web.post("/api/graph", json={"expression": "x*x", "at": {"x": 2}}
                                  ).status_code)

    other = threading.Thread(target=meanwhile)
    other.start()
    slow = web.post("/api/graph", json={"expression": expression})
    other.join()
    assert slow.status_code == 503
    assert "longer than 2 s" in slow.json()["error"] and slow.json()["column"] is None
    assert quick == [200] * 5
    assert health(str(web.base_url))["replaced"] == before + 1
    assert web.post("/api/graph", json={"expression": "x*x"}).status_code == 200


# ------------------------------------------------------------------ origins


def test_cross_origin_requests_are_refused(web: httpx.Client, server: str) -> None:
    body = {"expression": "x*x"}
    host = server.removeprefix("http://").rstrip("/")
    assert web.post("/api/graph", json=body, headers={"origin": f"http://{host}"}
                    ).status_code == 200
    for headers in ({"origin": "http://evil.example"}, {"origin": "null"},
                    {"origin": f"https://{host}"}, {"sec-fetch-site": "cross-site"},
                    {"sec-fetch-site": "same-site"}, {"host": "evil.example"},
                    {"host": f"rebound.example:{host.split(':')[1]}"}):
        answer = web.post("/api/graph", json=body, headers=headers)
        assert answer.status_code == 403, headers
        assert "refused" in answer.json()["error"] or "answers to" in answer.json()["error"]
    assert web.get("/", headers={"host": "evil.example"}).status_code == 403
    preflight = web.options("/api/graph", headers={
        "origin": "http://evil.example", "access-control-request-method": "POST"})
    assert not any(k.lower().startswith("access-control") for k in preflight.headers)
    answer = web.post("/api/graph", json=body)
    assert not any(k.lower().startswith("access-control") for k in answer.headers)


def test_the_page_is_served_by_the_package_with_a_strict_policy(web: httpx.Client) -> None:
    page = web.get("/?expr=x&at=x=1")
    assert page.status_code == 200 and "data-testid=\"expression\"" in page.text
    policy = page.headers["content-security-policy"]
    assert "default-src 'self'" in policy and "frame-ancestors 'none'" in policy
    assert page.headers["x-content-type-options"] == "nosniff"
    for asset in ("/static/app.js", "/static/style.css"):
        served = web.get(asset)
        assert served.status_code == 200
        assert set(URL.findall(served.text)) <= {"http://www.w3.org/2000/svg"}  # no CDN
    assert URL.findall(page.text) == []


def test_the_static_files_are_package_data() -> None:
    import tomllib

    from chainrule.serve.app import STATIC

    with open(Path(__file__).parents[1] / "pyproject.toml", "rb") as file:
        patterns = tomllib.load(file)["tool"]["setuptools"]["package-data"]["chainrule.serve"]
    files = sorted(path.relative_to(STATIC.parent) for path in STATIC.iterdir())
    assert files and all(any(f.match(pattern) for pattern in patterns) for f in files)


# ------------------------------------------------------------------ /api/check

WRONG_ANSWER = """p = b·c = (−7)(4) = −28
q = a − p = 2 − 28 = −26
A = q·d = −26
∂A/∂q = d = 1
"""


def test_check_is_the_cli_json(
    web: httpx.Client, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    body = {"expression": SHEET_EXPRESSIONS["A"], "at": SHEET_VALUES, "answers": WRONG_ANSWER}
    answer = web.post("/api/check", json=body)
    assert answer.status_code == 200, answer.text
    (tmp_path / "answers.txt").write_text(WRONG_ANSWER, encoding="utf-8")
    capsys.readouterr()
    status = main(["check", SHEET_EXPRESSIONS["A"], str(tmp_path / "answers.txt"), "--at",
                   SHEET_AT, "--format", "json"])
    assert status == 1  # something is wrong
    assert answer.json() == json.loads(capsys.readouterr().out)
    verdicts = {line["line"]: line["verdict"] for line in answer.json()["lines"]}
    assert verdicts[2] == "wrong" and verdicts[1] == "correct"


def test_check_refuses_bad_input(web: httpx.Client) -> None:
    for body, message in (
        ({"expression": "(a", "answers": "x = 1"}, "column"),
        ({"expression": "a*b", "at": {"a": 1}}, "the field 'answers' is missing"),
        ({"expression": "a*b", "answers": 5}, "'answers' must be a string"),
    ):
        refused = web.post("/api/check", json=body)
        assert refused.status_code == 400 and message in refused.json()["error"], body


# ------------------------------------------------------------------ /api/chain


def test_chain_is_the_cli_json(web: httpx.Client, capsys: pytest.CaptureFixture[str]) -> None:
    answer = web.post("/api/chain", json={"weights": [1, -2, 6], "x": 0.25})
    assert answer.status_code == 200
    printed = cli_json(capsys, "chain", "--weights=1,-2,6", "--x", "0.25", "--format", "json")
    assert answer.json() == printed
    for body, message in (({"weights": []}, "depth must be between 1"),
                          ({"weights": [1], "activation": "swish"}, "'activation' must be one of"),
                          ({"weights": "1,2"}, "'weights' must be an array"),
                          ({"x": 1}, "the field 'weights' is missing")):
        refused = web.post("/api/chain", json=body)
        assert refused.status_code == 400 and message in refused.json()["error"], body


# ------------------------------------------------------------------ /api/predict


def test_predict_is_the_cli_prediction(
    web: httpx.Client, tiny_checkpoint: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    png = one_digit_png("1")
    (tmp_path / "one.png").write_bytes(png)
    printed = cli_json(capsys, "mnist", "predict", "--checkpoint", str(tiny_checkpoint),
                       "--format", "json", str(tmp_path / "one.png"))[0]
    answer = web.post("/api/predict", content=png, headers={"content-type": "image/png"})
    for _ in range(600):  # the network loads once (a few seconds); the page polls the same way
        if answer.status_code != 202:
            break
        assert answer.json()["status"] in ("loading", "training")
        time.sleep(0.1)
        answer = web.post("/api/predict", content=png, headers={"content-type": "image/png"})
    assert answer.status_code == 200, answer.text
    document = answer.json()
    assert document["digit"] == printed["digit"] == 1
    assert document["probabilities"] == printed["probabilities"]
    image = document["image28"]
    assert len(image) == 28 and all(len(row) == 28 for row in image)
    assert max(max(row) for row in image) > 200 and image[0][0] == 0  # white digit on black
    data_url = "data:image/png;base64," + base64.b64encode(png).decode()
    same = web.post("/api/predict", json={"image": data_url})
    assert same.json() == document
    jpeg = io.BytesIO()
    Image.open(io.BytesIO(png)).save(jpeg, format="JPEG")
    assert web.post("/api/predict", content=jpeg.getvalue(),
                    headers={"content-type": "image/jpeg"}).json()["digit"] == 1


@pytest.mark.parametrize(("body", "kind", "message"), [
    (b"GIF89a not really", "image/png", "the uploaded image: not an image PIL can read"),
    (b"\x89PNG\r\n\x1a\n" + b"\0" * 64, "image/png", "the uploaded image"),
    (json.dumps({"image": "data:text/html;base64,PGI+"}).encode(), "application/json",
     "'image' must be a data URL"),
    (json.dumps({"image": "data:image/png;base64,@@@"}).encode(), "application/json",
     "base64 is corrupt"),
    (json.dumps({"picture": 1}).encode(), "application/json", "'image' (a data URL) is missing"),
])
def test_bad_images_are_400(
    web: httpx.Client, body: bytes, kind: str, message: str, server: str
) -> None:
    answer = web.post("/api/predict", content=body, headers={"content-type": kind})
    for _ in range(600):
        if answer.status_code != 202:
            break
        time.sleep(0.1)
        answer = web.post("/api/predict", content=body, headers={"content-type": kind})
    assert answer.status_code == 400, answer.text
    assert message in answer.json()["error"]


def test_a_blank_image_says_there_is_no_digit(web: httpx.Client) -> None:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 64), "white").save(buffer, format="PNG")
    answer = web.post("/api/predict", content=buffer.getvalue(),
                      headers={"content-type": "image/png"})
    for _ in range(600):
        if answer.status_code != 202:
            break
        time.sleep(0.1)
        answer = web.post("/api/predict", content=buffer.getvalue(),
                          headers={"content-type": "image/png"})
    assert answer.status_code == 400 and "the uploaded image" in answer.json()["error"]


def test_a_run_cached_with_another_recipe_is_trained_again(tmp_path: Path) -> None:
    # An older chainrule's fast preset (another network) must not be loaded as today's.
    service = DigitService(None, cache_dir=tmp_path)
    folder = tmp_path / "fast"
    folder.mkdir()
    (folder / "best.pt").write_bytes(b"weights")
    assert not service.cache_fits()  # no metrics.json: not a whole run
    for config, fits in ((PRESETS["fast"], True), (replace(PRESETS["fast"], width=32), False)):
        (folder / "metrics.json").write_text(json.dumps({"config": asdict(config), "epochs": []}))
        assert service.cache_fits() is fits
    (folder / "metrics.json").write_text('{"config": {"colour": "red"}}')
    assert not service.cache_fits()


@pytest.mark.slow
def test_first_use_trains_once_shows_progress_and_caches(tmp_path: Path) -> None:
    tiny = replace(PRESETS["mlp"], hidden=(32,), epochs=1, batch_size=64, limit_train=3000,
                   val_size=500, limit_eval=500, threads=1)
    png = one_digit_png("1")
    seen: list[str] = []
    progress: list[float] = []
    for run in range(2):
        settings_ = Settings(port=free_port(), workers=1, cache_dir=tmp_path, training=tiny)
        with running(settings_) as url, httpx.Client(base_url=url, timeout=60) as client:
            for _ in range(1200):
                answer = client.post("/api/predict", content=png,
                                     headers={"content-type": "image/png"})
                if answer.status_code != 202:
                    break
                status = answer.json()
                seen.append(f"{run}:{status['status']}")
                progress.append(status["progress"])
                assert 0 <= status["progress"] <= 1 and status["message"]
                time.sleep(0.05)
            assert answer.status_code == 200, answer.text
            assert sum(answer.json()["probabilities"]) == pytest.approx(1, abs=1e-4)
        assert (tmp_path / "fast" / "best.pt").is_file()
        if run == 0:
            assert "0:training" in seen and progress == sorted(progress)
    assert not any(s == "1:training" for s in seen)  # the second server found the cache
    assert [p.name for p in tmp_path.iterdir()] == ["fast"]  # no scratch folders left


# ------------------------------------------------------------------ the command


def test_serve_command_errors_are_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for argv, message in (
        (["--port", "70000"], "--port must be between 0 and 65535"),
        (["--checkpoint", str(tmp_path / "none.pt")], "none.pt: no such file"),
        (["--workers", "0"], "--workers must be at least 1"),
        (["--budget", "0"], "--budget must be a positive number"),
        (["--host", "203.0.113.1"], "cannot listen on 203.0.113.1:"),
    ):
        capsys.readouterr()
        assert main(["serve", *argv]) == 2
        error = capsys.readouterr().err
        assert error.startswith("error: ") and message in error and len(error.splitlines()) == 1
    with contextlib.closing(__import__("socket").socket()) as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        capsys.readouterr()
        assert main(["serve", "--port", str(port)]) == 2
        assert "cannot listen on 127.0.0.1" in capsys.readouterr().err


def test_the_listening_socket_is_tcp_so_answers_are_not_delayed() -> None:
    """asyncio sets TCP_NODELAY only on IPPROTO_TCP sockets; without it each answer
    waited ~40 ms for the client's delayed ACK (measured: 44 ms -> 0.6 ms per request)."""
    import socket

    from chainrule.commands.serve import listen

    with contextlib.closing(listen("127.0.0.1", 0)) as bound:
        assert bound.proto == socket.IPPROTO_TCP and bound.type == socket.SOCK_STREAM


def _dying_starts(monkeypatch: pytest.MonkeyPatch, deaths: int) -> list[int]:
    """Make the first ``deaths`` worker processes die before they are ready."""
    from chainrule.serve import workers

    original, killed = workers.Worker.wait_ready, []

    def wait_ready(worker: workers.Worker) -> None:
        if len(killed) < deaths:
            killed.append(worker.process.pid or 0)
            worker.process.kill()
        original(worker)

    monkeypatch.setattr(workers.Worker, "wait_ready", wait_ready)
    monkeypatch.setattr(workers, "RETRY_DELAY_S", 0.01)
    return killed


def test_a_worker_that_dies_while_starting_is_started_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import asyncio

    from chainrule.serve.workers import WorkerPool

    killed = _dying_starts(monkeypatch, deaths=2)

    async def square() -> Any:
        async with WorkerPool(size=1, budget=30, warm=False) as pool:
            return await pool.run("graph", {"expression": "x*x", "at": {"x": 3}})

    assert asyncio.run(square())["gradients"] == {"x": 6.0}
    assert len(killed) == 2


def test_workers_that_keep_dying_while_starting_are_given_up(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import asyncio

    from chainrule.serve import workers

    killed = _dying_starts(monkeypatch, deaths=1000)

    async def starts() -> int:
        async with workers.WorkerPool(size=1, budget=30, warm=False) as pool:
            while pool.starting or pool.background:
                await asyncio.sleep(0.05)
            return pool.ready

    assert asyncio.run(starts()) == 0
    assert len(killed) == 1 + workers.START_RETRIES
