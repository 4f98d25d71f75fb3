"""python-demo-app: the lgtmp Flask demo service.

Telemetry is added from the outside, exactly as the seed starts it:

    opentelemetry-instrument python app.py

`opentelemetry-instrument` (opentelemetry-distro + the Flask/requests/logging/system-metrics
instrumentations) creates the server spans, the http.server.request.duration histogram and the
OTLP log export; the small local package `lgtmp-pyroscope` (an `opentelemetry_instrumentor`
entry point) starts the Pyroscope profiler and tags CPU samples with the root span's id. The app
imports no SDK, exporter or profiler: only the OpenTelemetry API, for the two things the fault
switches add (the `injected_latency` span and the `lgtmp.fault.active` gauge); without
`opentelemetry-instrument` the API is a no-op and this is an ordinary Flask app.

Routes (see apps/python/README.md): /hello, /slow, /alloc, /chain, /healthz, /admin/regex,
/admin/faults.
"""

from __future__ import annotations

import collections
import hashlib
import json
import logging
import os
import random
import re
import signal
import sys
import threading
import time
import urllib.error
import urllib.request
from typing import Any, Callable, Iterator, TypeVar

import requests
from flask import Flask, Response, g, jsonify, request
from opentelemetry import metrics, trace
from werkzeug.exceptions import HTTPException

SERVICE_NAME = os.environ.get("OTEL_SERVICE_NAME", "").strip() or "python-demo-app"


def _warn(message: str) -> None:
    print(f"{SERVICE_NAME}: {message}", file=sys.stderr, flush=True)


N = TypeVar("N", int, float)


def env_number(name: str, parse: Callable[[str], N], default: N, lo: N, hi: N) -> N:
    """A number setting in [lo, hi], read with `parse` (int or float); unset or blank means the default.

    As in the Go, Java and Node apps, an unparsable or out-of-range value is never clamped: it
    falls back to the default with a warning on stderr. NaN fails the range check, so it does too.
    """
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = parse(raw)
        if lo <= value <= hi:
            return value
    except ValueError:
        pass  # unparsable: reported below like an out-of-range value
    kind = "an integer" if parse is int else "a number"
    _warn(f"ignoring {name}={raw!r}: want {kind} from {lo} to {hi}, using {default}")
    return default


# ---------------------------------------------------------------------------------------------
# /slow: the seed's email regex over the seed's crafted sample.
#
# The regex nests quantifiers, `(\w+([-.][A-Za-z0-9]+)*){3,18}`, and the sample can never match
# (it ends in "¿.?n"), so Python's backtracking `re` engine tries every way of splitting the part
# before '@' into 3..18 words before it gives up: the cost doubles with each extra character.
# Measured on a quiet 2-core x86_64 box (CPython 3.11): 13 characters before '@' take ~15 ms per
# match, 17 ~0.26 s, 20 ~2 s, 21 ~4.5 s; the seed's full 28 would take ~10 minutes for ONE match.
# So the work is bounded three ways, and /slow takes seconds, never minutes:
#   1. SLOW_LOCAL_CHARS (default 13, at most 20): the sample keeps its domain part
#      ("@gmail.comnnbbb.bbNG.bbb.n¿.?n") but only this many characters of its local part
#      ("rosamariachoc" for 13), so one match costs ~15 ms (at most ~2 s);
#   2. SLOW_ITERATIONS (default 100, or ?iterations=1..100000): how often checkEmail runs per
#      request: ~1.5 s of CPU, seconds in checkEmail as in the seed, cheap enough that the
#      default traffic (2 /slow a minute) keeps the app near a tenth of a core; 300 gives the
#      seed's ~4.5 s;
#   3. SLOW_MAX_SECONDS (default 20): a request stops iterating after this much time
#      (the answer then says "truncated": true), whatever the iterations and the machine.
# Many short matches (rather than one long one) also hand the GIL back between matches, so
# /hello stays fast while /slow runs.
# ---------------------------------------------------------------------------------------------
EMAIL_REGEX = r"^(\w+([-.][A-Za-z0-9]+)*){3,18}@\w+([-.][A-Za-z0-9]+)*\.\w+([-.][A-Za-z0-9]+)*$"
SEED_SAMPLE = "rosamariachoccelahuaaranda70@gmail.comnnbbb.bbNG.bbb.n¿.?n"

