"""my-python-app: a service of your own, started as `opentelemetry-instrument python app.py`.

opentelemetry-instrument traces Flask and sends `logging` records as OpenTelemetry logs with the
request's trace context; the only telemetry code here is a child span around the work and the
span-profile wiring (pyroscope-io + pyroscope-otel), as docs/instrument-your-app.md shows.
"""

import atexit
import logging
import os
import signal
import sys

import pyroscope
from flask import Flask, jsonify, request
from opentelemetry import trace
from pyroscope.otel import PyroscopeSpanProcessor

# Span profiles: profile under the service's name and label each sample with its root span's id.
pyroscope.configure(
    application_name=os.environ["OTEL_SERVICE_NAME"],
    server_address=os.environ["PYROSCOPE_SERVER_ADDRESS"],
)
atexit.register(pyroscope.shutdown)  # uploads the last profile at exit
trace.get_tracer_provider().add_span_processor(PyroscopeSpanProcessor())

log = logging.getLogger("my-python-app")
tracer = trace.get_tracer(__name__)
app = Flask(__name__)
MAX_N = 1_000_000


@app.get("/")
def index():
    return jsonify(status="ok")


@app.get("/work")
def work():
    """GET /work?n=N: counts the primes below N (default 20000) and logs how many."""
    raw = request.args.get("n", "20000")
    if not raw.isdigit() or not 2 <= int(raw) <= MAX_N:
        return jsonify(error=f"n must be an integer from 2 to {MAX_N}"), 400
    n = int(raw)
    with tracer.start_as_current_span("count_primes"):
        primes = count_primes(n)
    log.info("counted %d primes below %d", primes, n)
    return jsonify(n=n, primes=primes)


def count_primes(below):
    """The CPU work: trial division, on purpose the slow way."""
    count = 0
    for candidate in range(2, below):
        d = 2
        while d * d <= candidate and candidate % d:
            d += 1
        if d * d > candidate:
            count += 1
    return count


if __name__ == "__main__":
    # exit normally on `docker stop`, so the SDK flushes its last batch
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    app.run(host="0.0.0.0", port=int(os.environ.get("PORT", "8000")))
