// `lgtmp tour slow`: the seed's walkthrough "why is /slow slow?" on live data (log line ->
// trace -> dominating span -> that span's flame graph), then the fix (each app's runtime regex
// switch) and a before/after of the /slow p95 and of the CPU hot spot.
import { hostPort, services as composeServices } from '../project.js';
import { explainError, shellCheck } from './checks.js';
import { clampToNow, slowLogQuery, type VerifyContext } from './context.js';
import { requestJson, UnreachableError } from './http.js';
import { logMessage, matcherOf, traceIdOf, type LogEntry } from './loki.js';
import * as links from './links.js';
import { findDatasource, tempoDerivedField, tracesToProfiles } from './provisioning.js';
import { inclusiveShare, REGEX_WORK, topSelfFrames, type FlameGraph } from './pyroscope.js';
import { traceToProfilesQuery } from './substitute.js';
import { localRoots, rootSpan, spanTag, type Span, type Trace } from './tempo.js';

export interface TourStep {
  title: string;
  ok: boolean;
  lines: string[];
  link?: string;
}

const fmtS = (ms: number) => (ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${ms.toFixed(1)} ms`);
const pct = (x: number) => `${(x * 100).toFixed(x < 0.1 ? 1 : 0)}%`;
/** The verify command that tells why a step shows nothing, quoted for the shell. */
const verifyHint = (check: string) => `\`lgtmp verify --check ${shellCheck(check)}\``;
/** An error in one line: what was seen and its most likely cause, as verify reports them. */
function errText(err: unknown): string {
  const e = explainError(err);
  return `${e.evidence}; ${e.cause}`;
}

/** Self time of each span: its duration minus the union of its children's intervals (clipped to it). */
export function selfTimes(trace: Trace): Map<string, number> {
  const out = new Map<string, number>();
  for (const s of trace.spans) {
    const kids = trace.spans
      .filter((c) => c.parentSpanId === s.spanId)
      .map((c) => [c.startNs < s.startNs ? s.startNs : c.startNs, c.endNs > s.endNs ? s.endNs : c.endNs] as [bigint, bigint])
      .filter(([a, b]) => b > a)
      .sort((a, b) => (a[0] < b[0] ? -1 : 1));
    let covered = 0n;
    let curA = -1n;
    let curB = -1n;
    for (const [a, b] of kids) {
      if (a > curB) {
        if (curB > curA) covered += curB - curA;
        curA = a;
        curB = b;
      } else if (b > curB) curB = b;
    }
    if (curB > curA) covered += curB - curA;
    out.set(s.spanId, Number(s.endNs - s.startNs - covered) / 1e6);
  }
  return out;
}

/** The span that dominates a trace: the one with the largest self time. */
export function dominatingSpan(trace: Trace): { span: Span; selfMs: number } {
  const self = selfTimes(trace);
  let best = trace.spans[0]!;
  for (const s of trace.spans) if ((self.get(s.spanId) ?? 0) > (self.get(best.spanId) ?? 0)) best = s;
  return { span: best, selfMs: self.get(best.spanId) ?? 0 };
}

export interface Story {
  steps: TourStep[];
  ok: boolean;
}

/** Steps 1-4: the log line, its trace, the dominating span, that span's flame graph. */
export async function tellStory(ctx: VerifyContext, svc: string): Promise<Story> {
  const steps: TourStep[] = [];
  const done = (ok: boolean) => ({ steps, ok });

  // 1. the log line
  const query = slowLogQuery(svc);
  const step1: TourStep = { title: `The log line (Loki: ${query})`, ok: false, lines: [], link: links.lokiLink(ctx.grafana, ctx.uids.loki, query, ctx.window.startMs, ctx.window.endMs) };
  steps.push(step1);
  let entries: LogEntry[];
  try {
    entries = await ctx.loki.queryRange(query, ctx.window, 10);
  } catch (err) {
    step1.lines.push(errText(err));
    return done(false);
  }
  if (entries.length === 0) {
    step1.lines.push(`no /slow request logged in the window: is the app running with its traffic generator on? (${verifyHint('seed-logql')} tells why)`);
    return done(false);
  }

  // 2. its trace, through the derived field that links to Tempo (Grafana's button): the newest line whose trace Tempo has
  const loki = findDatasource(ctx.provisioning, ctx.uids.loki);
  const df = loki && tempoDerivedField(ctx.provisioning, loki);
  const step2: TourStep = { title: df ? `Its trace (derived field ${df.name ?? matcherOf(df)} -> Tempo)` : 'Its trace', ok: false, lines: [] };
  /** Step 1 shows this line; step 2 follows. */
  const showLine = (e: LogEntry) => {
    step1.ok = true;
    step1.lines.push(`${new Date(Number(BigInt(e.tsNs) / 1_000_000n)).toISOString()}  ${logMessage(e)}`);
    steps.push(step2);
  };
  if (!df) {
    showLine(entries[0]!);
    step2.lines.push(`no derived field of the Loki datasource links to a Tempo datasource (${verifyHint('logs->trace')} tells why)`);
    return done(false);
  }
  let trace: Trace | undefined;
  let line: LogEntry | undefined;
  try {
    for (const e of entries) {
      const id = traceIdOf(df, e);
      if (!id) continue;
      trace = await ctx.tempo.trace(id);
      if (trace) {
        line = e;
        break;
      }
    }
  } catch (err) {
    showLine(entries[0]!);
    step2.lines.push(errText(err));
    return done(false);
  }
  showLine(line ?? entries[0]!);
  if (!trace || !line) {
    step2.lines.push(`none of the ${entries.length} lines' trace ids is in Tempo (${verifyHint('logs->trace')} tells why)`);
    return done(false);
  }
  const roots = localRoots(trace, svc);
  const root = roots[0] ?? rootSpan(trace);
  const traceStart = trace.spans.reduce((a, s) => (s.startNs < a ? s.startNs : a), trace.spans[0]!.startNs);
  const traceEnd = trace.spans.reduce((a, s) => (s.endNs > a ? s.endNs : a), trace.spans[0]!.endNs);
  const traceMs = Number(traceEnd - traceStart) / 1e6;
  const fromMs = Number(traceStart / 1_000_000n) - 60_000;
  const toMs = Number(traceEnd / 1_000_000n) + 60_000;
  step2.ok = true;
  step2.lines.push(`${trace.traceId}: ${root.name} (${svc}), ${fmtS(traceMs)}, ${trace.spans.length} spans`);
  step2.link = links.traceLink(ctx.grafana, ctx.uids.tempo, trace.traceId, fromMs, toMs);

  // 3. the dominating span
  const dom = dominatingSpan(trace);
  steps.push({
    title: 'The span that dominates it',
    ok: true,
    lines: [`${dom.span.name}: ${fmtS(dom.span.durationMs)} of the trace's ${fmtS(traceMs)} (${pct(dom.span.durationMs / traceMs)}), ${fmtS(dom.selfMs)} of it in the span itself`],
    link: links.traceLink(ctx.grafana, ctx.uids.tempo, trace.traceId, fromMs, toMs, dom.span.spanId),
  });

  // 4. that span's flame graph: the profile of the local root that contains it
  const tempoDs = findDatasource(ctx.provisioning, ctx.uids.tempo);
  const tp = tempoDs ? tracesToProfiles(tempoDs) : undefined;
  const step4: TourStep = { title: 'Its flame graph (Profiles for this span)', ok: false, lines: [] };
  steps.push(step4);
  const profiled = roots.find((s) => spanTag(s, 'pyroscope.profile.id') !== undefined);
  if (!tp?.profileTypeId) {
    step4.lines.push(`tracesToProfiles.profileTypeId is not provisioned (${verifyHint('trace->profile')})`);
    return done(false);
  }
  if (!profiled) {
    step4.lines.push(`no span of ${svc} in this trace carries pyroscope.profile.id (${verifyHint('trace->profile')})`);
    return done(false);
  }
  const pq = traceToProfilesQuery(profiled, tp);
  step4.title = `Its flame graph (Profiles for this span: ${pq.profileTypeId}, span ${pq.spanSelector[0]})`;
  step4.link = links.profileLink(ctx.grafana, tp.datasourceUid ?? ctx.uids.pyroscope, pq, pq.range.fromMs, pq.range.toMs);
  try {
    const r = clampToNow(ctx, pq.range.fromMs, pq.range.toMs);
    const fg = await ctx.pyro.flameGraph({ profileTypeId: pq.profileTypeId, labelSelector: pq.labelSelector, spanSelector: pq.spanSelector, startMs: r.startMs, endMs: r.endMs, maxNodes: 64 });
    if (fg.total <= 0) {
      step4.lines.push(`empty flame graph (${verifyHint('trace->profile')} tells why)`);
      return done(false);
    }
    for (const t of topSelfFrames(fg, 5)) step4.lines.push(`${pct(t.share).padStart(5)}  ${t.frame}`);
    step4.lines.push(`regex work (checkEmail and the regex engine under it): ${pct(inclusiveShare(fg, REGEX_WORK))} of the span's CPU`);
    step4.ok = true;
  } catch (err) {
    step4.lines.push(errText(err));
    return done(false);
  }
  return done(true);
}

// ---------------------------------------------------------------------------------------------
// The fix

/** Each demo app's base URL: an override, else its host port from .env. */
export function appUrls(env: Record<string, string>, overrides: Record<string, string> = {}): Record<string, string> {
  return Object.fromEntries(
    composeServices.filter((s) => s.kind === 'app').map((s) => [s.name, overrides[s.name] ?? `http://127.0.0.1:${hostPort(env, s.portKey)}`]),
  );
}

export interface ModeResult {
  service: string;
  url: string;
  ok: boolean;
  mode?: string;
  error?: string;
}

/** POST <app>/admin/regex?mode=<mode> on each app; the apps answer {"mode": ...}. */
export async function setRegexMode(apps: Record<string, string>, mode: 'fixed' | 'bad'): Promise<ModeResult[]> {
  return Promise.all(
    Object.entries(apps).map(async ([service, url]) => {
      try {
        const res = await requestJson<{ mode?: string }>({ name: service, flag: '--app-url' }, url, '/admin/regex', { method: 'POST', params: { mode }, timeoutMs: 5000 });
        return { service, url, ok: res.mode === mode, mode: res.mode, error: res.mode === mode ? undefined : `answered mode ${String(res.mode)}` };
      } catch (err) {
        // the report line shows the service and its URL already
        return { service, url, ok: false, error: err instanceof UnreachableError ? `not reachable (${err.detail})` : errText(err) };
      }
    }),
  );
}

// ---------------------------------------------------------------------------------------------
// Before / after

export interface Snapshot {
  service: string;
  /** /slow p95 in seconds over the window, undefined when there is no data. */
  p95?: number;
  p95Error?: string;
  regexShare?: number;
  topFrame?: string;
  profileError?: string;
}

export const slowP95Query = (svc: string, windowSec: number) =>
  `histogram_quantile(0.95, sum by (le) (rate(http_server_request_duration_seconds_bucket{job="${svc}", http_route="/slow"}[${windowSec}s])))`;

/** /slow p95 and the CPU hot spot of each service over [endMs - windowMs, endMs] (PromQL evaluated at the server's now). */
export async function snapshot(ctx: VerifyContext, services: string[], windowMs: number, endMs: number): Promise<Snapshot[]> {
  const tempoDs = findDatasource(ctx.provisioning, ctx.uids.tempo);
  const cpuType = (tempoDs && tracesToProfiles(tempoDs)?.profileTypeId) || 'process_cpu:cpu:nanoseconds:cpu:nanoseconds';
  const out: Snapshot[] = [];
  for (const svc of services) {
    const s: Snapshot = { service: svc };
    try {
      const r = await ctx.prom.query(slowP95Query(svc, Math.round(windowMs / 1000)));
      const v = r[0]?.value;
      if (v !== undefined && !Number.isNaN(v)) s.p95 = v;
      else s.p95Error = 'no /slow requests in the window';
    } catch (err) {
      s.p95Error = errText(err);
    }
    try {
      const fg: FlameGraph = await ctx.pyro.flameGraph({ profileTypeId: cpuType, labelSelector: `{service_name="${svc}"}`, startMs: endMs - windowMs, endMs, maxNodes: 256 });
      if (fg.total > 0) {
        s.regexShare = inclusiveShare(fg, REGEX_WORK);
        s.topFrame = topSelfFrames(fg, 1)[0]?.frame;
      } else s.profileError = 'no CPU samples in the window';
    } catch (err) {
      s.profileError = errText(err);
    }
    out.push(s);
  }
  return out;
}

export function compareLines(before: Snapshot[], after: Snapshot[]): string[] {
  return before.map((b) => {
    const a = after.find((x) => x.service === b.service) ?? { service: b.service };
    const p95 = (s: Snapshot) => (s.p95 !== undefined ? `${s.p95.toFixed(3)} s` : `n/a (${s.p95Error})`);
    const cpu = (s: Snapshot) => (s.regexShare !== undefined ? `${pct(s.regexShare)}${s.topFrame ? ` (top: ${s.topFrame})` : ''}` : `n/a (${s.profileError})`);
    return `${b.service}: /slow p95 ${p95(b)} -> ${p95(a)}; CPU in regex work ${cpu(b)} -> ${cpu(a)}`;
  });
}