SLOW_LOCAL_CHARS = env_number("SLOW_LOCAL_CHARS", int, 13, 1, 20)
SLOW_ITERATIONS = env_number("SLOW_ITERATIONS", int, 100, 1, 100_000)
SLOW_MAX_SECONDS = env_number("SLOW_MAX_SECONDS", float, 20.0, 0.001, 120.0)
MAX_ITERATIONS = 100_000


def slow_input(local_chars: int) -> str:
    local, _, domain = SEED_SAMPLE.partition("@")
    return f"{local[:local_chars]}@{domain}"


SLOW_INPUT = slow_input(SLOW_LOCAL_CHARS)

# REGEX_MODE=bad (default) runs the seed's regex; REGEX_MODE=fixed is the tour's fix: a linear
# check (unambiguous patterns, so the engine never backtracks). Switch at runtime with
# POST /admin/regex?mode=fixed|bad.
REGEX_MODES = ("bad", "fixed")
_mode_from_env = os.environ.get("REGEX_MODE", "bad").strip().lower() or "bad"
if _mode_from_env not in REGEX_MODES:
    _warn(f"ignoring REGEX_MODE={_mode_from_env!r} (use bad or fixed), using bad")
    _mode_from_env = "bad"
regex_mode = _mode_from_env

_WORDS = re.compile(r"\w+(?:[-.][A-Za-z0-9]+)*")  # each [-.] must be followed by a letter/digit: no ambiguity


def check_email_linear(email: str) -> bool:
    """The fix: same intent as EMAIL_REGEX (word groups, '@', a dotted domain), linear time."""
    local, at, domain = email.partition("@")
    if not at or len(local) < 3 or "." not in domain:
        return False
    return _WORDS.fullmatch(local) is not None and _WORDS.fullmatch(domain) is not None


def checkEmail(email: str) -> bool:  # noqa: N802 - named like the seed's Go function, so flame graphs read the same
    """Validate an email address. In "bad" mode this is the seed's catastrophic regex."""
    if regex_mode == "fixed":
        return check_email_linear(email)
    return re.match(EMAIL_REGEX, email) is not None


# ---------------------------------------------------------------------------------------------
# /alloc: allocateMemoryBurst, ALLOC_CHUNKS x ALLOC_CHUNK_KIB per request (default 200 x 256 KiB
# = 50 MiB), every byte written, the batch kept in a global; at most ALLOC_MAX_BATCHES batches
# (default 20, ~1 GiB) are retained, the oldest is dropped first.
# ---------------------------------------------------------------------------------------------
ALLOC_CHUNKS = env_number("ALLOC_CHUNKS", int, 200, 1, 10_000)
ALLOC_CHUNK_KIB = env_number("ALLOC_CHUNK_KIB", int, 256, 1, 65_536)
ALLOC_MAX_BATCHES = env_number("ALLOC_MAX_BATCHES", int, 20, 1, 1_000)

_retained: collections.deque[list[bytearray]] = collections.deque(maxlen=ALLOC_MAX_BATCHES)
_retained_lock = threading.Lock()
# What /alloc keeps while the leak fault is on (the same batches, also kept above while they are recent).
_leaked: list[list[bytearray]] = []
_leaked_bytes = 0


def allocateMemoryBurst(chunks: int, chunk_kib: int, leak_cap_bytes: int | None = None) -> dict[str, Any]:  # noqa: N802 - the seed's name
    """One batch, kept among the recent ones; with leak_cap_bytes (the leak fault) also kept for good, up to the cap."""
    global _leaked_bytes
    pattern = bytes(range(256)) * (chunk_kib * 4)  # chunk_kib KiB
    batch: list[bytearray] = []
    for _ in range(chunks):
        batch.append(bytearray(pattern))  # a fresh buffer, every byte written (pages really resident)
    allocated = chunks * chunk_kib * 1024
    leak: dict[str, Any] | None = None
    with _retained_lock:
        _retained.append(batch)
        retained = len(_retained)
        if leak_cap_bytes is not None:
            kept = _leaked_bytes + allocated <= leak_cap_bytes
            if kept:
                _leaked.append(batch)
                _leaked_bytes += allocated
            leak = {"retained_mib": _leaked_bytes >> 20, "cap_mib": leak_cap_bytes >> 20, "capped": not kept}
    return {
        "allocated_bytes": allocated,
        "retained_batches": retained,
        "max_batches": _retained.maxlen or 0,
        "retained_bytes_approx": retained * allocated,
        "leak": leak,
    }


