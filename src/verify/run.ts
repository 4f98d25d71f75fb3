// Assemble a verify run: endpoints, provisioning, clients, context; run the checks with retries.

import { SERVICES, type CheckResult } from './checks.js';
import { runChecks, selectedChecks } from './select.js';
import { datasources } from '../facts.js';
import { envFile, readEnv } from '../project.js';
import { grafanaBase, resolveEndpoints, type DatasourceUids, type EndpointFlags, type Endpoints } from './config.js';
import { freshWindow, type VerifyContext } from './context.js';
import { UnreachableError } from './http.js';
import { LokiClient } from './loki.js';
import { PrometheusClient } from './prometheus.js';
import { defaultProvisioningFile, readProvisioningFile, readProvisioningFromGrafana, tracesToLogs, tracesToMetrics, tracesToProfiles, findDatasource, type Provisioning } from './provisioning.js';
import { DirectPyroscopeClient, GrafanaPyroscopeClient } from './pyroscope.js';
import { TempoClient } from './tempo.js';

export interface VerifyOptions extends EndpointFlags {
  services?: string[];
  checks?: string[];
  /** The generic checks (a service of your own gets them) for the demo apps too. */
  generic?: boolean;
  /** Window length in ms (default 30 min). */
  sinceMs?: number;
  /** "Now" in ms (default Date.now()); for replaying recordings. */
  nowMs?: number;
  /** Provisioning file; default: Grafana's API, or the repo's file with --direct. */
  provisioningFile?: string;
  /** .env with the host ports; default: the project's (LGTMP_ENV_FILE or the repository's). */
  envFile?: string;
  /** Keep retrying until everything passes or this much time has gone. */
  waitMs?: number;
  onRetry?: (pending: CheckResult[], leftMs: number) => void;
}

export const DEFAULT_UIDS: DatasourceUids = { loki: datasources.loki.uid, tempo: datasources.tempo.uid, prometheus: datasources.mimir.uid, pyroscope: datasources.pyroscope.uid };

export { defaultProvisioningFile };

/** The datasource uids the checks use: the Tempo datasource and what its correlations point at. */
export function uidsFrom(p: Provisioning, base: DatasourceUids = DEFAULT_UIDS): DatasourceUids {
  const tempo = findDatasource(p, base.tempo);
  if (!tempo) return base;
  return {
    tempo: base.tempo,
    loki: tracesToLogs(tempo)?.datasourceUid ?? base.loki,
    prometheus: tracesToMetrics(tempo)?.datasourceUid ?? base.prometheus,
    pyroscope: tracesToProfiles(tempo)?.datasourceUid ?? base.pyroscope,
  };
}

export async function loadProvisioning(o: VerifyOptions, grafana: string): Promise<Provisioning> {
  if (o.provisioningFile) return readProvisioningFile(o.provisioningFile);
  if (o.direct) return readProvisioningFile(defaultProvisioningFile());
  return readProvisioningFromGrafana(grafana, Object.values(DEFAULT_UIDS));
}

export interface Setup {
  ctx: VerifyContext;
  endpoints: Endpoints;
}

/** `env`: the .env contents, for a caller that has read them already. */
export async function createContext(o: VerifyOptions, env = readEnv(o.envFile ?? envFile)): Promise<Setup> {
  const provisioning = await loadProvisioning(o, grafanaBase(o, env));
  const uids = uidsFrom(provisioning);
  const endpoints = resolveEndpoints(o, env, uids);
  const nowMs = o.nowMs ?? Date.now();
  const sinceMs = o.sinceMs ?? 30 * 60_000;
  const ctx: VerifyContext = {
    grafana: endpoints.grafana,
    nowMs,
    window: { startMs: nowMs - sinceMs, endMs: nowMs },
    loki: new LokiClient(endpoints.loki),
    tempo: new TempoClient(endpoints.tempo),
    // --prometheus-url with --direct points at a plain Prometheus (as in the tests), not at Mimir
    prom: new PrometheusClient(endpoints.prometheus, { name: o.direct && o.prometheusUrl ? 'Prometheus' : 'Mimir', flag: '--prometheus-url' }),
    pyro: endpoints.mode === 'direct' || o.pyroscopeUrl ? new DirectPyroscopeClient(endpoints.pyroscope) : new GrafanaPyroscopeClient(endpoints.grafana, uids.pyroscope),
    provisioning,
    provisioningFile: o.provisioningFile ?? defaultProvisioningFile(),
    services: o.services && o.services.length > 0 ? o.services : [...SERVICES],
    uids,
    memo: new Map(),
  };
  return { ctx, endpoints };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Run the checks; with waitMs, re-run those not passing (fresh data, fresh lookups) until all pass or time is up. */
export async function verify(o: VerifyOptions, setup?: Setup): Promise<CheckResult[]> {
  const deadline = Date.now() + (o.waitMs ?? 0);
  const services = o.services && o.services.length > 0 ? o.services : [...SERVICES];
  // Through Grafana the settings come from Grafana: while it does not answer, nothing can be checked.
  while (!setup) {
    try {
      setup = await createContext(o);
    } catch (err) {
      if (!(err instanceof UnreachableError)) throw err;
      const pending = selectedChecks({ services, checks: o.checks, generic: o.generic }).map(({ def, service }) => ({
        check: def.name,
        service,
        status: 'unreachable' as const,
        evidence: err.message,
        cause: 'Grafana does not answer, so neither do the datasources behind it: is the stack up (lgtmp up)? --direct skips Grafana',
        link: '',
      }));
      const left = deadline - Date.now();
      if (left <= 0) return pending;
      o.onRetry?.(pending, left);
      await sleep(Math.min(5000, left));
    }
  }
  let { ctx } = setup;
  let results = await runChecks(ctx, { services, checks: o.checks, generic: o.generic });
  for (;;) {
    const pending = results.filter((r) => r.status === 'fail' || r.status === 'unreachable');
    const left = deadline - Date.now();
    if (pending.length === 0 || left <= 0) return results;
    o.onRetry?.(pending, left);
    await sleep(Math.min(5000, left));
    ctx = freshWindow(ctx, o.nowMs);
    for (const p of pending) {
      const again = await runChecks(ctx, { services: [p.service], checks: [p.check], generic: o.generic });
      results = results.map((r) => (r.check === p.check && r.service === p.service ? (again[0] ?? r) : r));
    }
  }
}

export { CHECK_NAMES } from './select.js';
