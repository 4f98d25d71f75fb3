// The project's shared facts, each written once: the services with their ports, the /chain order,
// the Grafana datasource uids, the profile type Grafana's span links ask for, the metric names and
// the seed's queries, the fault kinds, and the pinned versions (read from .env). The CLI, verify,
// the tours, the dashboards and the tests import them from here; the files that cannot import
// them (compose.yaml, the Dockerfiles, the apps' configs, Grafana's provisioning, Alloy's
// config, .env) are checked against them by test/contract.test.ts.
import { readEnv } from './project.js';

export type ServiceKind = 'backend' | 'collector' | 'ui' | 'app';
export type Language = 'go' | 'java' | 'python' | 'node';

/** One published port: the .env key of its host port (on 127.0.0.1) and the port inside the container. */
export interface PortFact {
  envKey: string;
  container: number;
}

export interface ServiceFacts {
  /** the compose service name; for the apps also their service.name */
  name: string;
  kind: ServiceKind;
  /** .env key of the image version (stack components; the apps are built here) */
  versionKey?: string;
  /** .env key of the host port the readiness URL uses (one of `ports`) */
  portKey: string;
  ports: readonly PortFact[];
  readyPath: string;
  /** the demo apps: which language, built from apps/<language> */
  language?: Language;
}

export const services: readonly ServiceFacts[] = [
  { name: 'loki', kind: 'backend', versionKey: 'LOKI_VERSION', portKey: 'LOKI_PORT', ports: [{ envKey: 'LOKI_PORT', container: 3100 }], readyPath: '/ready' },
  { name: 'tempo', kind: 'backend', versionKey: 'TEMPO_VERSION', portKey: 'TEMPO_PORT', ports: [{ envKey: 'TEMPO_PORT', container: 3200 }], readyPath: '/ready' },
  { name: 'mimir', kind: 'backend', versionKey: 'MIMIR_VERSION', portKey: 'MIMIR_PORT', ports: [{ envKey: 'MIMIR_PORT', container: 9009 }], readyPath: '/ready' },
  {
    name: 'pyroscope',
    kind: 'backend',
    versionKey: 'PYROSCOPE_VERSION',
    portKey: 'PYROSCOPE_PORT',
    ports: [{ envKey: 'PYROSCOPE_PORT', container: 4040 }],
    readyPath: '/ready',
  },
  {
    name: 'alloy',
    kind: 'collector',
    versionKey: 'ALLOY_VERSION',
    portKey: 'ALLOY_UI_PORT',
    ports: [
      { envKey: 'ALLOY_OTLP_GRPC_PORT', container: 4317 },
      { envKey: 'ALLOY_OTLP_HTTP_PORT', container: 4318 },
      { envKey: 'ALLOY_PROFILES_PORT', container: 9999 },
      { envKey: 'ALLOY_UI_PORT', container: 12345 },
    ],
    readyPath: '/-/ready',
  },
  {
    name: 'grafana',
    kind: 'ui',
    versionKey: 'GRAFANA_VERSION',
    portKey: 'GRAFANA_PORT',
    ports: [{ envKey: 'GRAFANA_PORT', container: 3000 }],
    readyPath: '/api/health',
  },
  { name: 'demo-app', kind: 'app', language: 'go', portKey: 'GO_APP_PORT', ports: [{ envKey: 'GO_APP_PORT', container: 8080 }], readyPath: '/healthz' },
  {
    name: 'java-demo-app',
    kind: 'app',
    language: 'java',
    portKey: 'JAVA_APP_PORT',
    ports: [{ envKey: 'JAVA_APP_PORT', container: 18081 }],
    readyPath: '/healthz',
  },
  {
    name: 'python-demo-app',
    kind: 'app',
    language: 'python',
    portKey: 'PYTHON_APP_PORT',
    ports: [{ envKey: 'PYTHON_APP_PORT', container: 18082 }],
    readyPath: '/healthz',
  },
  {
    name: 'node-demo-app',
    kind: 'app',
    language: 'node',
    portKey: 'NODE_APP_PORT',
    ports: [{ envKey: 'NODE_APP_PORT', container: 18083 }],
    readyPath: '/healthz',
  },
];

export function findService(name: string): ServiceFacts | undefined {
  return services.find((s) => s.name === name);
}

function service(name: string): ServiceFacts {
  const found = findService(name);
  if (!found) throw new Error(`no service ${name}`);
  return found;
}

/** The demo apps, in compose order. */
export const apps: readonly ServiceFacts[] = services.filter((s) => s.kind === 'app');

/** The /chain calls: node-demo-app -> demo-app (Go) -> java-demo-app -> python-demo-app. */
export const CHAIN: readonly string[] = ['node-demo-app', 'demo-app', 'java-demo-app', 'python-demo-app'];

/** The service a service's /chain calls, undefined at the end of the chain. */
export function nextInChain(name: string): string | undefined {
  const i = CHAIN.indexOf(name);
  return i >= 0 ? CHAIN[i + 1] : undefined;
}

/** A service's address on the compose network, e.g. http://alloy:4318 (the first port without a key). */
export function composeUrl(name: string, envKey?: string): string {
  const s = service(name);
  const port = envKey ? s.ports.find((p) => p.envKey === envKey) : s.ports[0];
  if (!port) throw new Error(`${name} publishes no port ${envKey}`);
  return `http://${name}:${port.container}`;
}