def release_leak() -> None:
    global _leaked_bytes
    with _retained_lock:
        _leaked.clear()
        _leaked_bytes = 0


def chainWork() -> str:  # noqa: N802
    """A little CPU work after the downstream call."""
    digest = b"lgtmp"
    for _ in range(2_000):
        digest = hashlib.sha256(digest).digest()
    return digest.hex()[:16]


# ---------------------------------------------------------------------------------------------
# Request log: one JSON record per request through the standard `logging` module. Under
# opentelemetry-instrument, opentelemetry-instrumentation-logging exports it over OTLP with the
# request span's trace context; with OTEL_PYTHON_LOG_CORRELATION=true its record factory also
# puts the ids on the record (otelTraceID/otelSpanID), which we copy into the JSON body.
# ---------------------------------------------------------------------------------------------
request_log = logging.getLogger("python-demo-app.requests")
request_log.setLevel(logging.INFO)


def _hex_id(value: Any, width: int) -> str:
    text = str(value or "")
    if len(text) != width or text == "0" * width:
        return ""
    return text


def log_request(route: str, method: str, status: int, duration_ms: int) -> None:
    level = logging.ERROR if status >= 500 else logging.INFO
    if not request_log.isEnabledFor(level):
        return
    record = request_log.makeRecord(request_log.name, level, __file__, 0, "", (), None, func="log_request")
    trace_id = _hex_id(getattr(record, "otelTraceID", ""), 32)
    span_id = _hex_id(getattr(record, "otelSpanID", ""), 16)
    tag = "[ERROR]" if status >= 500 else "[OK]"
    body: dict[str, Any] = {
        "msg": f"{tag} route={route} method={method} status={status} duration_ms={duration_ms} "
        f"trace_id={trace_id} span_id={span_id}",
        "route": route,
        "method": method,
        "status": status,
        "duration_ms": duration_ms,
        "trace_id": trace_id,
        "span_id": span_id,
    }
    if status >= 500:
        body["level"] = "error"
    record.msg = json.dumps(body, ensure_ascii=False, separators=(",", ":"))
    request_log.handle(record)


# ---------------------------------------------------------------------------------------------
# Fault switches (docs/fault-switches.md, the contract the four demo apps share): one per row of
# the seed's troubleshooting map, set at runtime with POST /admin/faults, each on for a while
# (`for`, default 10 m) and then off by itself, checked on every request and by a timer.
# ---------------------------------------------------------------------------------------------
FAULT_KINDS = ("errors", "latency", "leak", "cpu", "dependency")
FAULT_ROUTES = ("/hello", "/slow", "/alloc", "/chain")
FAULT_SETTINGS = {
    "errors": ("route", "ratio"),
    "latency": ("route", "delay"),
    "leak": ("cap_mib",),
    "cpu": ("route", "work"),
    "dependency": ("mode", "timeout"),
}
FAULT_DEFAULTS: dict[str, Any] = {
    "route": "/hello", "ratio": 0.5, "delay": 2.0, "cap_mib": 256, "work": 0.2, "mode": "error", "timeout": 1.0,
}
DEFAULT_FAULT_SECONDS = 600.0
MAX_FAULT_SECONDS = {"for": 3600.0, "delay": 30.0, "work": 2.0, "timeout": 30.0}
FAULT_EXAMPLE = '{"fault": "errors", "route": "/hello", "ratio": 0.5, "for": "10m"} or {"fault": "errors", "on": false}'

_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h)")
_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}


class FaultError(ValueError):
    """Bad POST /admin/faults input: the message is the 400's one line."""


