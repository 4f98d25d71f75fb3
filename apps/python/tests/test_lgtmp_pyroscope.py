"""The span-profile hook package (lgtmp-pyroscope), as installed in the venv: entry point and settings."""

from __future__ import annotations

from importlib.metadata import entry_points

import pytest

import lgtmp_pyroscope


def test_registered_as_an_opentelemetry_instrumentor() -> None:
    found = [ep for ep in entry_points(group="opentelemetry_instrumentor") if ep.name == "pyroscope"]
    assert len(found) == 1
    assert found[0].value == "lgtmp_pyroscope:PyroscopeInstrumentor"
    assert found[0].load() is lgtmp_pyroscope.PyroscopeInstrumentor
    assert tuple(lgtmp_pyroscope.PyroscopeInstrumentor().instrumentation_dependencies()) == ()


def test_tags_from_resource_attributes_and_pyroscope_tags(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OTEL_RESOURCE_ATTRIBUTES", "deployment.environment=lgtmp,service.name=x, team = core ,bad")
    monkeypatch.setenv("PYROSCOPE_TAGS", "region=eu,9lives=yes")
    assert lgtmp_pyroscope.profiler_tags() == {
        "deployment_environment": "lgtmp",
        "team": "core",
        "region": "eu",
        "_9lives": "yes",
    }


class _Resource:
    def __init__(self, attributes: dict) -> None:
        self.attributes = attributes


class _Provider:
    def __init__(self, attributes: dict) -> None:
        self.resource = _Resource(attributes)


def test_application_name(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PYROSCOPE_APPLICATION_NAME", raising=False)
    monkeypatch.setenv("OTEL_SERVICE_NAME", "from-env")
    assert lgtmp_pyroscope.application_name(_Provider({"service.name": "python-demo-app"})) == "python-demo-app"
    assert lgtmp_pyroscope.application_name(object()) == "from-env"
    monkeypatch.setenv("PYROSCOPE_APPLICATION_NAME", "explicit")
    assert lgtmp_pyroscope.application_name(_Provider({"service.name": "python-demo-app"})) == "explicit"