/** Where the apps send telemetry inside compose: Alloy's OTLP/HTTP receiver and its Pyroscope receiver. */
export const OTLP_ENDPOINT = composeUrl('alloy', 'ALLOY_OTLP_HTTP_PORT');
export const PROFILES_ENDPOINT = composeUrl('alloy', 'ALLOY_PROFILES_PORT');

/** The routes every demo app serves (faults name one of them). */
export const APP_ROUTES = ['/hello', '/slow', '/alloc', '/chain'] as const;

/** The provisioned Grafana datasources (fixed uids; `service` is the compose service they read). */
export const datasources = {
  mimir: { type: 'prometheus', uid: 'mimir', service: 'mimir', path: '/prometheus' },
  loki: { type: 'loki', uid: 'loki', service: 'loki', path: '' },
  tempo: { type: 'tempo', uid: 'tempo', service: 'tempo', path: '' },
  pyroscope: { type: 'grafana-pyroscope-datasource', uid: 'pyroscope', service: 'pyroscope', path: '' },
} as const;

/** The provisioned dashboards' uids (data links, `lgtmp up` and README point at them). */
export const dashboardUids = {
  overview: 'lgtmp-overview',
  service: 'lgtmp-service',
} as const;

/** The profile type Grafana's "Profiles for this span" asks Pyroscope for (tracesToProfiles.profileTypeId). */
export const SPAN_PROFILE_TYPE = 'process_cpu:cpu:nanoseconds:cpu:nanoseconds';

/** Metric names as Mimir stores them (OTLP names translated: dots to underscores, unit suffix added). */
export const metrics = {
  /** the apps' http.server.request.duration histogram (seconds; http_route, http_request_method, http_response_status_code) */
  httpDuration: 'http_server_request_duration_seconds',
  /** Tempo's span metrics */
  spanCalls: 'traces_spanmetrics_calls_total',
  spanLatencyBuckets: 'traces_spanmetrics_latency_bucket',
  /** Tempo's service graph */
  serviceGraphRequests: 'traces_service_graph_request_total',
  /** the apps' fault switches: 1 while a kind is on (label `fault`), see docs/fault-switches.md */
  faultActive: 'lgtmp_fault_active',
} as const;

/** The same metrics under their OpenTelemetry names, as the apps create them. */
export const otelMetrics = {
  httpDuration: 'http.server.request.duration',
  faultActive: 'lgtmp.fault.active',
} as const;

/** The kinds of fault switch every app serves at /admin/faults (docs/fault-switches.md). */
export const FAULT_KINDS = ['errors', 'latency', 'leak', 'cpu', 'dependency'] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

/**
 * The seed's queries for one service (`svc` may be a Grafana variable such as `$service`): its LogQL,
 * TraceQL and PromQL on the apps' own duration histogram.
 */
export const seedQueries = {
  logs: (svc: string) => `{job="${svc}"}`,
  errorLogs: (svc: string) => `{job="${svc}"} |= "error"`,
  slowLogs: (svc: string) => `{job="${svc}"} | json | route="/slow"`,
  traces: (svc: string) => `{ resource.service.name="${svc}" }`,
  requestRate: (svc: string) => `rate(${metrics.httpDuration}_count{job="${svc}"}[5m])`,
  p95ByRoute: (svc: string) => `histogram_quantile(0.95, sum by (le, http_route) (rate(${metrics.httpDuration}_bucket{job="${svc}"}[5m])))`,
  errorRatio: (svc: string) =>
    `sum(rate(${metrics.httpDuration}_count{job="${svc}",http_response_status_code=~"5.."}[5m])) / sum(rate(${metrics.httpDuration}_count{job="${svc}"}[5m]))`,
  cpuProfile: (svc: string) => ({ profileTypeId: SPAN_PROFILE_TYPE, labelSelector: `{service_name="${svc}"}` }),
} as const;

/**
 * "Logs for this span": the Tempo datasource's tracesToLogsV2.query as Grafana reads it (the provisioning file writes
 * each `$` as `$$`). It finds a span's lines whether the trace id is in the line (the demo apps) or only in Loki's
 * structured metadata `trace_id` (an OpenTelemetry logs bridge: the record's trace context, not its text). The regexp
 * stage gives a line the label `line_trace_id` only when the line holds the id; the label filter keeps a line whose
 * structured metadata or line has it. Lines are shown unchanged. Proven with Loki 3.7.6's own code: test/logs-link.test.ts.
 */
export const SPAN_LOGS_QUERY =
  '{job="${__span.tags.job}"} | regexp "(?P<line_trace_id>${__span.traceId})" | trace_id="${__span.traceId}" or line_trace_id="${__span.traceId}"';

/** The seed's "Logs for this span" query: a line filter, so it misses lines that carry the trace id only as metadata. */
export const SEED_SPAN_LOGS_QUERY = '{job="${__span.tags.job}"} |= "${__span.traceId}"';

/** The seed's own app, the one the walkthrough follows. */
export const SEED_SERVICE = 'demo-app';

/** The pinned image version of every stack component, read from .env. */
export function pinnedVersions(env: Record<string, string> = readEnv()): Record<string, string> {
  const versions: Record<string, string> = {};
  for (const s of services) {
    if (!s.versionKey) continue;
    const v = env[s.versionKey];
    if (!v) throw new Error(`.env has no value for ${s.versionKey}`);
    versions[s.name] = v;
  }
  return versions;
}