def parse_duration(key: str, value: Any) -> float:
    """Seconds from "90s", "200ms", "5m", "1h", "1m30s" or a number of seconds; above 0, at most the key's maximum."""
    limit = MAX_FAULT_SECONDS[key]
    bad = FaultError(
        f'{key} must be a duration like "90s", "500ms" or "5m", or a number of seconds, above 0 and at most '
        f"{format_duration(limit)}"
    )
    if isinstance(value, bool):
        raise bad
    if isinstance(value, (int, float)):
        seconds = float(value)
    elif isinstance(value, str):
        text = value.strip()
        parts = _DURATION_PART.findall(text)
        if parts and "".join(n + u for n, u in parts) == text:
            seconds = sum(float(n) * _UNIT_SECONDS[u] for n, u in parts)
        else:
            try:
                seconds = float(text)
            except ValueError:
                raise bad from None
    else:
        raise bad
    if not 0 < seconds <= limit:  # NaN fails too
        raise bad
    return seconds


def format_duration(seconds: float) -> str:
    """The shortest of "1h", "10m", "90s", "200ms" that says it exactly."""
    ms = round(seconds * 1000)
    for unit, size in (("h", 3_600_000), ("m", 60_000), ("s", 1000)):
        if ms % size == 0:
            return f"{ms // size}{unit}"
    return f"{ms}ms"


class Fault:
    """One kind while it is on: its settings (defaults filled in), how long it lasts, when it ends."""

    def __init__(self, kind: str, settings: dict[str, Any], seconds: float) -> None:
        self.kind = kind
        self.settings = settings
        self.seconds = seconds
        self.expires_at = 0.0  # wall clock, set when it is switched on

    def shown(self, key: str) -> Any:
        value = self.settings[key]
        return format_duration(value) if key in MAX_FAULT_SECONDS else value

    def doc(self) -> dict[str, Any]:
        expires = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(self.expires_at))
        return {**{k: self.shown(k) for k in self.settings}, "expires_at": expires}

    def describe(self) -> str:
        """The settings part of the [FAULT] line: "route=/hello ratio=0.5"."""
        return " ".join(f"{k}={self.shown(k):g}" if k == "ratio" else f"{k}={self.shown(k)}" for k in self.settings)


def parse_fault_request(body: Any, has_next: bool) -> tuple[str, Fault | None]:
    """A POST /admin/faults body -> (kind, the fault to turn on, or None to turn the kind off)."""
    if not isinstance(body, dict):
        raise FaultError(f"body must be a JSON object like {FAULT_EXAMPLE}")
    kind = body.get("fault")
    if kind not in FAULT_KINDS:
        raise FaultError(f"fault must be one of {', '.join(FAULT_KINDS)}")
    on = body.get("on", True)
    if not isinstance(on, bool):
        raise FaultError("on must be true or false")
    if not on:
        extra = sorted(set(body) - {"fault", "on"})
        if extra:
            raise FaultError(f"unknown key {extra[0]!r}: turning a fault off takes only fault and on")
        return kind, None
    allowed = FAULT_SETTINGS[kind]
    extra = sorted(set(body) - {"fault", "on", "for", *allowed})
    if extra:
        raise FaultError(f"unknown key {extra[0]!r} for {kind}: accepted keys are {', '.join(allowed)}, for, on")
    if kind == "dependency" and not has_next:
        raise FaultError("dependency needs a next service: NEXT_SERVICE_URL is not set for this app")
    settings = {k: FAULT_DEFAULTS[k] for k in allowed}
    for key in allowed:
        if key not in body:
            continue
        value = body[key]
        if key in MAX_FAULT_SECONDS:
            settings[key] = parse_duration(key, value)
        elif key == "route":
            if value not in FAULT_ROUTES:
                raise FaultError(f"route must be one of {', '.join(FAULT_ROUTES)}")
            settings[key] = value
        elif key == "ratio":
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value <= 1:
                raise FaultError("ratio must be a number above 0 and at most 1")
            settings[key] = float(value)
        elif key == "cap_mib":
            if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 1024:
                raise FaultError("cap_mib must be an integer from 1 to 1024")
            settings[key] = value
        elif key == "mode":
            if value not in ("error", "timeout"):
                raise FaultError('mode must be "error" or "timeout"')
            settings[key] = value
    seconds = parse_duration("for", body["for"]) if "for" in body else DEFAULT_FAULT_SECONDS
    return kind, Fault(kind, settings, seconds)


