// The one table of the tours: a row per symptom of the seed's troubleshooting map (slow endpoint,
// errors, memory leak, high CPU, dependencies, timeouts), each with the switch that causes it, the
// measures that show it (before the switch, while on, after the fix) and the seed's path to its
// cause, as steps. The engine (tour.ts) runs every row the same way.
import { errorRatio, HTTP_5XX, HTTP_BUCKET, HTTP_COUNT, logql, profileTypes, promql } from '../../dashboards/queries.js';
import { nextInChain } from '../facts.js';
import { slowLogQuery, type VerifyContext } from './context.js';
import { describeFaults, faultCurl, faultOff, readFaults, setFault, type FaultKind } from './faults.js';
import { requestJson, UnreachableError } from './http.js';
import * as links from './links.js';
import { logMessage, traceIdOf } from './loki.js';
import { findDatasource, tempoDerivedField, tracesToProfiles } from './provisioning.js';
import { inclusiveShare, REGEX_WORK } from './pyroscope.js';
import {
  dominatingSpanStep,
  errorSpans,
  errText,
  flameGraphSince,
  fmtS,
  logLines,
  mib,
  pct,
  spanFlameGraph,
  traceOfLine,
  traceSearch,
  type StepFn,
  type TourStep,
} from './tour-steps.js';

// ---------------------------------------------------------------------------------------------
// Measures: one number each, read before the switch, while it is on and after the fix; lower is better.

export interface Measure {
  label: string;
  read(ctx: VerifyContext, svc: string, route: string, windowMs: number, endMs: number): Promise<number | undefined>;
  show(v: number): string;
  link(ctx: VerifyContext, svc: string, route: string, fromMs: number, toMs: number): string;
}

const seconds = (ms: number) => `${Math.max(1, Math.round(ms / 1000))}s`;
const routeSel = (svc: string, route: string) => `job="${svc}", http_route="${route}"`;

/** The tours' PromQL, on the apps' own HTTP histogram and Tempo's service graph (`w`: a range such as 2m). */
export const tourPromql = {
  routeErrorRatio: (svc: string, route: string, w: string) =>
    errorRatio('', `rate(${HTTP_COUNT}{${routeSel(svc, route)}}[${w}])`, `rate(${HTTP_COUNT}{${routeSel(svc, route)}, ${HTTP_5XX}}[${w}])`),
  routeQuantile: (q: number, svc: string, route: string, w: string) => `histogram_quantile(${q}, sum by (le) (rate(${HTTP_BUCKET}{${routeSel(svc, route)}}[${w}])))`,
  /** The dashboards' memory query (RSS where the app reports it, else its runtime's) for one service. */
  memory: (svc: string) => promql.memory.replaceAll('$service', svc),
  edgeFailedRatio: (client: string, server: string, w: string) => {
    const edge = `client="${client}", server="${server}"`;
    return errorRatio('', `rate(traces_service_graph_request_total{${edge}}[${w}])`, `rate(traces_service_graph_request_failed_total{${edge}}[${w}])`);
  },
} as const;

function promMeasure(label: string, expr: (svc: string, route: string, w: string) => string, show: (v: number) => string): Measure {
  return {
    label: `${label} (Mimir)`,
    async read(ctx, svc, route, windowMs) {
      const v = (await ctx.prom.query(expr(svc, route, seconds(windowMs))))[0]?.value;
      return v === undefined || Number.isNaN(v) ? undefined : v;
    },
    show,
    link: (ctx, svc, route, fromMs, toMs) => links.promLink(ctx.grafana, ctx.uids.prometheus, expr(svc, route, '$__rate_interval'), fromMs, toMs),
  };
}

/** The CPU profile type "Profiles for this span" uses (provisioned), else CPU as every app sends it. */
export function cpuProfileType(ctx: VerifyContext): string {
  const tempo = findDatasource(ctx.provisioning, ctx.uids.tempo);
  return (tempo && tracesToProfiles(tempo)?.profileTypeId) || profileTypes.cpu;
}

