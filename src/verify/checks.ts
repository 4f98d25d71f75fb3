// The checks of `lgtmp verify`: every correlation of the seed's click path, proved on live data
// with the provisioned settings, each returning what it saw (evidence), why it failed (cause)
// and the Grafana page a person would open (link). This module holds the list, the stack-wide
// provisioning lint and the runner; the checks themselves are in check-logs.ts, check-metrics.ts
// and check-profiles.ts, for a service of your own in byo/.
import { existsSync, readFileSync } from 'node:fs';

import { findSlowSpan, type VerifyContext } from './context.js';
import { serverSpanOf as byoLinkSpan } from './byo/checks.js';
import { Fail, NotSetUp } from './fail.js';
import type { CheckResult, Status } from './result.js';
import { HttpError, UnreachableError } from './http.js';
import { lintProvisioning } from './lint.js';
import * as links from './links.js';
import { findDatasource, traceQueryOf } from './provisioning.js';
import type { LinkSpan } from './substitute.js';
import { code, EDGES, SERVICES, short, type CheckDef, type CheckFn, type Out } from './check-common.js';
import { logsToTrace, seedLogql, traceToLogs } from './check-logs.js';
import { exemplars, exemplarToTrace, seedPromql, serviceGraph, traceToMetrics } from './check-metrics.js';
import { seedProfiles, traceToProfiles } from './check-profiles.js';

export { EDGES, SERVICES, STACK, ds, type CheckDef, type CheckFn, type Out } from './check-common.js';
export { metricExportIntervalMs, SDK_WITHOUT_EXEMPLARS, serviceMapQuery, whyNoRate } from './check-metrics.js';
export { profileSettings, seedProfileTypes, traceProfile } from './check-profiles.js';
export type { CheckResult, Status } from './result.js';
export { Fail };

// ---------------------------------------------------------------------------------------------
// 0. the provisioning itself

const provisioningLint: CheckFn = async (ctx) => {
  const file = ctx.provisioningFile;
  const raw = existsSync(file) ? { file, text: readFileSync(file, 'utf8') } : undefined;
  const spans: Array<{ service: string; span: LinkSpan }> = [];
  const unsampled: string[] = [];
  for (const svc of ctx.services) {
    // a demo app's /slow span; for a service of your own, the span its trace->logs check opens
    const span = SERVICES.includes(svc) ? (await findSlowSpan(ctx, svc).catch(() => undefined))?.pick?.span : await byoLinkSpan(ctx, svc).catch(() => undefined);
    if (span) spans.push({ service: svc, span });
    else unsampled.push(svc);
  }
  let sent: string[] | undefined;
  let unreachable: UnreachableError | undefined;
  try {
    sent = (await ctx.pyro.profileTypes(ctx.window.startMs, ctx.window.endMs)).map((t) => t.id);
  } catch (err) {
    if (!(err instanceof UnreachableError)) throw err;
    unreachable = err;
  }
  const pyroscopeDown = unreachable?.message;
  const findings = lintProvisioning({ provisioning: ctx.provisioning, raw, sentProfileTypes: sent, spans });
  const notChecked = [
    ...(raw ? [] : [`single "$": ${file} not readable`]),
    ...(pyroscopeDown ? [`tracesToProfiles.profileTypeId: ${pyroscopeDown}`] : []),
    ...(unsampled.length > 0 ? [`span tags of ${unsampled.join(', ')}: no span could be read (see trace->logs)`] : []),
  ];
  if (findings.length > 0) {
    throw new Fail(
      `${findings.length} setting(s) Grafana accepts but that break a link: ${findings.map((f) => f.key).join(', ')}${notChecked.length ? `; not checked: ${notChecked.join('; ')}` : ''}`,
      findings.map((f) => f.message).join(' | '),
    );
  }
  // the profile types the apps send are unknown: no verdict on the whole
  if (unreachable) throw unreachable;
  const tempo = findDatasource(ctx.provisioning, ctx.uids.tempo);
  const tq = tempo && traceQueryOf(tempo);
  return [
    `${ctx.provisioning.source}: trace by id over ${tq?.timeShiftEnabled ? `[from - ${tq.spanStartTimeShift || '30m'}, to + ${tq.spanEndTimeShift || '30m'}]` : 'no bounds (traceQuery.timeShiftEnabled off)'}`,
    'every datasourceUid provisioned',
    `tracesToProfiles.profileTypeId among the ${sent!.length} types the apps send`,
    spans.length > 0 ? `logs query's span tags on spans of ${spans.map((x) => x.service).join(', ')}` : undefined,
    raw ? 'no single "$" before a Grafana variable' : undefined,
    ...(notChecked.length ? [`not checked: ${notChecked.join('; ')}`] : []),
  ]
    .filter(Boolean)
    .join('; ');
};