class FaultSwitches:
    """The kinds that are on. Every reader first turns off what has expired; a timer per fault does it too, so a
    fault ends on time even with no traffic. on_change(kind, fault, reason) is called outside the lock for every
    change: fault set when on, None with reason "request" or "expired" when off."""

    def __init__(self, on_change: Callable[[str, Fault | None, str], None]) -> None:
        self._lock = threading.Lock()
        self._on: dict[str, Fault] = {}
        self._timers: dict[str, threading.Timer] = {}
        self._on_change = on_change

    def _off_locked(self, kind: str, reason: str) -> tuple[str, Fault | None, str]:
        del self._on[kind]
        timer = self._timers.pop(kind, None)
        if timer is not None:
            timer.cancel()
        return (kind, None, reason)

    def _expire_locked(self) -> list[tuple[str, Fault | None, str]]:
        now = time.time()
        return [self._off_locked(k, "expired") for k in FAULT_KINDS if k in self._on and self._on[k].expires_at <= now]

    def _report(self, changes: list[tuple[str, Fault | None, str]]) -> None:
        for change in changes:
            self._on_change(*change)

    def active(self, kind: str, route: str | None = None) -> Fault | None:
        """The kind's fault if it is on (and, given a route, on for that route)."""
        with self._lock:
            changes = self._expire_locked()
            fault = self._on.get(kind)
        self._report(changes)
        if fault is not None and route is not None and fault.settings.get("route") != route:
            return None
        return fault

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            changes = self._expire_locked()
            faults = {k: (self._on[k].doc() if k in self._on else None) for k in FAULT_KINDS}
        self._report(changes)
        return faults

    def set(self, kind: str, fault: Fault | None) -> None:
        with self._lock:
            changes = self._expire_locked()
            if fault is None:
                if kind in self._on:
                    changes.append(self._off_locked(kind, "request"))
            else:
                old = self._timers.pop(kind, None)
                if old is not None:
                    old.cancel()
                fault.expires_at = time.time() + fault.seconds
                self._on[kind] = fault
                timer = threading.Timer(fault.seconds, self.active, args=(kind,))
                timer.daemon = True
                timer.start()
                self._timers[kind] = timer
                changes.append((kind, fault, ""))
        self._report(changes)


fault_log = logging.getLogger("python-demo-app.faults")
fault_log.setLevel(logging.INFO)


def report_fault_change(kind: str, fault: Fault | None, reason: str) -> None:
    """The [FAULT] log line of a switch change; turning the leak off also frees what it kept."""
    if fault is not None:
        msg = f"[FAULT] {kind} on {fault.describe()} for={format_duration(fault.seconds)}"
        body = {"msg": msg, "fault": kind, "state": "on", "level": "warn"}
    else:
        body = {"msg": f"[FAULT] {kind} off ({reason})", "fault": kind, "state": "off", "reason": reason, "level": "warn"}
        if kind == "leak":
            release_leak()
    fault_log.warning(json.dumps(body, separators=(",", ":")))


faults = FaultSwitches(report_fault_change)

# The API only: a no-op without opentelemetry-instrument, the SDK's meter and tracer under it.
_meter = metrics.get_meter("python-demo-app")
_tracer = trace.get_tracer("python-demo-app")


def _observe_faults(_options: Any) -> list[metrics.Observation]:
    return [metrics.Observation(1 if faults.active(k) else 0, {"fault": k}) for k in FAULT_KINDS]


_meter.create_observable_gauge(
    "lgtmp.fault.active", callbacks=[_observe_faults], description="1 while the fault switch of this kind is on, 0 when off."
)


def injected_latency(seconds: float) -> None:
    """The latency fault: a sleep on the server, in its own child span."""
    with _tracer.start_as_current_span("injected_latency", attributes={"lgtmp.fault": "latency"}):
        time.sleep(seconds)


def burn_cpu(seconds: float) -> str:
    """The cpu fault: spins in Python code on the request's thread until it has used `seconds` of CPU time, so its
    samples carry the request's span and this function is its own frame in the CPU flame graph."""
    digest = b"burn_cpu"
    end = time.thread_time() + seconds
    while time.thread_time() < end:
        for _ in range(200):
            digest = hashlib.sha256(digest).digest()
    return digest.hex()[:16]


# ---------------------------------------------------------------------------------------------
# The Flask app
# ---------------------------------------------------------------------------------------------
app = Flask(__name__)
app.json.sort_keys = False  # type: ignore[attr-defined]


