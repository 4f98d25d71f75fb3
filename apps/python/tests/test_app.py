"""Route tests for app.py, run WITHOUT OpenTelemetry (plain Flask test client and a real server)."""

from __future__ import annotations

import json
import logging
import os
import re
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Iterator

import pytest
from werkzeug.serving import make_server

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("TRAFFIC_GENERATOR", "off")

import app as demo  # noqa: E402


@pytest.fixture()
def client():
    demo.app.config["TESTING"] = False  # let the JSON error handlers answer, as in production
    with demo.app.test_client() as c:
        yield c


@pytest.fixture(autouse=True)
def _reset(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(demo, "regex_mode", "bad")
    monkeypatch.delenv("NEXT_SERVICE_URL", raising=False)
    yield
    with demo._retained_lock:
        demo._retained.clear()


def request_logs(caplog: pytest.LogCaptureFixture) -> list[dict]:
    return [json.loads(r.getMessage()) for r in caplog.records if r.name == demo.request_log.name]


# --- routes -------------------------------------------------------------------------------------

def test_hello(client) -> None:
    r = client.get("/hello")
    assert r.status_code == 200
    assert r.get_data(as_text=True) == "Hello World"


def test_healthz(client) -> None:
    r = client.get("/healthz")
    assert r.status_code == 200
    assert r.get_json() == {"status": "ok"}


def test_slow_runs_the_bad_regex(client) -> None:
    r = client.get("/slow?iterations=3")
    assert r.status_code == 200
    body = r.get_json()
    assert body["iterations"] == 3 and body["completed"] == 3
    assert body["matched"] == 0 and body["truncated"] is False
    assert body["mode"] == "bad"
    assert body["input"] == demo.SLOW_INPUT


@pytest.mark.parametrize("value", ["0", "-1", "100001", "abc", "1.5", ""])
def test_slow_rejects_bad_iterations(client, value: str) -> None:
    r = client.get(f"/slow?iterations={value}")
    assert r.status_code == 400
    assert "error" in r.get_json()


def test_slow_is_bounded_by_time(client, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(demo, "SLOW_MAX_SECONDS", 0.05)
    started = time.monotonic()
    r = client.get("/slow?iterations=100000")
    assert r.status_code == 200
    body = r.get_json()
    assert body["truncated"] is True and body["completed"] < 100000
    assert time.monotonic() - started < 5


def test_alloc_retains_a_bounded_number_of_batches(client, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(demo, "ALLOC_CHUNKS", 4)
    monkeypatch.setattr(demo, "ALLOC_CHUNK_KIB", 8)
    import collections

    monkeypatch.setattr(demo, "_retained", collections.deque(maxlen=3))
    seen = []
    for _ in range(5):
        r = client.get("/alloc")
        assert r.status_code == 200
        body = r.get_json()
        assert body["allocated_bytes"] == 4 * 8 * 1024
        seen.append(body["retained_batches"])
    assert seen == [1, 2, 3, 3, 3]
    batch = demo._retained[-1]
    assert len(batch) == 4 and all(len(chunk) == 8 * 1024 for chunk in batch)
    assert batch[0][255] == 255 and batch[0][256] == 0  # every byte written


def test_unknown_route_is_404_json(client) -> None:
    r = client.get("/nope")
    assert r.status_code == 404
    assert r.get_json()["error"] == "not found"


def test_wrong_method_is_405_json(client) -> None:
    r = client.post("/hello")
    assert r.status_code == 405
    assert r.is_json


@pytest.mark.parametrize("path", ["/hello", "/slow", "/alloc", "/chain", "/healthz", "/nope"])
def test_fail_true_gives_500_on_any_route(client, path: str) -> None:
    r = client.get(f"{path}?fail=true")
    assert r.status_code == 500
    assert r.is_json


def test_fail_with_a_bad_value_is_400(client) -> None:
    assert client.get("/hello?fail=maybe").status_code == 400
    assert client.get("/hello?fail=false").status_code == 200


def test_unexpected_exception_is_500_json(client, monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(_email: str) -> bool:
        raise RuntimeError("boom")

    monkeypatch.setattr(demo, "checkEmail", boom)
    r = client.get("/slow?iterations=1")
    assert r.status_code == 500
    assert r.get_json()["error"] == "internal error"


# --- regex mode ---------------------------------------------------------------------------------

def test_admin_regex_switches_mode(client) -> None:
    assert client.get("/admin/regex").get_json() == {"mode": "bad"}
    r = client.post("/admin/regex?mode=fixed")
    assert r.status_code == 200 and r.get_json() == {"mode": "fixed"}
    assert demo.regex_mode == "fixed"
    started = time.monotonic()
    body = client.get("/slow?iterations=2000").get_json()
    assert body["mode"] == "fixed" and body["completed"] == 2000 and body["matched"] == 0
    assert time.monotonic() - started < 2  # linear: 2000 checks in well under the bad regex's cost of one
    assert client.post("/admin/regex", json={"mode": "bad"}).get_json() == {"mode": "bad"}


@pytest.mark.parametrize("mode", ["", "worse", None])
def test_admin_regex_rejects_bad_modes(client, mode: str | None) -> None:
    r = client.post("/admin/regex" + ("" if mode is None else f"?mode={mode}"))
    assert r.status_code == 400
    assert demo.regex_mode == "bad"


@pytest.mark.parametrize("mode", ["bad", "fixed"])
def test_check_email_agrees_in_both_modes(monkeypatch: pytest.MonkeyPatch, mode: str) -> None:
    monkeypatch.setattr(demo, "regex_mode", mode)
    assert demo.checkEmail("rosa.maria@gmail.com")
    assert demo.checkEmail("john-doe.x@mail.example.org")
    assert not demo.checkEmail("no-at-sign.example.com")
    assert not demo.checkEmail("ab@example.com")  # fewer than 3 word characters before '@'
    assert not demo.checkEmail(demo.slow_input(8))


def test_fixed_mode_handles_the_full_seed_sample_fast(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(demo, "regex_mode", "fixed")
    started = time.monotonic()
    assert not demo.checkEmail(demo.SEED_SAMPLE)
    assert time.monotonic() - started < 0.1


def test_slow_input_keeps_the_seed_regex_and_domain() -> None:
    assert demo.EMAIL_REGEX == r"^(\w+([-.][A-Za-z0-9]+)*){3,18}@\w+([-.][A-Za-z0-9]+)*\.\w+([-.][A-Za-z0-9]+)*$"
    assert demo.SEED_SAMPLE == "rosamariachoccelahuaaranda70@gmail.comnnbbb.bbNG.bbb.n¿.?n"
    assert demo.slow_input(13) == "rosamariachoc@gmail.comnnbbb.bbNG.bbb.n¿.?n"
    assert demo.SLOW_INPUT.endswith("@gmail.comnnbbb.bbNG.bbb.n¿.?n")


def test_bad_regex_cost_grows_with_the_local_part() -> None:
    # Exponential backtracking, the point of /slow: 4 more characters cost clearly more.
    def cost(n: int) -> float:
        started = time.perf_counter()
        demo.re.match(demo.EMAIL_REGEX, demo.slow_input(n))
        return time.perf_counter() - started

    demo.re.match(demo.EMAIL_REGEX, "warm@up.cache")  # compile once, outside the timing
    assert cost(14) > 4 * min(cost(8) for _ in range(3))


# --- request log --------------------------------------------------------------------------------

MSG = re.compile(
    r"^\[(OK|ERROR)\] route=(\S+) method=(\S+) status=(\d+) duration_ms=(\d+) trace_id=(\S*) span_id=(\S*)$"
)


def test_one_json_request_log_per_request(client, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger=demo.request_log.name)
    client.get("/slow?iterations=2")
    client.get("/hello?fail=true")
    client.get("/nope")
    logs = request_logs(caplog)
    assert len(logs) == 3
    slow, failed, missing = logs
    assert set(slow) == {"msg", "route", "method", "status", "duration_ms", "trace_id", "span_id"}
    assert slow["route"] == "/slow" and slow["method"] == "GET" and slow["status"] == 200
    assert isinstance(slow["duration_ms"], int)
    m = MSG.match(slow["msg"])
    assert m and m.group(1) == "OK" and m.group(2) == "/slow" and int(m.group(5)) == slow["duration_ms"]
    # no instrumentation here, so no trace context
    assert slow["trace_id"] == "" and slow["span_id"] == ""
    assert failed["status"] == 500 and failed["level"] == "error" and failed["msg"].startswith("[ERROR] ")
    assert missing["status"] == 404 and missing["route"] == "/nope" and "level" not in missing
    levels = [r.levelno for r in caplog.records if r.name == demo.request_log.name]
    assert levels == [logging.INFO, logging.ERROR, logging.INFO]


def test_request_log_copies_trace_ids_from_log_correlation(client, caplog: pytest.LogCaptureFixture) -> None:
    """With OTEL_PYTHON_LOG_CORRELATION=true the instrumentation's record factory sets otelTraceID/otelSpanID."""
    caplog.set_level(logging.INFO, logger=demo.request_log.name)
    old = logging.getLogRecordFactory()

    def factory(*args, **kwargs):
        record = old(*args, **kwargs)
        record.otelTraceID = "0af7651916cd43dd8448eb211c80319c"
        record.otelSpanID = "b7ad6b7169203331"
        return record

    logging.setLogRecordFactory(factory)
    try:
        client.get("/hello")
    finally:
        logging.setLogRecordFactory(old)
    (entry,) = request_logs(caplog)
    assert entry["trace_id"] == "0af7651916cd43dd8448eb211c80319c"
    assert entry["span_id"] == "b7ad6b7169203331"
    assert entry["msg"].endswith("trace_id=0af7651916cd43dd8448eb211c80319c span_id=b7ad6b7169203331")


# --- /chain against real servers ----------------------------------------------------------------

class _Downstream(BaseHTTPRequestHandler):
    seen: list[tuple[str, dict]] = []

    def do_GET(self) -> None:  # noqa: N802
        _Downstream.seen.append((self.path, dict(self.headers)))
        payload = json.dumps({"service": "downstream"}).encode()
        status = 500 if self.path.startswith("/chain") and os.environ.get("_DOWNSTREAM_FAIL") else 200
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args) -> None:
        pass


@pytest.fixture()
def downstream() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Downstream)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    _Downstream.seen = []
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_chain_without_next_service(client) -> None:
    r = client.get("/chain")
    assert r.status_code == 200
    body = r.get_json()
    assert body["next"] is None and body["service"] == demo.SERVICE_NAME


def test_chain_calls_next_service(client, downstream: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NEXT_SERVICE_URL", downstream + "/")
    r = client.get("/chain")
    assert r.status_code == 200
    body = r.get_json()
    assert body["next"]["status"] == 200 and body["next"]["body"] == {"service": "downstream"}
    assert [p for p, _ in _Downstream.seen] == ["/chain"]


def test_chain_downstream_error_is_502(client, downstream: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NEXT_SERVICE_URL", downstream)
    monkeypatch.setenv("_DOWNSTREAM_FAIL", "1")
    r = client.get("/chain")
    assert r.status_code == 502 and r.is_json


def test_chain_unreachable_next_service_is_502(client, monkeypatch: pytest.MonkeyPatch) -> None:
    import socket

    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()  # nothing listens there now
    monkeypatch.setenv("NEXT_SERVICE_URL", f"http://127.0.0.1:{port}")
    r = client.get("/chain")
    assert r.status_code == 502
    assert r.get_json()["error"] == "downstream call failed"


# --- traffic generator --------------------------------------------------------------------------

def test_parse_traffic_mix() -> None:
    assert demo.parse_traffic_mix("slow=6,hello=3,alloc=1") == [("/slow", 6.0), ("/hello", 3.0), ("/alloc", 1.0)]
    assert demo.parse_traffic_mix(" chain=1 , fail=2, hello=0") == [("/chain", 1.0), ("/hello?fail=true", 2.0)]
    for bad in ["", "nope=1", "slow=x", "slow=-1", "hello=0"]:
        with pytest.raises(ValueError):
            demo.parse_traffic_mix(bad)


def test_default_traffic_shows_every_signal_each_minute() -> None:
    """At 1 rps, each minute's 60 picks hold every route of the default mix, spread over it, 3 % failures."""
    picks = demo.weighted_round_robin(demo.parse_traffic_mix(demo.DEFAULT_TRAFFIC_MIX))
    for _ in range(3):
        minute = [next(picks) for _ in range(60)]
        counts = {path: minute.count(path) for path in set(minute)}
        assert counts == {"/hello": 54, "/slow": 2, "/alloc": 2, "/hello?fail=true": 2}
        slow = [i for i, path in enumerate(minute) if path == "/slow"]
        assert slow[1] - slow[0] >= 20  # spread, not back to back


def test_traffic_generator_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    """Against the real app on a real port: requests flow, never more than `concurrency` at once."""
    in_flight = 0
    peak = 0
    lock = threading.Lock()
    original = demo.checkEmail

    def slow_check(email: str) -> bool:
        nonlocal in_flight, peak
        with lock:
            in_flight += 1
            peak = max(peak, in_flight)
        time.sleep(0.05)
        with lock:
            in_flight -= 1
        return original(email)

    monkeypatch.setattr(demo, "checkEmail", slow_check)
    monkeypatch.setattr(demo, "regex_mode", "fixed")
    monkeypatch.setattr(demo, "SLOW_ITERATIONS", 1)
    server = make_server("127.0.0.1", 0, demo.app, threaded=True)
    serve = threading.Thread(target=server.serve_forever, daemon=True)
    serve.start()
    results: list[tuple[str, int]] = []
    stop = threading.Event()
    try:
        gen = demo.start_traffic_generator(
            f"http://127.0.0.1:{server.server_port}",
            rps=50,
            concurrency=2,
            mix=demo.parse_traffic_mix("slow=1,hello=1"),
            stop=stop,
            on_result=lambda path, status: results.append((path, status)),
        )
        deadline = time.monotonic() + 10
        while len(results) < 10 and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        stop.set()
        gen.join(timeout=5)
        server.shutdown()
    assert len(results) >= 10
    assert all(status == 200 for _, status in results)
    assert {path for path, _ in results} <= {"/slow", "/hello"}
    assert peak <= 2
    assert not gen.is_alive()


def test_env_number(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("X_INT", "7")
    assert demo.env_number("X_INT", int, 1, 0, 10) == 7
    monkeypatch.setenv("X_FLOAT", "2.5")
    assert demo.env_number("X_FLOAT", float, 1.5, 0, 10) == 2.5
    monkeypatch.setenv("X_INT", "")
    assert demo.env_number("X_INT", int, 1, 0, 10) == 1


@pytest.mark.parametrize(
    ("parse", "raw", "default"),
    [
        (int, "70", 1),  # above the maximum: the default, not the maximum (as in the Go app)
        (int, "-3", 1),
        (int, "seven", 1),
        (int, "2.5", 1),
        (float, "70", 1.5),
        (float, "nan", 1.5),
        (float, "inf", 1.5),
        (float, "fast", 1.5),
    ],
)
def test_env_number_falls_back_with_a_warning(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], parse: type, raw: str, default: float
) -> None:
    monkeypatch.setenv("X_NUM", raw)
    assert demo.env_number("X_NUM", parse, default, 0, 10) == default
    assert f"ignoring X_NUM={raw!r}: want " in capsys.readouterr().err
