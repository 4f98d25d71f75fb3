#!/bin/sh
# Starts java-demo-app in the container. The OpenTelemetry javaagent comes in through JAVA_TOOL_OPTIONS
# (-javaagent:/app/opentelemetry-javaagent.jar) and the Pyroscope extension through OTEL_JAVAAGENT_EXTENSIONS;
# this script only fills in two things the plain `java -jar` line cannot:
#
# 1. Pyroscope names. The extension's profiler reads PYROSCOPE_APPLICATION_NAME and PYROSCOPE_SERVER_ADDRESS
#    (or -Dpyroscope.application.name / -Dpyroscope.server.address), not OTEL_PYROSCOPE_APPLICATION_NAME /
#    OTEL_PYROSCOPE_SERVER_ADDRESS. The OTEL_PYROSCOPE_* spellings are accepted here as fallbacks, and the
#    application name defaults to OTEL_SERVICE_NAME so profiles and traces share one name.
# 2. Apple Silicon. JVMs in arm64 containers on some Apple M-series Macs crash at start-up (SIGILL) unless SVE
#    is switched off with -XX:UseSVE=0. That flag only exists on arm64 JVMs (an x86_64 JVM refuses to start
#    with it), so it is added only when the container runs on aarch64. JAVA_ARM64_OPTS= (empty) turns it off.
set -eu

APP_DIR="${APP_DIR:-/app}"

if [ -z "${PYROSCOPE_APPLICATION_NAME:-}" ]; then
  PYROSCOPE_APPLICATION_NAME="${OTEL_PYROSCOPE_APPLICATION_NAME:-${OTEL_SERVICE_NAME:-java-demo-app}}"
fi
export PYROSCOPE_APPLICATION_NAME
if [ -z "${PYROSCOPE_SERVER_ADDRESS:-}" ] && [ -n "${OTEL_PYROSCOPE_SERVER_ADDRESS:-}" ]; then
  PYROSCOPE_SERVER_ADDRESS="$OTEL_PYROSCOPE_SERVER_ADDRESS"
  export PYROSCOPE_SERVER_ADDRESS
fi

arch_opts=""
case "$(uname -m)" in
  aarch64 | arm64) arch_opts="${JAVA_ARM64_OPTS--XX:UseSVE=0}" ;;
esac

# shellcheck disable=SC2086 # JAVA_OPTS and arch_opts are lists of JVM flags
exec java $arch_opts ${JAVA_OPTS:-} -jar "$APP_DIR/java-demo-app.jar" "$@"