def error(status: int, message: str, **extra: Any) -> tuple[Response, int]:
    return jsonify(error=message, status=status, **extra), status


@app.before_request
def _start_request() -> Any:
    g.started = time.perf_counter()
    fail = request.args.get("fail")
    if fail is None:
        return None
    value = fail.strip().lower()
    if value in ("true", "1"):
        return error(500, "failure requested with ?fail=true", route=request.path)
    if value not in ("false", "0", ""):
        return error(400, "fail must be true or false", got=fail)
    return None


@app.before_request
def _inject_faults() -> Any:
    """The errors, latency and cpu faults, on the route they name (after ?fail, before the handler)."""
    if request.method != "GET" or request.path not in FAULT_ROUTES:
        return None
    fault = faults.active("errors", request.path)
    if fault is not None and random.random() < fault.settings["ratio"]:
        trace.get_current_span().add_event("failure injected by the errors fault")
        return error(500, "failure injected by the errors fault", route=request.path)
    fault = faults.active("latency", request.path)
    if fault is not None:
        injected_latency(fault.settings["delay"])
    fault = faults.active("cpu", request.path)
    if fault is not None:
        burn_cpu(fault.settings["work"])
    return None


@app.after_request
def _log_request(response: Response) -> Response:
    started = getattr(g, "started", None)
    duration_ms = int(round((time.perf_counter() - started) * 1000)) if started is not None else 0
    route = request.url_rule.rule if request.url_rule is not None else request.path
    try:
        log_request(route, request.method, response.status_code, duration_ms)
    except Exception as exc:  # a logging problem must never fail the request
        _warn(f"request log failed: {exc!r}")
    return response


@app.errorhandler(HTTPException)
def _http_error(exc: HTTPException) -> tuple[Response, int]:
    status = exc.code or 500
    names = {404: "not found", 405: "method not allowed", 400: "bad request"}
    return error(status, names.get(status, exc.name.lower()), path=request.path)


@app.errorhandler(Exception)
def _unexpected_error(exc: Exception) -> tuple[Response, int]:
    _warn(f"unhandled error on {request.method} {request.path}: {exc!r}")
    return error(500, "internal error", detail=type(exc).__name__)


@app.get("/hello")
def helloHandler() -> Response:  # noqa: N802
    return Response("Hello World", mimetype="text/plain")


@app.get("/healthz")
def healthzHandler() -> Response:  # noqa: N802
    return jsonify(status="ok")


@app.get("/slow")
def slowHandler() -> Any:  # noqa: N802
    raw = request.args.get("iterations")
    if raw is None:
        iterations = SLOW_ITERATIONS
    else:
        try:
            iterations = int(raw)
        except ValueError:
            return error(400, "iterations must be an integer", got=raw, min=1, max=MAX_ITERATIONS)
        if iterations < 1 or iterations > MAX_ITERATIONS:
            return error(400, "iterations out of range", got=iterations, min=1, max=MAX_ITERATIONS)
    deadline = time.monotonic() + SLOW_MAX_SECONDS
    completed = matched = 0
    while completed < iterations:
        if checkEmail(SLOW_INPUT):
            matched += 1
        completed += 1
        if time.monotonic() > deadline:
            break
    return jsonify(
        route="/slow",
        mode=regex_mode,
        iterations=iterations,
        completed=completed,
        matched=matched,
        truncated=completed < iterations,
        input=SLOW_INPUT,
    )


@app.get("/alloc")
def allocHandler() -> Any:  # noqa: N802
    leak = faults.active("leak")
    result = allocateMemoryBurst(ALLOC_CHUNKS, ALLOC_CHUNK_KIB, leak.settings["cap_mib"] << 20 if leak else None)
    return jsonify(route="/alloc", chunks=ALLOC_CHUNKS, chunk_kib=ALLOC_CHUNK_KIB, **result)


CHAIN_TIMEOUT_SECONDS = env_number("CHAIN_TIMEOUT_SECONDS", float, 30.0, 0.1, 600.0)


def next_service_url() -> str:
    return os.environ.get("NEXT_SERVICE_URL", "").strip().rstrip("/")