function cpuShareMeasure(label: string, work: RegExp): Measure {
  return {
    label: `CPU share of ${label} (Pyroscope)`,
    async read(ctx, svc, _route, windowMs, endMs) {
      const fg = await ctx.pyro.flameGraph({ profileTypeId: cpuProfileType(ctx), labelSelector: `{service_name="${svc}"}`, startMs: endMs - windowMs, endMs, maxNodes: 256 });
      return fg.total > 0 ? inclusiveShare(fg, work) : undefined;
    },
    show: pct,
    link: (ctx, svc, _route, fromMs, toMs) => links.profileLink(ctx.grafana, ctx.uids.pyroscope, { profileTypeId: cpuProfileType(ctx), labelSelector: `{service_name="${svc}"}` }, fromMs, toMs),
  };
}

const ratioOf = (what: string) => (v: number) => `${pct(v)} ${what}`;

// ---------------------------------------------------------------------------------------------
// Switches

export interface SwitchResult {
  ok: boolean;
  lines: string[];
  /** The fault was on before the tour touched it (the bad regex is the default). */
  wasOn?: boolean;
}

export interface Switch {
  /** The switch and its settings, as README's map names it. */
  name: string;
  on(svc: string, url: string, forText: string): Promise<SwitchResult>;
  off(apps: Record<string, string>, svc: string): Promise<SwitchResult>;
  curlOn(url: string): string;
  curlOff(url: string): string;
}

function faultSwitch(kind: FaultKind, settings: Record<string, string | number>): Switch {
  const body = (forText?: string) => ({ fault: kind, ...settings, ...(forText ? { for: forText } : {}) });
  return {
    name: `${kind} ${Object.entries(settings).map(([k, v]) => `${k}=${v}`).join(' ')}`.trim(),
    async on(svc, url, forText) {
      try {
        const doc = await setFault(svc, url, body(forText));
        return { ok: doc.faults?.[kind] != null, lines: [`${svc} answers: ${describeFaults(doc)}`, `by hand: ${faultCurl(url, body(forText))}`] };
      } catch (err) {
        return { ok: false, lines: [err instanceof UnreachableError ? `${svc} not reachable at ${url} (${err.detail}): is the stack up? --app-url ${svc}=<url> for another address` : errText(err)] };
      }
    },
    async off(apps, svc) {
      const url = apps[svc]!;
      try {
        const doc = await setFault(svc, url, faultOff(kind));
        return { ok: doc.faults?.[kind] === null, lines: [`${svc} answers: ${describeFaults(doc)}`, `by hand: ${faultCurl(url, faultOff(kind))}`] };
      } catch (err) {
        return { ok: false, lines: [errText(err)] };
      }
    },
    curlOn: (url) => faultCurl(url, body()),
    curlOff: (url) => faultCurl(url, faultOff(kind)),
  };
}

