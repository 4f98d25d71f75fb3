"""Zero-code span profiles for opentelemetry-instrument: pyroscope-io + pyroscope-otel.

Loaded by `opentelemetry-instrument` through the `opentelemetry_instrumentor` entry point
`pyroscope` (see pyproject.toml), after opentelemetry-distro has configured the SDK. The app
itself imports nothing from here.
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
from typing import Any, Collection, Dict

from opentelemetry import trace
from opentelemetry.instrumentation.instrumentor import BaseInstrumentor  # type: ignore[attr-defined]

__version__ = "0.1.0"

_logger = logging.getLogger(__name__)
_lock = threading.Lock()
_started = False

DEFAULT_SERVER_ADDRESS = "http://localhost:4040"


def _env(name: str) -> str:
    return os.environ.get(name, "").strip()


def _label_name(key: str) -> str:
    """Pyroscope label names are [a-zA-Z_][a-zA-Z0-9_]*: map anything else to '_'."""
    name = "".join(c if (c.isascii() and (c.isalnum() or c == "_")) else "_" for c in key.strip())
    if not name or name[0].isdigit():
        name = "_" + name
    return name


def _parse_pairs(text: str) -> Dict[str, str]:
    """`k=v,k2=v2` (the OTEL_RESOURCE_ATTRIBUTES / PYROSCOPE_TAGS format) -> dict; bad pairs skipped."""
    pairs: Dict[str, str] = {}
    for part in text.split(","):
        key, sep, value = part.partition("=")
        if sep and key.strip():
            pairs[key.strip()] = value.strip()
    return pairs


def profiler_tags() -> Dict[str, str]:
    tags: Dict[str, str] = {}
    for key, value in _parse_pairs(_env("OTEL_RESOURCE_ATTRIBUTES")).items():
        if key != "service.name":
            tags[_label_name(key)] = value
    for key, value in _parse_pairs(_env("PYROSCOPE_TAGS")).items():
        tags[_label_name(key)] = value
    return tags


def application_name(provider: Any) -> str:
    explicit = _env("PYROSCOPE_APPLICATION_NAME")
    if explicit:
        return explicit
    resource = getattr(provider, "resource", None)
    attributes = getattr(resource, "attributes", None) or {}
    name = attributes.get("service.name")
    if isinstance(name, str) and name:
        return name
    return _env("OTEL_SERVICE_NAME") or "unknown_service:python"


def _number(name: str, default: int, lo: int, hi: int) -> int:
    raw = _env(name)
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        _logger.warning("lgtmp-pyroscope: ignoring %s=%r (not an integer)", name, raw)
        return default
    return min(max(value, lo), hi)


def _flag(name: str, default: bool) -> bool:
    raw = _env(name).lower()
    if not raw:
        return default
    return raw not in ("false", "0", "off", "no")


def start() -> bool:
    """Start the profiler and add the span processor once; True when both are in place."""
    global _started
    with _lock:
        if _started:
            return True
        import pyroscope  # pyroscope-io
        from pyroscope.otel import PyroscopeSpanProcessor  # pyroscope-otel

        provider = trace.get_tracer_provider()
        name = application_name(provider)
        server = _env("PYROSCOPE_SERVER_ADDRESS") or DEFAULT_SERVER_ADDRESS
        debug = _env("PYROSCOPE_LOG_LEVEL").lower() == "debug"
        if debug:
            logging.getLogger("pyroscope").setLevel(logging.DEBUG)  # pyroscope-io logs at this logger's level
        pyroscope.configure(
            application_name=name,
            server_address=server,
            tags=profiler_tags(),
            # 50 Hz, not pyroscope-io's 100: the sampler's cost grows with the rate (apps/python/README.md)
            sample_rate=_number("PYROSCOPE_SAMPLE_RATE", 50, 1, 1000),
            upload_interval=_number("PYROSCOPE_UPLOAD_INTERVAL", 10, 1, 600),
            basic_auth_username=_env("PYROSCOPE_BASIC_AUTH_USERNAME"),
            basic_auth_password=_env("PYROSCOPE_BASIC_AUTH_PASSWORD"),
            tenant_id=_env("PYROSCOPE_TENANT_ID"),
            enable_logging=debug,
            # sampled allocation profiles (alloc_space/alloc_objects/inuse_space/inuse_objects)
            mem_enabled=_flag("PYROSCOPE_MEMORY_PROFILING", True),
            # one allocation sample per 4 MiB allocated, not pyroscope-io's 512 KiB: fewer stacks taken and
            # tracked, and a 50 MiB /alloc still leaves a dozen samples
            mem_heap_sample_size=_number("PYROSCOPE_MEMORY_SAMPLE_BYTES", 4 << 20, 1024, 1 << 30),
        )
        atexit.register(_shutdown)

        add = getattr(provider, "add_span_processor", None)
        if add is None:
            _logger.warning(
                "lgtmp-pyroscope: the tracer provider (%s) is not the OpenTelemetry SDK's; "
                "profiling %s without span ids",
                type(provider).__name__,
                name,
            )
            _started = True
            return False
        add(PyroscopeSpanProcessor())
        _started = True
        _logger.debug("lgtmp-pyroscope: profiling %s to %s with span profiles", name, server)
        return True


def _shutdown() -> None:
    try:
        import pyroscope

        pyroscope.shutdown()  # flushes the last profile
    except Exception:  # pragma: no cover - best effort at exit
        pass


class PyroscopeInstrumentor(BaseInstrumentor):  # type: ignore[misc]
    """`opentelemetry-instrument` hook: profiles the process, links samples to root spans."""

    def instrumentation_dependencies(self) -> Collection[str]:
        return ()

    def _instrument(self, **kwargs: Any) -> None:
        try:
            start()
        except Exception:  # never break the app because profiling could not start
            _logger.exception("lgtmp-pyroscope: could not start the Pyroscope profiler")

    def _uninstrument(self, **kwargs: Any) -> None:
        # pyroscope-io cannot be restarted in-process once shut down; leave it running.
        return None


__all__ = ["PyroscopeInstrumentor", "start", "profiler_tags", "application_name"]