// 1. traces exist

const traces: CheckFn = async (ctx, svc, out) => {
  const query = `{ resource.service.name="${svc}" }`;
  out.link = links.traceqlLink(ctx.grafana, ctx.uids.tempo, query, ctx.window.startMs, ctx.window.endMs);
  const hits = await ctx.tempo.search(query, ctx.window.startMs, ctx.window.endMs, 20);
  if (hits.length === 0) {
    throw new Fail(
      `TraceQL ${code(query)}: no traces in the window`,
      `no traces of ${svc}: is the app running and exporting OTLP to Alloy (OTEL_EXPORTER_OTLP_ENDPOINT), and Alloy forwarding traces to Tempo? (search lags ~10 s behind ingest)`,
    );
  }
  const newest = [...hits].sort((a, b) => b.startMs - a.startMs)[0]!;
  return `TraceQL ${code(query)}: ${hits.length}${hits.length >= 20 ? '+' : ''} traces, newest ${newest.traceId} (${newest.rootServiceName}: ${newest.rootTraceName})`;
};

// ---------------------------------------------------------------------------------------------

export const CHECKS: CheckDef[] = [
  { name: 'provisioning', scope: 'stack', run: provisioningLint },
  { name: 'traces', run: traces },
  { name: 'logs->trace', run: logsToTrace },
  { name: 'trace->logs', run: traceToLogs },
  { name: 'trace->metrics', run: traceToMetrics },
  { name: 'trace->profile', run: traceToProfiles },
  { name: 'exemplars', run: exemplars },
  { name: 'exemplar->trace', run: exemplarToTrace },
  { name: 'service-graph', appliesTo: (svc) => svc in EDGES, run: serviceGraph },
  { name: 'seed-logql', run: seedLogql },
  { name: 'seed-promql', run: seedPromql },
  { name: 'seed-profiles', run: seedProfiles },
];

/** A check name as it must be typed in a shell: names with ">" need quotes, or the shell redirects. */
export const shellCheck = (name: string) => (/^[\w-]+$/.test(name) ? name : `'${name}'`);

/** What an error means for a check: its status, what was seen, and the most likely cause. */
export function explainError(err: unknown): { status: Status; evidence: string; cause: string } {
  if (err instanceof NotSetUp) return { status: 'not set up', evidence: err.evidence, cause: err.why };
  if (err instanceof Fail) return { status: 'fail', evidence: err.evidence, cause: err.why };
  if (err instanceof UnreachableError) {
    const viaGrafana = /\/api\/(datasources|ds)\//.test(err.url);
    return {
      status: 'unreachable',
      evidence: err.message,
      cause: viaGrafana
        ? `Grafana could not reach the backend (${err.detail}): is the stack up (lgtmp up) and healthy (lgtmp status)?`
        : /HTTP 503/.test(err.detail)
          ? `${err.backend} is not ready yet (Pyroscope needs about a minute after start): retry with --wait`
          : `${err.backend} does not answer (${err.detail}): is the stack up (lgtmp up)? For another address use ${err.flag}`,
    };
  }
  if (err instanceof HttpError) {
    return {
      status: 'fail',
      evidence: short(err.message, 300),
      cause:
        err.status === 404 && /\/api\/datasources\//.test(err.url)
          ? 'Grafana has no such datasource uid: provisioning not loaded'
          : err.status === 404
            ? `${err.backend} has no such API path: wrong base URL?${err.backend === 'Mimir' ? ' (Mimir serves the Prometheus API under /prometheus)' : ''}`
            : err.status === 400
              ? `${err.backend} rejected the query: ${short(err.body.trim(), 160)}`
              : `${err.backend} answered HTTP ${err.status}`,
    };
  }
  return { status: 'fail', evidence: err instanceof Error ? err.message : String(err), cause: 'unexpected error' };
}

export async function runCheck(ctx: VerifyContext, def: CheckDef, svc: string): Promise<CheckResult> {
  const out: Out = { link: '' };
  try {
    const evidence = await def.run(ctx, svc, out);
    return { check: def.name, service: svc, status: 'pass', evidence, link: out.link };
  } catch (err) {
    return { check: def.name, service: svc, ...explainError(err), link: out.link };
  }
}