def fail_next(next_url: str, fault: Fault) -> tuple[Response, int]:
    """/chain under the dependency fault: "error" calls <next>/hello?fail=true (it answers 500) and answers 502;
    "timeout" calls <next>/slow with the fault's client timeout and answers 504. The instrumented `requests` call
    is the client span that records the failure."""
    if fault.settings["mode"] == "timeout":
        target, status, timeout = f"{next_url}/slow", 504, fault.settings["timeout"]
    else:
        target, status, timeout = f"{next_url}/hello?fail=true", 502, CHAIN_TIMEOUT_SECONDS
    try:
        answer = requests.get(target, timeout=timeout)
        problem = f"{target} answered {answer.status_code}"
    except requests.RequestException as exc:
        problem = f"calling {target}: {type(exc).__name__}"
    message = f"dependency fault ({fault.settings['mode']}): {problem}"
    trace.get_current_span().record_exception(RuntimeError(message))
    return error(status, message, next_url=target, fault="dependency")


@app.get("/chain")
def chainHandler() -> Any:  # noqa: N802
    next_url = next_service_url()
    downstream: dict[str, Any] | None = None
    dependency = faults.active("dependency")
    if next_url and dependency is not None:
        return fail_next(next_url, dependency)
    if next_url:
        target = f"{next_url}/chain"
        try:
            # `requests` is instrumented by opentelemetry-instrument: a client span, and the
            # W3C traceparent header on this call.
            answer = requests.get(target, timeout=CHAIN_TIMEOUT_SECONDS)
        except requests.RequestException as exc:
            return error(502, "downstream call failed", next=target, detail=type(exc).__name__)
        downstream = {"url": target, "status": answer.status_code}
        try:
            downstream["body"] = answer.json()
        except ValueError:
            downstream["body"] = answer.text[:200]
        if answer.status_code >= 500:
            return error(502, "downstream answered with an error", next=downstream)
    return jsonify(service=SERVICE_NAME, route="/chain", work=chainWork(), next=downstream)


@app.get("/admin/regex")
def getRegexMode() -> Response:  # noqa: N802
    return jsonify(mode=regex_mode)


@app.post("/admin/regex")
def setRegexMode() -> Any:  # noqa: N802
    global regex_mode
    mode = request.args.get("mode")
    if mode is None:
        body = request.get_json(silent=True)
        mode = body.get("mode") if isinstance(body, dict) else request.form.get("mode")
    if not isinstance(mode, str) or mode.strip().lower() not in REGEX_MODES:
        return error(400, "mode must be bad or fixed", got=mode)
    regex_mode = mode.strip().lower()
    return jsonify(mode=regex_mode)


@app.route("/admin/faults", methods=["GET", "POST"])
def adminFaults() -> Any:  # noqa: N802
    if request.method == "POST":
        try:
            kind, fault = parse_fault_request(request.get_json(force=True, silent=True), bool(next_service_url()))
        except FaultError as exc:
            return error(400, str(exc))
        faults.set(kind, fault)
    return jsonify(faults=faults.snapshot(), regex_mode=regex_mode)


# ---------------------------------------------------------------------------------------------
# Built-in traffic generator (the seed's app keeps calling /slow on its own).
# TRAFFIC_GENERATOR=on|off (default on), TRAFFIC_RPS (default 1), TRAFFIC_CONCURRENCY (default 2:
# at most that many requests in flight; a tick that finds all busy is skipped, never queued),
# TRAFFIC_MIX (default hello=54,slow=2,alloc=2,fail=2; also chain=N). The routes are taken in smooth
# weighted round-robin order, so the default spreads a minute at 1 rps evenly: 54 /hello, 2 /slow,
# 2 /alloc and 2 /hello?fail=true (3 % failures), every signal every minute, at a small CPU cost.
# It uses urllib (not instrumented), so each request's trace starts at the server span.
# ---------------------------------------------------------------------------------------------
TRAFFIC_PATHS = {"slow": "/slow", "hello": "/hello", "alloc": "/alloc", "chain": "/chain", "fail": "/hello?fail=true"}
DEFAULT_TRAFFIC_MIX = "hello=54,slow=2,alloc=2,fail=2"


