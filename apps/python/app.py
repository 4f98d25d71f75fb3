"""python-demo-app: the lgtmp Flask demo service.

This file imports NO OpenTelemetry and NO Pyroscope module. Telemetry is added from the
outside, exactly as the seed starts it:

    opentelemetry-instrument python app.py

`opentelemetry-instrument` (opentelemetry-distro + the Flask/requests/logging/system-metrics
instrumentations) creates the server spans, the http.server.request.duration histogram and the
OTLP log export; the small local package `lgtmp-pyroscope` (an `opentelemetry_instrumentor`
entry point) starts the Pyroscope profiler and tags CPU samples with the root span's id. Run it
as plain `python app.py` and it is an ordinary Flask app.

Routes (see apps/python/README.md): /hello, /slow, /alloc, /chain, /healthz, /admin/regex.
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
from typing import Any, Callable, TypeVar

import requests
from flask import Flask, Response, g, jsonify, request
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
#   2. SLOW_ITERATIONS (default 300, or ?iterations=1..100000): how often checkEmail runs per
#      request: ~4.5 s alone, ~9 s when two /slow requests overlap (one GIL), around the
#      seed's 6-8 s;
#   3. SLOW_MAX_SECONDS (default 20): a request stops iterating after this much time
#      (the answer then says "truncated": true), whatever the iterations and the machine.
# Many short matches (rather than one long one) also hand the GIL back between matches, so
# /hello stays fast while /slow runs.
# ---------------------------------------------------------------------------------------------
EMAIL_REGEX = r"^(\w+([-.][A-Za-z0-9]+)*){3,18}@\w+([-.][A-Za-z0-9]+)*\.\w+([-.][A-Za-z0-9]+)*$"
SEED_SAMPLE = "rosamariachoccelahuaaranda70@gmail.comnnbbb.bbNG.bbb.n¿.?n"

SLOW_LOCAL_CHARS = env_number("SLOW_LOCAL_CHARS", int, 13, 1, 20)
SLOW_ITERATIONS = env_number("SLOW_ITERATIONS", int, 300, 1, 100_000)
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


def allocateMemoryBurst(chunks: int, chunk_kib: int) -> dict[str, int]:  # noqa: N802 - the seed's name
    pattern = bytes(range(256)) * (chunk_kib * 4)  # chunk_kib KiB
    batch: list[bytearray] = []
    for _ in range(chunks):
        batch.append(bytearray(pattern))  # a fresh buffer, every byte written (pages really resident)
    with _retained_lock:
        _retained.append(batch)
        retained = len(_retained)
    return {
        "allocated_bytes": chunks * chunk_kib * 1024,
        "retained_batches": retained,
        "max_batches": _retained.maxlen or 0,
        "retained_bytes_approx": retained * chunks * chunk_kib * 1024,
    }


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
    if value in ("false", "0", ""):
        return None
    return error(400, "fail must be true or false", got=fail)


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
    result = allocateMemoryBurst(ALLOC_CHUNKS, ALLOC_CHUNK_KIB)
    return jsonify(route="/alloc", chunks=ALLOC_CHUNKS, chunk_kib=ALLOC_CHUNK_KIB, **result)


CHAIN_TIMEOUT_SECONDS = env_number("CHAIN_TIMEOUT_SECONDS", float, 30.0, 0.1, 600.0)


@app.get("/chain")
def chainHandler() -> Any:  # noqa: N802
    next_url = os.environ.get("NEXT_SERVICE_URL", "").strip().rstrip("/")
    downstream: dict[str, Any] | None = None
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


# ---------------------------------------------------------------------------------------------
# Built-in traffic generator (the seed's app keeps calling /slow on its own).
# TRAFFIC_GENERATOR=on|off (default on), TRAFFIC_RPS (default 1), TRAFFIC_CONCURRENCY (default 2:
# at most that many requests in flight; a tick that finds all busy is skipped, never queued),
# TRAFFIC_MIX (default slow=6,hello=3,alloc=1; also chain=N and fail=N for /hello?fail=true).
# It uses urllib (not instrumented), so each request's trace starts at the server span.
# ---------------------------------------------------------------------------------------------
TRAFFIC_PATHS = {"slow": "/slow", "hello": "/hello", "alloc": "/alloc", "chain": "/chain", "fail": "/hello?fail=true"}
DEFAULT_TRAFFIC_MIX = "slow=6,hello=3,alloc=1"


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
    paths = [p for p, _ in mix]
    weights = [w for _, w in mix]

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
            path = random.choices(paths, weights)[0]
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