/** POST <app>/admin/regex?mode=<mode> on each app; the apps answer {"mode": ...}. */
export async function setRegexMode(apps: Record<string, string>, mode: 'fixed' | 'bad'): Promise<Array<{ service: string; url: string; ok: boolean; mode?: string; error?: string }>> {
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

const modeLines = (res: Awaited<ReturnType<typeof setRegexMode>>) => res.map((r) => `${r.service.padEnd(16)} ${r.url.padEnd(24)} ${r.ok ? `mode=${r.mode}` : r.error}`);

/** The slow tour's switch: the seed's bad regex (on by default); the fix puts the linear check in every app, as it always did. */
const regexSwitch: Switch = {
  name: 'regex mode=bad',
  async on(svc, url) {
    let was: string | undefined;
    try {
      was = (await readFaults(svc, url)).regex_mode;
    } catch {
      /* an app without /admin/faults: its regex mode is set below all the same */
    }
    const res = await setRegexMode({ [svc]: url }, 'bad');
    return { ok: res[0]!.ok, wasOn: was === undefined || was === 'bad', lines: [...modeLines(res), `by hand: curl -X POST '${url}/admin/regex?mode=bad'`] };
  },
  async off(apps) {
    const res = await setRegexMode(apps, 'fixed');
    return { ok: res.some((r) => r.ok), lines: modeLines(res) };
  },
  curlOn: (url) => `curl -X POST '${url}/admin/regex?mode=bad'`,
  curlOff: (url) => `curl -X POST '${url}/admin/regex?mode=fixed'`,
};

// ---------------------------------------------------------------------------------------------
// The slow tour's first step: a /slow log line whose span's profile has had time to arrive.

/**
 * The newest /slow request log line whose trace Tempo has, preferring one older than the app's
 * profile upload interval plus ingest, so that its flame graph is there when step 4 asks; the
 * newest of all only when none is that old (step 4 then waits for it).
 */
const slowLogLine: StepFn = async (w) => {
  const query = slowLogQuery(w.svc);
  const range = { startMs: w.sinceMs, endMs: w.clock.now() };
  const step: TourStep = { title: `The log line (Loki: ${query})`, ok: false, lines: [], link: links.lokiLink(w.ctx.grafana, w.ctx.uids.loki, query, range.startMs, range.endMs) };
  const loki = findDatasource(w.ctx.provisioning, w.ctx.uids.loki);
  const df = loki && tempoDerivedField(w.ctx.provisioning, loki);
  try {
    const entries = await w.ctx.loki.queryRange(query, range, 10);
    if (entries.length === 0) {
      step.lines.push(`no /slow request logged in the window: is the app running with its traffic generator on? (\`lgtmp verify --check seed-logql\` tells why)`);
      return step;
    }
    const settled = w.clock.now() - w.profileDelayMs;
    const byAge = [...entries.filter((e) => Number(BigInt(e.tsNs) / 1_000_000n) <= settled), ...entries.filter((e) => Number(BigInt(e.tsNs) / 1_000_000n) > settled)];
    for (const e of df ? byAge : []) {
      const id = traceIdOf(df!, e);
      const trace = id ? await w.ctx.tempo.trace(id) : undefined;
      if (trace) {
        w.entry = e;
        w.trace = trace;
        break;
      }
    }
    w.entry ??= entries[0]!;
    step.ok = true;
    step.lines.push(`${new Date(Number(BigInt(w.entry.tsNs) / 1_000_000n)).toISOString()}  ${logMessage(w.entry)}`);
  } catch (err) {
    step.lines.push(errText(err));
  }
  return step;
};

// ---------------------------------------------------------------------------------------------
// The table

export const TOUR_NAMES = ['slow', 'errors', 'leak', 'cpu', 'dependency', 'timeout'] as const;
export type TourName = (typeof TOUR_NAMES)[number];

export interface Symptom {
  name: TourName;
  question: string;
  /** The seed's map: where to look. */
  seedPath: string;
  route: string;
  switch: Switch;
  /** [0] is the evidence the tour waits for. */
  measures: Measure[];
  /** The switch shows in measures[0]: its value while on against the one before. */
  shows(before: number | undefined, during: number): boolean;
  steps: StepFn[];
  /** Only services with a next service on the chain (the dependency tour). */
  needsNext?: boolean;
}

/** The seed's /slow work, in every language. */
const REGEX = { re: REGEX_WORK, name: 'regex work (checkEmail and the regex engine under it)' };
/** The cpu switch's hot loop: burnCPU (Go), burnCpu (Java, Node), burn_cpu (Python). */
export const BURN_CPU = { re: /burnCPU|burnCpu|burn_cpu/, name: 'the injected hot loop (burnCPU)' };
/** /alloc's work in every app. */
export const ALLOC_WORK = { re: /allocateMemoryBurst/, name: "/alloc's allocateMemoryBurst" };

const p = (q: number, route: string) => promMeasure(`${route} p${Math.round(q * 100)}`, (svc, _r, w) => tourPromql.routeQuantile(q, svc, route, w), (v) => fmtS(v * 1000));
const errorRatioOf = (route: string) => promMeasure(`${route} 5xx ratio`, (svc, _r, w) => tourPromql.routeErrorRatio(svc, route, w), ratioOf('of answers are 5xx'));

export const SYMPTOMS: Record<TourName, Symptom> = {
  slow: {
    name: 'slow',
    question: 'why is /slow slow?',
    seedPath: 'Tempo + Pyroscope',
    route: '/slow',
    switch: regexSwitch,
    measures: [p(0.95, '/slow'), cpuShareMeasure('the regex work', REGEX_WORK)],
    shows: () => true,
    steps: [slowLogLine, traceOfLine, dominatingSpanStep, spanFlameGraph(REGEX)],
  },
  errors: {
    name: 'errors',
    question: 'why do requests fail?',
    seedPath: 'Loki + Tempo',
    route: '/hello',
    switch: faultSwitch('errors', { route: '/hello', ratio: 0.5 }),
    measures: [errorRatioOf('/hello')],
    shows: (before, during) => during > (before ?? 0),
    steps: [logLines((svc) => logql.errorLogs.replaceAll('$service', svc), 'The error log lines'), traceOfLine, errorSpans],
  },
  leak: {
    name: 'leak',
    question: 'where does the memory go?',
    seedPath: 'Pyroscope alloc / inuse flame graph',
    route: '/alloc',
    switch: faultSwitch('leak', { cap_mib: 256 }),
    measures: [promMeasure('process memory', (svc) => tourPromql.memory(svc), mib)],
    shows: (before, during) => during > (before ?? 0) + 32 * 1024 * 1024,
    steps: [
      flameGraphSince({ what: 'In-use memory', kinds: [{ name: 'memory', sampleType: 'inuse_space' }], work: ALLOC_WORK, unit: mib }),
      flameGraphSince({ what: 'Allocated memory', kinds: [{ name: 'memory', sampleType: 'alloc_space' }, { name: 'memory', sampleType: 'alloc_in_new_tlab_bytes' }], work: ALLOC_WORK, unit: mib }),
    ],
  },
  cpu: {
    name: 'cpu',
    question: 'what burns the CPU?',
    seedPath: 'Pyroscope CPU flame graph',
    route: '/hello',
    switch: faultSwitch('cpu', { route: '/hello', work: '200ms' }),
    measures: [p(0.95, '/hello'), cpuShareMeasure('burnCPU', BURN_CPU.re)],
    shows: (before, during) => during > (before ?? 0),
    steps: [flameGraphSince({ what: 'CPU', kinds: [{ name: 'process_cpu', sampleType: 'cpu' }], type: cpuProfileType, work: BURN_CPU, unit: (v) => fmtS(v / 1e6) })],
  },
  dependency: {
    name: 'dependency',
    question: 'which dependency fails?',
    seedPath: 'Node graph / Service graph',
    route: '/chain',
    switch: faultSwitch('dependency', { mode: 'error' }),
    measures: [errorRatioOf('/chain'), promMeasure('failed calls to the next service', (svc, _r, w) => tourPromql.edgeFailedRatio(svc, nextInChain(svc) ?? '', w), ratioOf('of calls fail (service graph)'))],
    shows: (before, during) => during > (before ?? 0),
    steps: [
      traceSearch((svc) => `{ resource.service.name="${svc}" && kind = client && status = error }`, 'Its failing calls'),
      errorSpans,
      async (w) => {
        const next = nextInChain(w.svc)!;
        const r = tourPromql.edgeFailedRatio(w.svc, next, seconds(w.clock.now() - w.sinceMs));
        const v = (await w.ctx.prom.query(r).catch(() => []))[0]?.value;
        return {
          title: `The service graph: the edge ${w.svc} -> ${next} (Tempo's service graph in Mimir)`,
          ok: v !== undefined && v > 0,
          lines: [v === undefined ? `no traces_service_graph_request_total{client="${w.svc}", server="${next}"} since the switch (\`lgtmp verify --check service-graph\` tells why)` : `${pct(v)} of the calls ${w.svc} -> ${next} failed since the switch`],
          link: links.serviceMapLink(w.ctx.grafana, w.ctx.uids.tempo, w.sinceMs, w.clock.now()),
        };
      },
    ],
    needsNext: true,
  },
  timeout: {
    name: 'timeout',
    question: 'where do the seconds go?',
    seedPath: 'Tempo + Mimir p99',
    route: '/hello',
    switch: faultSwitch('latency', { route: '/hello', delay: '2s' }),
    measures: [p(0.99, '/hello')],
    shows: (before, during) => during > (before ?? 0) && during >= 1,
    steps: [traceSearch((svc, route) => `{ resource.service.name="${svc}" && span.http.route="${route}" && duration > 1s }`, 'Its slowest requests'), dominatingSpanStep],
  },
};