def parse_traffic_mix(text: str) -> list[tuple[str, float]]:
    mix: list[tuple[str, float]] = []
    for part in text.split(","):
        part = part.strip()
        if not part:
            continue
        name, sep, weight_text = part.partition("=")
        name = name.strip().lower()
        if name not in TRAFFIC_PATHS:
            raise ValueError(f"unknown route {name!r} in TRAFFIC_MIX (known: {', '.join(TRAFFIC_PATHS)})")
        weight = float(weight_text) if sep else 1.0
        if not weight >= 0:
            raise ValueError(f"bad weight for {name!r} in TRAFFIC_MIX")
        if weight > 0:
            mix.append((TRAFFIC_PATHS[name], weight))
    if not mix:
        raise ValueError("TRAFFIC_MIX selects no route")
    return mix


def weighted_round_robin(mix: list[tuple[str, float]]) -> Iterator[str]:
    """Smooth weighted round-robin (as nginx spreads its upstreams): each path's share of every window of
    sum(weights) picks is its weight, and its picks are spread over the window rather than bunched."""
    current = [0.0] * len(mix)
    total = sum(w for _, w in mix)
    while True:
        for i, (_, weight) in enumerate(mix):
            current[i] += weight
        best = max(range(len(mix)), key=current.__getitem__)
        current[best] -= total
        yield mix[best][0]


def traffic_enabled() -> bool:
    return os.environ.get("TRAFFIC_GENERATOR", "on").strip().lower() not in ("off", "false", "0", "no")


def start_traffic_generator(
    base_url: str,
    rps: float,
    concurrency: int,
    mix: list[tuple[str, float]],
    stop: threading.Event | None = None,
    on_result: Callable[[str, int], None] | None = None,
) -> threading.Thread:
    stop = stop or threading.Event()
    slots = threading.BoundedSemaphore(concurrency)
    picks = weighted_round_robin(mix)

    def call(path: str) -> None:
        status = 0
        try:
            with urllib.request.urlopen(base_url + path, timeout=120) as answer:
                answer.read()
                status = answer.status
        except urllib.error.HTTPError as exc:
            status = exc.code
        except Exception:  # the server is not up yet, or is stopping
            status = 0
        finally:
            slots.release()
        if on_result is not None:
            on_result(path, status)

    def loop() -> None:
        interval = 1.0 / rps
        next_tick = time.monotonic()
        while not stop.is_set():
            next_tick += interval
            stop.wait(max(0.0, next_tick - time.monotonic()))
            if stop.is_set():
                break
            if not slots.acquire(blocking=False):
                continue  # all workers busy: skip this tick
            path = next(picks)
            threading.Thread(target=call, args=(path,), name="traffic-request", daemon=True).start()

    thread = threading.Thread(target=loop, name="traffic-generator", daemon=True)
    thread.start()
    return thread


def _on_sigterm(signum: int, _frame: Any) -> None:
    # Turn SIGTERM into a normal interpreter exit, so atexit hooks run: under
    # opentelemetry-instrument they flush the span, metric and log exporters and the profiler.
    raise SystemExit(0)


def main() -> None:
    port = env_number("PORT", int, 18082, 1, 65_535)
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stdout)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # our request log replaces its access log
    signal.signal(signal.SIGTERM, _on_sigterm)
    if traffic_enabled():
        try:
            mix = parse_traffic_mix(os.environ.get("TRAFFIC_MIX", DEFAULT_TRAFFIC_MIX))
        except ValueError as exc:
            _warn(f"{exc}; using {DEFAULT_TRAFFIC_MIX}")
            mix = parse_traffic_mix(DEFAULT_TRAFFIC_MIX)
        rps = env_number("TRAFFIC_RPS", float, 1.0, 0.01, 100.0)
        concurrency = env_number("TRAFFIC_CONCURRENCY", int, 2, 1, 64)
        start_traffic_generator(f"http://127.0.0.1:{port}", rps, concurrency, mix)
        traffic = f"on ({rps} rps, concurrency {concurrency})"
    else:
        traffic = "off"
    print(
        f"{SERVICE_NAME} listening on :{port} (regex mode {regex_mode}, slow {SLOW_ITERATIONS} x "
        f"{SLOW_INPUT!r}, traffic {traffic})",
        flush=True,
    )
    app.run(host="0.0.0.0", port=port, threaded=True, debug=False, use_reloader=False)


if __name__ == "__main__":
    main()
