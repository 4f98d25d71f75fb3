"""A service that logs the way an OpenTelemetry logs bridge does, for test/logs-link.test.ts.

Run under `opentelemetry-instrument` (zero-code, as README's Python guide runs an app), which attaches
opentelemetry-instrumentation-logging's handler to the root logger: every `logging` record is exported over
OTLP with the active span's trace id and span id as the record's trace context. The message itself holds no
trace id. Prints the trace id of the span the first record was written in.
"""

import logging

from opentelemetry import trace
from opentelemetry.trace import SpanKind

log = logging.getLogger("orders")
log.setLevel(logging.INFO)

with trace.get_tracer("orders").start_as_current_span("GET /orders", kind=SpanKind.SERVER) as span:
    log.info("order placed: 3 items")
    print(format(span.get_span_context().trace_id, "032x"), flush=True)

# Outside any span: a record without trace context, which no span's logs link may return.
log.info("order queue drained")
