// The steps the tours are made of. Each step runs its queries, says what they returned (numbers,
// lines, span and frame names: nothing canned) and links the Grafana page that shows the same.
// Steps share what earlier ones found (a log line, its trace, a span) through the Walk.
import { explainError, shellCheck } from './checks.js';
import { clampToNow, type VerifyContext } from './context.js';
import { logMessage, matcherOf, traceIdOf, type LogEntry } from './loki.js';
import * as links from './links.js';
import { findDatasource, tempoDerivedField, tracesToProfiles } from './provisioning.js';
import { inclusiveShare, parseProfileTypeId, serviceSelector, topSelfFrames, type FlameGraph } from './pyroscope.js';
import { traceToProfilesQuery } from './substitute.js';
import { localRoots, rootSpan, spanTag, type Span, type Trace } from './tempo.js';

export interface TourStep {
  title: string;
  ok: boolean;
  lines: string[];
  link?: string;
}

/** The tour's clock: what "now" is for the queries' windows, and how it waits. */
export interface TourClock {
  now(): number;
  sleep(ms: number): Promise<void>;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export const liveClock: TourClock = { now: () => Date.now(), sleep };

/**
 * For data recorded at `nowMs`: time stands still while queries run (their windows stay inside
 * the recording) and moves on by what the tour waits, as it would on a live stack.
 */
export function replayClock(nowMs: number): TourClock {
  let now = nowMs;
  return {
    now: () => now,
    sleep: async (ms) => {
      await sleep(ms);
      now += ms;
    },
  };
}

/** What a step may wait for, and how the wait shows itself: `what` with the time left. */
export type OnWait = (what: string, leftMs: number) => void;

export interface Walk {
  ctx: VerifyContext;
  svc: string;
  /** The route the fault is on (the slow tour: /slow). */
  route: string;
  /** When the fault went on: the window "since the switch" starts here. */
  sinceMs: number;
  clock: TourClock;
  onWait: OnWait;
  /** Waiting for evidence ends here (absolute, on the tour's clock). */
  deadlineMs: number;
  /** How long after a request its span's profile is queryable: the app's upload interval plus ingest. */
  profileDelayMs: number;
  // what earlier steps found
  entry?: LogEntry;
  trace?: Trace;
  span?: Span;
}

export type StepFn = (w: Walk) => Promise<TourStep>;

export const fmtS = (ms: number) => (ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${ms.toFixed(1)} ms`);
export const pct = (x: number) => `${(x * 100).toFixed(x < 0.1 ? 1 : 0)}%`;
export const mib = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(0)} MiB`;
/** The verify command that tells why a step shows nothing, quoted for the shell. */
export const verifyHint = (check: string) => `\`lgtmp verify --check ${shellCheck(check)}\``;
/** An error in one line: what was seen and its most likely cause, as verify reports them. */
export function errText(err: unknown): string {
  const e = explainError(err);
  return `${e.evidence}; ${e.cause}`;
}

/** Waits until `atMs` on the tour's clock, telling `onWait` the time left every few seconds. */
export async function countdown(w: Pick<Walk, 'clock' | 'onWait'>, what: string, atMs: number): Promise<void> {
  for (let left = atMs - w.clock.now(); left > 0; left = atMs - w.clock.now()) {
    w.onWait(what, left);
    await w.clock.sleep(Math.min(left, 5000));
  }
}

/** Tries `probe` until it gives a value or the walk's deadline passes, showing the countdown in between. */
export async function until<T>(w: Walk, what: string, probe: () => Promise<T | undefined>): Promise<T | undefined> {
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    const left = w.deadlineMs - w.clock.now();
    if (left <= 0) return undefined;
    w.onWait(what, left);
    await w.clock.sleep(Math.min(left, 5000));
  }
}

const msOfNs = (ns: bigint | string) => Number(BigInt(ns) / 1_000_000n);
const traceRange = (t: Trace) => {
  const start = t.spans.reduce((a, s) => (s.startNs < a ? s.startNs : a), t.spans[0]!.startNs);
  const end = t.spans.reduce((a, s) => (s.endNs > a ? s.endNs : a), t.spans[0]!.endNs);
  return { start, end, ms: Number(end - start) / 1e6, fromMs: msOfNs(start) - 60_000, toMs: msOfNs(end) + 60_000 };
};

// ---------------------------------------------------------------------------------------------
// Loki

/** Log lines of `query` since the switch (newest first): the count and the newest, whose trace the next step opens. */
export function logLines(query: (svc: string) => string, what: string): StepFn {
  return async (w) => {
    const q = query(w.svc);
    const range = { startMs: w.sinceMs, endMs: w.clock.now() };
    const step: TourStep = { title: `${what} (Loki: ${q})`, ok: false, lines: [], link: links.lokiLink(w.ctx.grafana, w.ctx.uids.loki, q, range.startMs, range.endMs) };
    try {
      const entries = await w.ctx.loki.queryRange(q, range, 10);
      if (entries.length === 0) {
        step.lines.push(`no such line since the switch (${new Date(w.sinceMs).toISOString()}); ${verifyHint('seed-logql')} tells why`);
        return step;
      }
      w.entry = entries[0]!;
      step.lines.push(`${entries.length === 10 ? 'the newest 10' : entries.length} lines since the switch; the newest:`);
      step.lines.push(`${new Date(msOfNs(w.entry.tsNs)).toISOString()}  ${logMessage(w.entry)}`);
      step.ok = true;
    } catch (err) {
      step.lines.push(errText(err));
    }
    return step;
  };
}

/** The trace of the log line found before, through the Loki datasource's derived field (Grafana's button). */
export const traceOfLine: StepFn = async (w) => {
  const loki = findDatasource(w.ctx.provisioning, w.ctx.uids.loki);
  const df = loki && tempoDerivedField(w.ctx.provisioning, loki);
  const step: TourStep = { title: df ? `Its trace (derived field ${df.name ?? matcherOf(df)} -> Tempo)` : 'Its trace', ok: false, lines: [] };
  if (!df || !w.entry) {
    step.lines.push(`no derived field of the Loki datasource links to a Tempo datasource (${verifyHint('logs->trace')} tells why)`);
    return step;
  }
  const id = traceIdOf(df, w.entry);
  try {
    w.trace = id ? await w.ctx.tempo.trace(id) : undefined;
  } catch (err) {
    step.lines.push(errText(err));
    return step;
  }
  if (!w.trace) {
    step.lines.push(`trace ${id ?? '(no trace id on the line)'} is not in Tempo (${verifyHint('logs->trace')} tells why)`);
    return step;
  }
  return describeTrace(w, w.trace, step);
};

function describeTrace(w: Walk, trace: Trace, step: TourStep): TourStep {
  const root = localRoots(trace, w.svc)[0] ?? rootSpan(trace);
  const r = traceRange(trace);
  step.ok = true;
  step.lines.push(`${trace.traceId}: ${root.name} (${w.svc}), ${fmtS(r.ms)}, ${trace.spans.length} spans`);
  step.link = links.traceLink(w.ctx.grafana, w.ctx.uids.tempo, trace.traceId, r.fromMs, r.toMs);
  return step;
}

// ---------------------------------------------------------------------------------------------
// Tempo

/** TraceQL since the switch: how many traces match, and the newest one, opened. */
export function traceSearch(query: (svc: string, route: string) => string, what: string): StepFn {
  return async (w) => {
    const q = query(w.svc, w.route);
    const range = { startMs: w.sinceMs, endMs: w.clock.now() };
    const step: TourStep = { title: `${what} (Tempo: ${q})`, ok: false, lines: [], link: links.traceqlLink(w.ctx.grafana, w.ctx.uids.tempo, q, range.startMs, range.endMs) };
    try {
      const hits = (await w.ctx.tempo.search(q, range.startMs, range.endMs, 20)).sort((a, b) => b.startMs - a.startMs);
      if (hits.length === 0) {
        step.lines.push(`no trace matches since the switch (${verifyHint('traces')} tells whether Tempo has the service's traces at all)`);
        return step;
      }
      step.lines.push(`${hits.length}${hits.length === 20 ? '+' : ''} traces since the switch`);
      for (const h of hits) {
        const trace = await w.ctx.tempo.trace(h.traceId);
        if (!trace) continue;
        w.trace = trace;
        const matched = h.spanIds.map((id) => trace.spans.find((s) => s.spanId === id)).filter((s): s is Span => s !== undefined);
        w.span = matched[0];
        const r = traceRange(trace);
        step.lines.push(`the newest: ${trace.traceId}, ${rootSpan(trace).name} (${rootSpan(trace).serviceName}), ${fmtS(r.ms)}, ${trace.spans.length} spans`);
        step.link = links.traceLink(w.ctx.grafana, w.ctx.uids.tempo, trace.traceId, r.fromMs, r.toMs, w.span?.spanId);
        step.ok = true;
        return step;
      }
      step.lines.push(`none of the ${hits.length} traces could be fetched by id`);
    } catch (err) {
      step.lines.push(errText(err));
    }
    return step;
  };
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

/** The span of the trace found before that holds most of its time in itself. */
export const dominatingSpanStep: StepFn = async (w) => {
  const trace = w.trace!;
  const r = traceRange(trace);
  const dom = dominatingSpan(trace);
  return {
    title: 'The span that dominates it',
    ok: true,
    lines: [`${dom.span.name}: ${fmtS(dom.span.durationMs)} of the trace's ${fmtS(r.ms)} (${pct(dom.span.durationMs / r.ms)}), ${fmtS(dom.selfMs)} of it in the span itself`],
    link: links.traceLink(w.ctx.grafana, w.ctx.uids.tempo, trace.traceId, r.fromMs, r.toMs, dom.span.spanId),
  };
};

/** The spans of the trace found before whose status is ERROR: where the failure was raised and how it travelled. */
export const errorSpans: StepFn = async (w) => {
  const trace = w.trace!;
  const r = traceRange(trace);
  const failed = trace.spans.filter((s) => /ERROR/.test(s.statusCode));
  const step: TourStep = { title: 'The spans that failed (status = error)', ok: failed.length > 0, lines: [] };
  if (failed.length === 0) step.lines.push(`none of the trace's ${trace.spans.length} spans has status ERROR: the app must set it on a 5xx`);
  const code = (s: Span) => spanTag(s, 'http.response.status_code') ?? spanTag(s, 'http.status_code');
  for (const s of failed.sort((a, b) => (a.startNs < b.startNs ? -1 : 1))) {
    step.lines.push(`${s.serviceName}: ${s.name} [${s.kind.replace('SPAN_KIND_', '').toLowerCase() || 'span'}]${code(s) !== undefined ? ` status code ${String(code(s))}` : ''}, ${fmtS(s.durationMs)}`);
  }
  const first = failed[0];
  step.link = links.traceLink(w.ctx.grafana, w.ctx.uids.tempo, trace.traceId, r.fromMs, r.toMs, first?.spanId);
  return step;
};

// ---------------------------------------------------------------------------------------------
// Pyroscope

/**
 * "Profiles for this span" of the trace found before: the flame graph of the local root of the
 * service that carries pyroscope.profile.id. A request's profile is queryable only once the app
 * uploaded it (every 10-15 s) and Pyroscope ingested it, so a span younger than that is waited
 * for, with a countdown, and an empty answer is asked again until the deadline (issue: the tour
 * once showed an empty flame graph for a span a few seconds old).
 */
export function spanFlameGraph(work: { re: RegExp; name: string }): StepFn {
  return async (w) => {
    const trace = w.trace!;
    const tempoDs = findDatasource(w.ctx.provisioning, w.ctx.uids.tempo);
    const tp = tempoDs ? tracesToProfiles(tempoDs) : undefined;
    const step: TourStep = { title: 'Its flame graph (Profiles for this span)', ok: false, lines: [] };
    const profiled = localRoots(trace, w.svc).find((s) => spanTag(s, 'pyroscope.profile.id') !== undefined);
    if (!tp?.profileTypeId) {
      step.lines.push(`tracesToProfiles.profileTypeId is not provisioned (${verifyHint('trace->profile')})`);
      return step;
    }
    if (!profiled) {
      step.lines.push(`no span of ${w.svc} in this trace carries pyroscope.profile.id (${verifyHint('trace->profile')})`);
      return step;
    }
    const pq = traceToProfilesQuery(profiled, tp);
    step.title = `Its flame graph (Profiles for this span: ${pq.profileTypeId}, span ${pq.spanSelector[0]})`;
    step.link = links.profileLink(w.ctx.grafana, tp.datasourceUid ?? w.ctx.uids.pyroscope, pq, pq.range.fromMs, pq.range.toMs);
    const uploadedAt = msOfNs(profiled.endNs) + w.profileDelayMs;
    await countdown(w, `the profile of span ${pq.spanSelector[0]} to be uploaded and ingested`, uploadedAt);
    let asked = 0;
    try {
      const fg = await until(w, `the profile of span ${pq.spanSelector[0]} in Pyroscope`, async () => {
        asked++;
        const r = clampToNow({ ...w.ctx, nowMs: w.clock.now() }, pq.range.fromMs, pq.range.toMs);
        const g = await w.ctx.pyro.flameGraph({ profileTypeId: pq.profileTypeId, labelSelector: pq.labelSelector, spanSelector: pq.spanSelector, startMs: r.startMs, endMs: r.endMs, maxNodes: 64 });
        return g.total > 0 ? g : undefined;
      });
      if (!fg) {
        step.lines.push(`empty flame graph, asked ${asked} times until the deadline (${verifyHint('trace->profile')} tells why)`);
        return step;
      }
      if (asked > 1) step.lines.push(`(arrived after ${asked} asks)`);
      for (const t of topSelfFrames(fg, 5)) step.lines.push(`${pct(t.share).padStart(5)}  ${t.frame}`);
      step.lines.push(`${work.name}: ${pct(inclusiveShare(fg, work.re))} of the span's CPU`);
      step.ok = true;
    } catch (err) {
      step.lines.push(errText(err));
    }
    return step;
  };
}

/**
 * The service's flame graph of the first of `kinds` it really sends: two apps can file the same
 * kind under different ids (Go's heap `memory:inuse_space:bytes:space:bytes`, Node's
 * `…:inuse_space:bytes`), so the id is chosen among the service's own series.
 */
export async function serviceFlameGraph(
  ctx: VerifyContext,
  svc: string,
  kinds: Array<{ name: string; sampleType: string }>,
  range: { startMs: number; endMs: number },
): Promise<{ profileTypeId: string; fg: FlameGraph } | { sends: string[] }> {
  const ids = await ctx.pyro.profileTypesOf(svc, range.startMs, range.endMs);
  for (const k of kinds) {
    const id = ids.find((x) => parseProfileTypeId(x).name === k.name && parseProfileTypeId(x).sampleType === k.sampleType);
    if (id) return { profileTypeId: id, fg: await ctx.pyro.flameGraph({ profileTypeId: id, labelSelector: serviceSelector(svc), startMs: range.startMs, endMs: range.endMs, maxNodes: 64 }) };
  }
  return { sends: ids };
}

/** The service's flame graph of one kind of profile since the switch: its hottest frames and the share of the fault's work. */
export function flameGraphSince(o: {
  what: string;
  kinds: Array<{ name: string; sampleType: string }>;
  /** A type every app sends (CPU): asked directly, without looking up the service's types. */
  type?: (ctx: VerifyContext) => string;
  work: { re: RegExp; name: string };
  unit: (v: number) => string;
}): StepFn {
  return async (w) => {
    const range = { startMs: w.sinceMs, endMs: w.clock.now() };
    const step: TourStep = { title: `${o.what} (Pyroscope, ${w.svc}, since the switch)`, ok: false, lines: [] };
    const ask = async () => {
      const r = { ...range, endMs: w.clock.now() };
      if (!o.type) return serviceFlameGraph(w.ctx, w.svc, o.kinds, r);
      const profileTypeId = o.type(w.ctx);
      return { profileTypeId, fg: await w.ctx.pyro.flameGraph({ profileTypeId, labelSelector: serviceSelector(w.svc), ...r, maxNodes: 64 }) };
    };
    try {
      const got = await until(w, `${o.what} of ${w.svc} in Pyroscope`, async () => {
        const r = await ask();
        return 'fg' in r && inclusiveShare(r.fg, o.work.re) > 0 ? r : undefined;
      });
      const r = got ?? (await ask());
      if (!('fg' in r)) {
        step.lines.push(`${w.svc} sends no ${o.kinds.map((k) => `${k.name}:${k.sampleType}`).join(' or ')} profile (its types: ${r.sends.join(', ') || 'none'})`);
        return step;
      }
      step.title = `${o.what} (Pyroscope: ${r.profileTypeId}, {service_name="${w.svc}"}, since the switch)`;
      step.link = links.profileLink(w.ctx.grafana, w.ctx.uids.pyroscope, { profileTypeId: r.profileTypeId, labelSelector: `{service_name="${w.svc}"}` }, range.startMs, w.clock.now());
      step.lines.push(`total ${o.unit(r.fg.total)}; hottest frames (self):`);
      for (const t of topSelfFrames(r.fg, 5)) step.lines.push(`${pct(t.share).padStart(5)}  ${t.frame}`);
      const share = inclusiveShare(r.fg, o.work.re);
      step.lines.push(`${o.work.name}: ${pct(share)} of it`);
      step.ok = share > 0;
      if (!step.ok) step.lines.push(`no frame matches ${o.work.re.source}: is the fault really on (lgtmp tour shows GET /admin/faults above)?`);
    } catch (err) {
      step.lines.push(errText(err));
    }
    return step;
  };
}
