"""The fault switches (docs/fault-switches.md) on the Flask app, WITHOUT OpenTelemetry (the API is a no-op here)."""

from __future__ import annotations

import json
import logging
import os
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Iterator

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("TRAFFIC_GENERATOR", "off")

import app as demo  # noqa: E402

OFF = {k: None for k in demo.FAULT_KINDS}


@pytest.fixture()
def client() -> Iterator:
    demo.app.config["TESTING"] = False
    with demo.app.test_client() as c:
        yield c


@pytest.fixture(autouse=True)
def _reset(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.delenv("NEXT_SERVICE_URL", raising=False)
    yield
    for kind in demo.FAULT_KINDS:
        demo.faults.set(kind, None)
    with demo._retained_lock:
        demo._retained.clear()


def post(client, body: object):
    return client.post("/admin/faults", data=json.dumps(body), content_type="application/json")


def fault_logs(caplog: pytest.LogCaptureFixture) -> list[dict]:
    return [json.loads(r.getMessage()) for r in caplog.records if r.name == demo.fault_log.name]


def wait_for(what: str, condition, timeout: float = 10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError(f"{what} never happened within {timeout} s")


def test_get_reports_every_kind_off(client) -> None:
    r = client.get("/admin/faults")
    assert r.status_code == 200
    assert r.get_json() == {"faults": OFF, "regex_mode": demo.regex_mode}


def test_on_with_defaults_then_off(client, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger=demo.fault_log.name)
    before = time.time()
    r = post(client, {"fault": "errors"})
    assert r.status_code == 200
    errors = r.get_json()["faults"]["errors"]
    assert errors["route"] == "/hello" and errors["ratio"] == 0.5
    expires = time.mktime(time.strptime(errors["expires_at"], "%Y-%m-%dT%H:%M:%SZ")) - time.timezone
    assert before + 600 - 2 <= expires <= time.time() + 600 + 1  # the default `for` is 10 minutes, RFC 3339 UTC
    assert client.get("/admin/faults").get_json()["faults"]["errors"] == errors
    r = post(client, {"fault": "errors", "on": False})
    assert r.status_code == 200 and r.get_json()["faults"] == OFF
    on, off = fault_logs(caplog)
    assert on == {"msg": "[FAULT] errors on route=/hello ratio=0.5 for=10m", "fault": "errors", "state": "on", "level": "warn"}
    assert off == {"msg": "[FAULT] errors off (request)", "fault": "errors", "state": "off", "reason": "request", "level": "warn"}
    assert [r.levelno for r in caplog.records if r.name == demo.fault_log.name] == [logging.WARNING] * 2


@pytest.mark.parametrize(
    ("body", "shown"),
    [
        ({"fault": "latency", "route": "/slow", "delay": "1500ms", "for": 90}, {"route": "/slow", "delay": "1500ms"}),
        ({"fault": "leak", "cap_mib": 64, "for": "1h"}, {"cap_mib": 64}),
        ({"fault": "cpu", "route": "/alloc", "work": 1, "for": "5m"}, {"route": "/alloc", "work": "1s"}),
        ({"fault": "errors", "route": "/chain", "ratio": 1, "on": True, "for": "1m30s"}, {"route": "/chain", "ratio": 1}),
    ],
)
def test_settings_are_reported(client, caplog: pytest.LogCaptureFixture, body: dict, shown: dict) -> None:
    caplog.set_level(logging.INFO, logger=demo.fault_log.name)
    r = post(client, body)
    assert r.status_code == 200, r.get_json()
    got = r.get_json()["faults"][body["fault"]]
    assert {k: v for k, v in got.items() if k != "expires_at"} == shown
    (line,) = fault_logs(caplog)
    settings = " ".join(f"{k}={v}" for k, v in shown.items())
    assert line["msg"] == f"[FAULT] {body['fault']} on {settings} for={demo.format_duration(demo.parse_duration('for', body['for']))}"


@pytest.mark.parametrize(
    ("body", "names"),
    [
        ("not json", "body"),
        ([1, 2], "body"),
        ({}, "fault"),
        ({"fault": "meteor"}, "fault"),
        ({"fault": "errors", "colour": "red"}, "colour"),
        ({"fault": "errors", "delay": "1s"}, "delay"),
        ({"fault": "errors", "on": False, "ratio": 0.5}, "ratio"),
        ({"fault": "errors", "on": "yes"}, "on"),
        ({"fault": "errors", "ratio": 0}, "ratio"),
        ({"fault": "errors", "ratio": 1.5}, "ratio"),
        ({"fault": "errors", "ratio": "half"}, "ratio"),
        ({"fault": "errors", "ratio": True}, "ratio"),
        ({"fault": "errors", "route": "/healthz"}, "route"),
        ({"fault": "latency", "delay": "31s"}, "delay"),
        ({"fault": "latency", "delay": "soon"}, "delay"),
        ({"fault": "latency", "delay": -1}, "delay"),
        ({"fault": "cpu", "work": "3s"}, "work"),
        ({"fault": "leak", "cap_mib": 0}, "cap_mib"),
        ({"fault": "leak", "cap_mib": 1025}, "cap_mib"),
        ({"fault": "leak", "cap_mib": 2.5}, "cap_mib"),
        ({"fault": "errors", "for": "2h"}, "for"),
        ({"fault": "errors", "for": 0}, "for"),
        ({"fault": "errors", "for": "10 minutes"}, "for"),
        ({"fault": "dependency"}, "NEXT_SERVICE_URL"),  # python-demo-app is the last of the chain
    ],
)
def test_bad_input_is_400_and_changes_nothing(client, caplog: pytest.LogCaptureFixture, body: object, names: str) -> None:
    caplog.set_level(logging.INFO, logger=demo.fault_log.name)
    assert post(client, {"fault": "cpu", "work": "10ms"}).status_code == 200
    before = client.get("/admin/faults").get_json()
    data = body if isinstance(body, str) else json.dumps(body)
    r = client.post("/admin/faults", data=data, content_type="application/json")
    assert r.status_code == 400
    message = r.get_json()["error"]
    assert names in message and "\n" not in message
    assert client.get("/admin/faults").get_json() == before
    assert len(fault_logs(caplog)) == 1  # only the cpu fault's own line
    assert client.get("/hello").status_code == 200  # and it keeps serving


def test_other_methods_are_405(client) -> None:
    r = client.put("/admin/faults", json={"fault": "errors"})
    assert r.status_code == 405 and r.is_json


def test_errors_fault_fails_a_share_of_the_route(client, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch) -> None:
    caplog.set_level(logging.INFO, logger=demo.request_log.name)
    assert post(client, {"fault": "errors", "route": "/hello", "ratio": 0.5}).status_code == 200
    draws = iter([0.2, 0.7, 0.4, 0.9])  # below the ratio fails
    monkeypatch.setattr(demo.random, "random", lambda: next(draws))
    assert [client.get("/hello").status_code for _ in range(4)] == [500, 200, 500, 200]
    assert client.get("/slow?iterations=1").status_code == 200  # another route is untouched
    logs = [json.loads(r.getMessage()) for r in caplog.records if r.name == demo.request_log.name]
    failed = [entry for entry in logs if entry["status"] == 500]
    assert len(failed) == 2
    assert all(e["level"] == "error" and e["msg"].startswith("[ERROR] route=/hello ") for e in failed)


def test_latency_fault_delays_the_route(client) -> None:
    assert post(client, {"fault": "latency", "route": "/hello", "delay": "300ms"}).status_code == 200
    started = time.perf_counter()
    assert client.get("/hello").status_code == 200
    assert time.perf_counter() - started >= 0.3
    started = time.perf_counter()
    assert client.get("/healthz").status_code == 200
    assert time.perf_counter() - started < 0.3


def test_cpu_fault_burns_cpu_in_burn_cpu(client, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[float] = []
    burn = demo.burn_cpu
    monkeypatch.setattr(demo, "burn_cpu", lambda seconds: calls.append(seconds) or burn(seconds))
    assert post(client, {"fault": "cpu", "route": "/slow", "work": "250ms"}).status_code == 200
    cpu = time.thread_time()
    assert client.get("/slow?iterations=1").status_code == 200
    assert calls == [0.25]
    assert time.thread_time() - cpu >= 0.25  # CPU time on the request's own thread, not a sleep
    assert client.get("/hello").status_code == 200 and calls == [0.25]


def test_leak_fault_keeps_alloc_batches_up_to_the_cap_and_frees_them(client, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(demo, "ALLOC_CHUNKS", 4)
    monkeypatch.setattr(demo, "ALLOC_CHUNK_KIB", 1024)  # 4 MiB a batch
    assert client.get("/alloc").get_json()["leak"] is None
    assert post(client, {"fault": "leak", "cap_mib": 10}).status_code == 200
    answers = [client.get("/alloc").get_json()["leak"] for _ in range(4)]
    assert answers == [
        {"retained_mib": 4, "cap_mib": 10, "capped": False},
        {"retained_mib": 8, "cap_mib": 10, "capped": False},
        {"retained_mib": 8, "cap_mib": 10, "capped": True},
        {"retained_mib": 8, "cap_mib": 10, "capped": True},
    ]
    assert len(demo._leaked) == 2
    assert post(client, {"fault": "leak", "on": False}).status_code == 200
    assert demo._leaked == [] and demo._leaked_bytes == 0


def test_a_fault_expires_by_itself(client, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger=demo.fault_log.name)
    assert post(client, {"fault": "leak", "for": "200ms"}).status_code == 200
    with demo._retained_lock:
        demo._leaked.append([bytearray(1)])
    # no request needed: the timer turns it off
    wait_for("the [FAULT] leak off (expired) line", lambda: any(e["state"] == "off" for e in fault_logs(caplog)))
    assert fault_logs(caplog)[-1] == {
        "msg": "[FAULT] leak off (expired)", "fault": "leak", "state": "off", "reason": "expired", "level": "warn",
    }
    assert client.get("/admin/faults").get_json()["faults"] == OFF
    assert demo._leaked == []


def test_an_expired_fault_is_off_for_the_next_request(client) -> None:
    assert post(client, {"fault": "errors", "ratio": 1, "for": "1s"}).status_code == 200
    assert client.get("/hello").status_code == 500
    fault = demo.faults.active("errors")
    fault.expires_at = time.time() - 1  # as if its time had passed before the timer fired
    assert client.get("/hello").status_code == 200


def test_the_gauge_callback_reports_every_kind(client) -> None:
    assert post(client, {"fault": "cpu", "work": "10ms"}).status_code == 200
    observed = {o.attributes["fault"]: o.value for o in demo._observe_faults(None)}
    assert observed == {"errors": 0, "latency": 0, "leak": 0, "cpu": 1, "dependency": 0}


# --- dependency, with a next service ------------------------------------------------------------

class _Next(BaseHTTPRequestHandler):
    seen: list[str] = []

    def do_GET(self) -> None:  # noqa: N802
        _Next.seen.append(self.path)
        if self.path.startswith("/slow"):
            time.sleep(1.0)
        status = 500 if "fail=true" in self.path else 200
        payload = b'{"ok": true}'
        try:
            self.send_response(status)
            self.send_header("content-length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
        except OSError:
            pass  # the timeout test's client has gone

    def log_message(self, *args) -> None:
        pass


@pytest.fixture()
def next_service(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Next)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    _Next.seen = []
    url = f"http://127.0.0.1:{server.server_address[1]}"
    monkeypatch.setenv("NEXT_SERVICE_URL", url)
    yield url
    server.shutdown()
    server.server_close()


def test_dependency_error_mode_is_502(client, next_service: str) -> None:
    assert post(client, {"fault": "dependency"}).get_json()["faults"]["dependency"]["mode"] == "error"
    r = client.get("/chain")
    assert r.status_code == 502
    assert r.get_json()["next_url"] == f"{next_service}/hello?fail=true"
    assert _Next.seen == ["/hello?fail=true"]


def test_dependency_timeout_mode_is_504(client, next_service: str) -> None:
    assert post(client, {"fault": "dependency", "mode": "timeout", "timeout": "200ms"}).status_code == 200
    started = time.perf_counter()
    r = client.get("/chain")
    assert r.status_code == 504
    assert time.perf_counter() - started < 1.0  # the client gave up before the next service answered
    assert r.get_json()["next_url"] == f"{next_service}/slow"
    assert post(client, {"fault": "dependency", "on": False}).status_code == 200
    assert client.get("/chain").status_code == 200


# --- duration helpers ---------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "seconds"), [("90s", 90), ("200ms", 0.2), ("5m", 300), ("1h", 3600), ("1m30s", 90), (45, 45), ("2.5", 2.5)])
def test_parse_duration(text: object, seconds: float) -> None:
    assert demo.parse_duration("for", text) == pytest.approx(seconds)


def test_format_duration() -> None:
    assert [demo.format_duration(s) for s in (3600, 600, 90, 0.2, 1.5)] == ["1h", "10m", "90s", "200ms", "1500ms"]
