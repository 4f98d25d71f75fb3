// The one integration test that every demo app goes through: each app in test/apps/index.ts is started as a user
// would start it, with its OTLP endpoint at an in-process receiver that forwards metrics to a real Prometheus, and
// its Pyroscope address at an in-process ingest receiver. Every assertion is on the data that arrived.
// LGTMP_APPS=go,java limits the run to those languages.
import { after, before, describe, it, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { CHAIN, FAULT_KINDS, findService, metrics, type FaultKind } from '../src/facts.js';
import { allApps, selectedApps } from './apps/index.js';
import { SPAN_PROFILE_TYPE, type AppSpec } from './harness/app-spec.js';
import { TEST_SETTINGS } from './harness/app-env.js';
import { faultsRequest, getFaults, postFault, setFault } from './harness/fault-client.js';
import { groupRssMiB } from './harness/proc-group.js';
import { startAppWithPeers, type AppWithPeers } from './harness/app-with-peers.js';
import { repoRoot, tail } from './harness/cache.js';
import { startConnectionDropper, type ConnectionDropper } from './harness/connection-dropper.js';
import { freePort, launchApp, waitFor, type LaunchedApp } from './harness/launcher.js';
import { servesRoute, SPAN_KIND_CLIENT, SPAN_KIND_SERVER, startOtlpReceiver, type OtlpReceiver, type ReceivedLog, type ReceivedSpan } from './harness/otlp-receiver.js';
import { frameShare, hottestFrames, startProfileReceiver, type ProfileReceiver, type ProfileSample } from './harness/profile-receiver.js';
import { recordedProfileTypes } from './harness/recorded-profile-types.js';
import type { PrometheusPeer } from './harness/prometheus.js';

const CHAIN_ORDER = CHAIN.map((name) => findService(name)!.language!);

const apps = selectedApps();

interface Reply { status: number; text: string; ms: number; json?: unknown }
async function get(base: string, path: string, timeoutMs = 120_000): Promise<Reply> {
  const t0 = performance.now();
  const res = await fetch(`${base}${path}`, { signal: AbortSignal.timeout(timeoutMs) });
  const text = await res.text();
  const ms = performance.now() - t0;
  let json: unknown;
  try { json = JSON.parse(text); } catch { /* not JSON */ }
  return { status: res.status, text, ms, json };
}

const nowNs = (): bigint => BigInt(Date.now()) * 1_000_000n;

const statusCode = (s: ReceivedSpan): unknown => s.attributes['http.response.status_code'] ?? s.attributes['http.status_code'];

function logBody(l: ReceivedLog): Record<string, unknown> | undefined {
  if (typeof l.body === 'string') {
    try {
      const v = JSON.parse(l.body) as unknown;
      return typeof v === 'object' && v !== null ? (v as Record<string, unknown>) : undefined;
    } catch { return undefined; }
  }
  return typeof l.body === 'object' && l.body !== null ? (l.body as Record<string, unknown>) : undefined;
}

const ALLOC_TYPE = /^(alloc_|inuse_|space$|objects$|alloc$)/;

/** Runs fn; on failure appends what each component saw, so a red test says why. */
async function withDiagnostics(diag: () => string, fn: () => Promise<void>): Promise<void> {
  try {
    await fn();
  } catch (e) {
    if (e instanceof Error) e.message += `\n===== diagnostics =====\n${diag()}`;
    throw e;
  }
}

describe('demo apps are configured', () => {
  it('lists every app (or the LGTMP_APPS selection)', () => {
    assert.ok(apps.length > 0, `no app selected (allApps: ${allApps.map((a) => a.language).join(', ') || 'none'}; LGTMP_APPS=${process.env.LGTMP_APPS ?? ''})`);
    if (!process.env.LGTMP_APPS) assert.deepEqual(allApps.map((a) => a.language).sort(), ['go', 'java', 'node', 'python'], 'test/apps/index.ts must list the four apps');
  });

  it('each app runs under the service name and at the chain position compose.yaml gives it', () => {
    type ComposeService = { build?: string; environment?: Record<string, string> };
    const services = (parseYaml(readFileSync(join(repoRoot, 'compose.yaml'), 'utf8')) as { services: Record<string, ComposeService> }).services;
    const composeName = (language: string): string => {
      const found = Object.entries(services).filter(([, s]) => s.build === `./apps/${language}`);
      assert.equal(found.length, 1, `one compose service builds ./apps/${language}`);
      return found[0]![0];
    };
    for (const a of allApps) {
      const name = composeName(a.language);
      assert.equal(services[name]!.environment?.OTEL_SERVICE_NAME, a.service, `compose service ${name}: OTEL_SERVICE_NAME`);
    }
    // CHAIN_ORDER is the compose chain: each app's NEXT_SERVICE_URL is the next one, the last has none.
    CHAIN_ORDER.forEach((language, i) => {
      const next = services[composeName(language)]!.environment?.NEXT_SERVICE_URL;
      const nextLanguage = CHAIN_ORDER[i + 1];
      assert.equal(next && new URL(next).hostname, nextLanguage && composeName(nextLanguage), `${language}: NEXT_SERVICE_URL ${next ?? '(none)'}`);
    });
  });
});

for (const spec of apps) {
  describe(`${spec.language} app (${spec.service}) with receivers and Prometheus`, { timeout: 30 * 60_000 }, () => {
    let peers: AppWithPeers | undefined;
    let prom: PrometheusPeer | undefined;
    let otlp: OtlpReceiver | undefined;
    let prof: ProfileReceiver | undefined;
    let app: LaunchedApp | undefined;
    let base = '';
    const diag = (): string => [
      otlp?.summary() ?? 'no OTLP receiver',
      prof?.summary() ?? 'no profile receiver',
      `--- ${spec.service} output (tail) ---\n${app ? tail(app.output(), 6000) : '(not started)'}`,
    ].join('\n');
    const check = (name: string, fn: (t: TestContext) => Promise<void>, timeoutMs = 5 * 60_000): void => {
      it(name, { timeout: timeoutMs }, (t) => withDiagnostics(diag, () => fn(t)));
    };
    const mySpans = (): ReceivedSpan[] => otlp!.spans().filter((s) => s.resource['service.name'] === spec.service);

    // The dependency fault needs a next service: a second instance of the same app, started on this port by that
    // check only (so no other check pays for it).
    let nextPort = 0;
    before(async () => {
      nextPort = await freePort();
      peers = await startAppWithPeers(spec, undefined, `http://127.0.0.1:${nextPort}`);
      ({ prom, otlp, profiles: prof, app, base } = peers);
    }, { timeout: 25 * 60_000 });

    after(async () => { await peers?.close(); });

    // Shared between the checks below (node:test runs them in order).
    let root: ReceivedSpan | undefined;
    let slowStart = 0n;

    check('/slow gives one trace: a SERVER root span (with pyroscope.profile.id), the child span taking most of it', async (t) => {
      slowStart = nowNs();
      const r = await get(base, `/slow${spec.slow.query}`);
      assert.equal(r.status, 200, r.text);
      const slowEnd = nowNs();
      root = await waitFor('the /slow server span', () => mySpans().find((s) => s.kind === SPAN_KIND_SERVER && servesRoute(s, '/slow') && s.startTimeUnixNano >= slowStart - 1_000_000_000n), 60_000);
      const trace = (): ReceivedSpan[] => otlp!.spans().filter((s) => s.traceId === root!.traceId);
      assert.equal(root.parentSpanId, '', 'the server span is the root of the trace');
      assert.equal(root.attributes['pyroscope.profile.id'], root.spanId, 'root span carries pyroscope.profile.id = its span id');
      assert.ok(root.durationMs > 0 && root.durationMs <= r.ms + 1000, `root span ${root.durationMs} ms vs request ${r.ms.toFixed(0)} ms`);
      if (spec.slow.childSpan) {
        const child = await waitFor(`child span ${spec.slow.childSpan}`, () => trace().find((s) => s.name === spec.slow.childSpan), 30_000);
        assert.equal(child.parentSpanId, root.spanId, 'child span parent is the root span');
        assert.ok(child.durationMs >= 0.5 * root.durationMs, `child ${child.durationMs} ms of root ${root.durationMs} ms`);
      }
      t.diagnostic(`${spec.service}: GET /slow${spec.slow.query} took ${r.ms.toFixed(0)} ms; root span ${root.name} ${root.durationMs.toFixed(0)} ms`);
      const others = mySpans().filter((s) => s.kind === SPAN_KIND_SERVER && servesRoute(s, '/slow') && s.traceId !== root!.traceId && s.startTimeUnixNano >= slowStart - 1_000_000_000n && s.startTimeUnixNano <= slowEnd);
      assert.deepEqual(others.map((s) => s.traceId), [], 'one request, one trace');
      assert.equal(trace().filter((s) => s.parentSpanId === '').length, 1, 'exactly one root span in the trace');
      const ids = new Set(trace().map((s) => s.spanId));
      for (const s of trace()) if (s.parentSpanId) assert.ok(ids.has(s.parentSpanId), `span ${s.name} has its parent in the trace`);
    });

    check('the /slow request log carries the span\'s trace context and the seed\'s message format', async () => {
      assert.ok(root, 'needs the /slow span');
      const r = root;
      const log = await waitFor('the /slow request log', () => otlp!.logs().find((l) => l.traceId === r.traceId && logBody(l)?.route === '/slow'), 60_000);
      const body = logBody(log)!;
      assert.equal(log.spanId, r.spanId, 'log record span id = server span id');
      assert.equal(body.trace_id, r.traceId);
      assert.equal(body.span_id, r.spanId);
      assert.equal(body.method, 'GET');
      assert.equal(body.status, 200);
      assert.equal(typeof body.duration_ms, 'number');
      assert.ok((body.duration_ms as number) >= 0.5 * r.durationMs, `duration_ms ${String(body.duration_ms)} vs span ${r.durationMs}`);
      assert.match(String(body.msg), new RegExp(`^\\[OK\\] route=/slow method=GET status=200 duration_ms=\\d+ trace_id=${r.traceId} span_id=${r.spanId}$`));
      assert.equal(log.resource['service.name'], spec.service);
    });

    check('?fail=true gives 500, an [ERROR] log with level error, and an error span', async () => {
      const t0 = nowNs();
      const r = await get(base, '/hello?fail=true');
      assert.equal(r.status, 500, r.text);
      const span = await waitFor('the failed server span', () => mySpans().find((s) => s.kind === SPAN_KIND_SERVER && servesRoute(s, '/hello') && s.startTimeUnixNano >= t0 - 1_000_000_000n && Number(statusCode(s)) === 500), 60_000);
      assert.equal(span.status.code, 2, 'STATUS_CODE_ERROR on a 5xx server span');
      const log = await waitFor('the [ERROR] log', () => otlp!.logs().find((l) => l.traceId === span.traceId && /^\[ERROR\] /.test(String(logBody(l)?.msg))), 60_000);
      const body = logBody(log)!;
      assert.equal(body.level, 'error');
      assert.equal(body.status, 500);
      assert.equal(body.route, '/hello');
      assert.equal(body.span_id, span.spanId);
    });

    check('unknown route 404 and bad parameters 400 (JSON), and the app keeps serving', async () => {
      const nf = await get(base, '/no-such-route');
      assert.equal(nf.status, 404, nf.text);
      assert.equal(typeof nf.json, 'object', `404 body is JSON: ${nf.text}`);
      for (const bad of ['/slow?iterations=0', '/slow?iterations=100001', '/slow?iterations=abc']) {
        const r = await get(base, bad);
        assert.equal(r.status, 400, `${bad}: ${r.status} ${r.text}`);
        assert.equal(typeof r.json, 'object', `${bad}: 400 body is JSON: ${r.text}`);
      }
      const h = await get(base, '/healthz');
      assert.equal(h.status, 200);
      assert.deepEqual(h.json, { status: 'ok' });
      const hello = await get(base, '/hello');
      assert.equal(hello.status, 200);
      assert.match(hello.text, /Hello World/);
    });

    check('Prometheus answers the seed\'s queries on the app\'s OTLP metrics, with exemplars that are real spans', async () => {
      // Two rounds of traffic in different metric exports, so rate() sees increases on every series: after each
      // round, wait until two more exports reached Prometheus (the first may have been collected mid-round).
      for (let round = 0; round < 2; round++) {
        for (const p of ['/hello', '/hello', '/slow?iterations=1', '/hello?fail=true']) await get(base, p);
        const n = otlp!.forwardedCount();
        await waitFor(`two metric exports forwarded to Prometheus after export #${n} (round ${round + 1})`, () => (otlp!.forwardedCount() >= n + 2 ? true : undefined), 60_000, 50);
      }
      const job = spec.service;
      const rates = await waitFor('rate() series for /slow and /hello', async () => {
        const r = await prom!.query(`rate(http_server_request_duration_seconds_count{job="${job}"}[1m])`);
        const routes = new Set(r.map((s) => s.metric.http_route));
        return routes.has('/slow') && routes.has('/hello') ? r : undefined;
      }, 90_000, 2000);
      assert.ok(rates.every((s) => s.metric.http_request_method !== undefined && s.metric.http_response_status_code !== undefined), JSON.stringify(rates.map((s) => s.metric)));
      const q95 = await prom!.query(`histogram_quantile(0.95, sum by (le, http_route) (rate(http_server_request_duration_seconds_bucket{job="${job}"}[1m])))`);
      assert.ok(q95.some((s) => s.metric.http_route === '/slow'), JSON.stringify(q95));
      await waitFor('a 5xx ratio strictly between 0 and 1', async () => {
        const r = await prom!.query(`sum(rate(http_server_request_duration_seconds_count{job="${job}",http_response_status_code=~"5.."}[1m])) / sum(rate(http_server_request_duration_seconds_count{job="${job}"}[1m]))`);
        const v = Number(r[0]?.value[1]);
        return r.length === 1 && Number.isFinite(v) && v > 0 && v < 1 ? v : undefined;
      }, 60_000, 2000);
      // the 5xx answers counted are the 500s of /hello?fail=true, nothing else, and they carry their route
      const errors = await prom!.query(`http_server_request_duration_seconds_count{job="${job}",http_response_status_code=~"5.."}`);
      const shown = JSON.stringify(errors.map((s) => s.metric));
      assert.deepEqual([...new Set(errors.map((s) => s.metric.http_response_status_code))], ['500'], shown);
      assert.deepEqual([...new Set(errors.map((s) => s.metric.http_route))], ['/hello'], shown);
      assert.deepEqual(otlp!.forwardErrors(), []);
    }, 6 * 60_000);

    // An SDK that records no exemplars is a known upstream gap, reported as a skip with its reason, never as a pass.
    const exemplarCheck = spec.noExemplars ? (name: string) => it(name, { skip: spec.noExemplars }) : check;
    exemplarCheck('an exemplar on the duration histogram carries the trace id of a span the app sent', async () => {
      const job = spec.service;
      const hit = await waitFor('an exemplar whose trace_id is a received span', async () => {
        const now = Date.now() / 1000;
        const ex = await prom!.exemplars(`http_server_request_duration_seconds_bucket{job="${job}"}`, now - 900, now + 60);
        const ids = ex.flatMap((s) => s.exemplars.map((e) => e.labels.trace_id ?? e.labels.traceID ?? ''));
        // taken on every probe: the span of an exemplar may reach the receiver after the exemplar reached Prometheus
        const traceIds = new Set(otlp!.spans().map((s) => s.traceId));
        return ids.find((id) => traceIds.has(id));
      }, 60_000, 2000);
      assert.match(hit, /^[0-9a-f]{32}$/);
      assert.deepEqual(otlp!.forwardErrors(), []);
    }, 6 * 60_000);

    check(`profiles: ${SPAN_PROFILE_TYPE} samples (the type "Profiles for this span" asks for) labelled with the /slow root span id are the regex work under the app frame`, async (t) => {
      assert.ok(root, 'needs the /slow span');
      const spanId = root.spanId;
      const mine = await waitFor(`${SPAN_PROFILE_TYPE} samples labelled span_id=${spanId}`, () => {
        const s = prof!.spanSamples(spec.service, SPAN_PROFILE_TYPE, spanId);
        return s.reduce((a, x) => a + x.value, 0) > 0 ? s : undefined;
      }, 120_000, 1000);
      // Under the app frame (checkEmail), the regex engine must carry the time: take each sample's frames below the
      // deepest app frame. hottestFrames() ranks by inclusive value and leaves out frames common to every sample.
      const deepestApp = (st: string[]): number => { for (let i = st.length - 1; i >= 0; i--) if (spec.slow.appFrame.test(st[i]!)) return i; return -1; };
      const callees = mine.filter((x) => deepestApp(x.stack) >= 0).map((x) => ({ ...x, stack: x.stack.slice(deepestApp(x.stack) + 1) }));
      const hot = hottestFrames(callees, 5);
      const shown = `hottest under the app frame: ${JSON.stringify(hot)}\nhottest overall: ${JSON.stringify(hottestFrames(mine, 5))}\n` +
        `share app ${frameShare(mine, spec.slow.appFrame)}, regex ${frameShare(mine, spec.slow.regexFrame)}, regex under app ${frameShare(callees, spec.slow.regexFrame)}`;
      assert.ok(frameShare(mine, spec.slow.appFrame) >= 0.5, `most of the span's samples are under ${spec.slow.appFrame}\n${shown}`);
      assert.ok(frameShare(mine, spec.slow.regexFrame) >= 0.3, `the regex engine carries the span's samples\n${shown}`);
      assert.ok(frameShare(callees, spec.slow.regexFrame) >= 0.5, `the regex engine carries most of the time under the app frame\n${shown}`);
      assert.ok(hot.some((h) => spec.slow.regexFrame.test(h.frame)) || frameShare(callees, spec.slow.regexFrame) === 1, `regex frames are the hottest under the app frame\n${shown}`);
      t.diagnostic(`${spec.service}: ${mine.length} samples, ${mine.reduce((a, x) => a + x.value, 0)} ${SPAN_PROFILE_TYPE} under span ${spanId}; ${shown.replace(/\n/g, '; ')}; ${prof!.summary()}`);
      // Root first: where a stack holds the app frame, the regex frames come after it (deeper). Stacks without it
      // exist: the JVM profiler cuts very deep stacks (the regex engine recurses), keeping the leaf end.
      const firstRegex = (st: string[]): number => st.findIndex((f) => spec.slow.regexFrame.test(f));
      assert.ok(mine.every((s) => deepestApp(s.stack) < 0 || firstRegex(s.stack) < 0 || firstRegex(s.stack) > deepestApp(s.stack)), 'stacks are root first');
    }, 4 * 60_000);

    check('/alloc shows up in allocation samples under allocateMemoryBurst', async () => {
      for (let i = 0; i < 3; i++) {
        const r = await get(base, '/alloc');
        assert.equal(r.status, 200, r.text);
      }
      const isAlloc = (t: string): boolean => (spec.alloc.profileType ? t === spec.alloc.profileType : ALLOC_TYPE.test(t));
      await waitFor('allocation samples under the alloc app frame', () => {
        const samples: ProfileSample[] = prof!.profiles().filter((p) => p.service === spec.service && isAlloc(p.sampleType)).flatMap((p) => p.samples);
        return samples.some((s) => s.value > 0 && s.stack.some((f) => spec.alloc.appFrame.test(f)));
      }, 120_000, 1000);
    }, 4 * 60_000);

    // The receiver names each upload as Pyroscope would (test/harness/profile-receiver.ts); this holds that copy to
    // what the real server did with the same app's uploads.
    check('every profile type id the receiver gave this app\'s uploads is one the real Pyroscope filed them under', async () => {
      const recorded = recordedProfileTypes(spec.service);
      const named = [...new Set(prof!.profiles().filter((p) => p.service === spec.service).map((p) => p.profileTypeId))].sort();
      assert.ok(named.includes(SPAN_PROFILE_TYPE), `no ${SPAN_PROFILE_TYPE} upload: ${prof!.summary()}`);
      assert.deepEqual(named.filter((id) => !recorded.ids.includes(id)), [],
        `named by the receiver but not by Pyroscope ${recorded.version} for ${spec.service} (its ids: ${recorded.ids.join(', ')}); ${prof!.summary()}`);
    });

    // The fault switches (docs/fault-switches.md): each fault's promised signal arrives, and stops when it is off.
    const faultLogs = (kind: FaultKind, state: 'on' | 'off'): { log: ReceivedLog; body: Record<string, unknown> }[] =>
      otlp!.logs().map((log) => ({ log, body: logBody(log) ?? {} }))
        .filter(({ log, body }) => log.resource['service.name'] === spec.service && body.fault === kind && body.state === state);
    const waitFaultLog = async (kind: FaultKind, state: 'on' | 'off', reason = 'request'): Promise<void> => {
      const msg = state === 'on' ? new RegExp(`^\\[FAULT\\] ${kind} on .*for=\\S+$`) : new RegExp(`^\\[FAULT\\] ${kind} off \\(${reason}\\)$`);
      const { body } = await waitFor(`the [FAULT] ${kind} ${state} log line`, () => faultLogs(kind, state).find(({ body: b }) => msg.test(String(b.msg))), 60_000);
      assert.equal(body.level, 'warn', JSON.stringify(body));
    };
    const gaugeIs = (kind: FaultKind, value: 0 | 1): Promise<unknown> =>
      waitFor(`${metrics.faultActive}{job="${spec.service}",fault="${kind}"} = ${value} in Prometheus`, async () => {
        const r = await prom!.query(`${metrics.faultActive}{job="${spec.service}",fault="${kind}"}`);
        return r.length === 1 && Number(r[0]!.value[1]) === value;
      }, 60_000, 1000);
    const serverSpansSince = (route: string, t0: bigint): ReceivedSpan[] =>
      mySpans().filter((s) => s.kind === SPAN_KIND_SERVER && servesRoute(s, route) && s.startTimeUnixNano >= t0);
    const allocBatches = Number(TEST_SETTINGS['ALLOC_MAX_BATCHES']);

    check('fault switches: GET /admin/faults lists every kind, POST answers the same document, bad input is a 400 that changes nothing', async () => {
      const initial = await getFaults(base);
      assert.deepEqual(Object.keys(initial.faults).sort(), [...FAULT_KINDS].sort(), JSON.stringify(initial));
      for (const k of FAULT_KINDS) assert.equal(initial.faults[k], null, `${k} is off at start`);
      assert.ok(['bad', 'fixed'].includes(initial.regex_mode), `regex_mode ${initial.regex_mode}`);

      const t0 = Date.now();
      const on = await setFault(base, { fault: 'errors', route: '/alloc', ratio: 0.5, for: '10m' });
      const errors = on.faults.errors!;
      assert.equal(errors.route, '/alloc');
      assert.equal(errors.ratio, 0.5);
      const expires = Date.parse(String(errors.expires_at));
      assert.match(String(errors.expires_at), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/, 'expires_at is RFC 3339 UTC');
      assert.ok(expires >= t0 + 9 * 60_000 && expires <= Date.now() + 10 * 60_000 + 1000, `expires_at ${String(errors.expires_at)} is 10 minutes on`);
      for (const k of FAULT_KINDS.filter((x) => x !== 'errors')) assert.equal(on.faults[k], null, `${k} stays off`);
      assert.deepEqual(await getFaults(base), on, 'GET answers what POST answered');

      const bad: unknown[] = [
        'not json', '[]', {}, { fault: 'nope' }, { fault: 'errors', bogus: 1 }, { fault: 'errors', ratio: 0 }, { fault: 'errors', ratio: 1.5 },
        { fault: 'errors', route: '/no-such-route' }, { fault: 'errors', for: '2h' }, { fault: 'errors', for: 'soon' },
        { fault: 'latency', delay: '31s' }, { fault: 'leak', cap_mib: 0 }, { fault: 'leak', cap_mib: 1025 }, { fault: 'cpu', work: '3s' },
        { fault: 'dependency', mode: 'sometimes' },
      ];
      for (const body of bad) {
        const r = await postFault(base, body);
        assert.equal(r.status, 400, `${JSON.stringify(body)}: ${r.status} ${r.text}`);
        const error = (r.json as { error?: unknown } | undefined)?.error;
        assert.ok(typeof error === 'string' && error.length > 0 && !error.includes('\n'), `${JSON.stringify(body)}: one-line error, got ${r.text}`);
      }
      assert.deepEqual(await getFaults(base), on, 'bad input changed nothing');
      assert.equal((await faultsRequest(base, 'PUT')).status, 405, 'PUT /admin/faults');

      const off = await setFault(base, { fault: 'errors', on: false });
      assert.equal(off.faults.errors, null);
      assert.equal((await get(base, '/alloc')).status, 200, '/alloc serves again');
    });

    check('errors fault: 500s with an error span, an [ERROR] log line of that trace, 5xx on the duration histogram; the gauge and [FAULT] lines; gone when off', async () => {
      const t0 = nowNs();
      await setFault(base, { fault: 'errors', route: '/alloc', ratio: 1 });
      await waitFaultLog('errors', 'on');
      await gaugeIs('errors', 1);
      for (let i = 0; i < 3; i++) assert.equal((await get(base, '/alloc')).status, 500, '/alloc under errors ratio 1');
      const span = await waitFor('a 500 /alloc server span', () => serverSpansSince('/alloc', t0).find((s) => Number(statusCode(s)) === 500), 60_000);
      assert.equal(span.status.code, 2, 'STATUS_CODE_ERROR');
      const log = await waitFor('the [ERROR] log line of that span', () => otlp!.logs().find((l) => l.traceId === span.traceId && /^\[ERROR\] /.test(String(logBody(l)?.msg))), 60_000);
      assert.equal(logBody(log)!.level, 'error');
      assert.equal(logBody(log)!.trace_id, span.traceId);
      assert.equal(logBody(log)!.route, '/alloc');
      const errorCount = `${metrics.httpDuration}_count{job="${spec.service}",http_route="/alloc",http_response_status_code="500"}`;
      await waitFor(`${errorCount} in Prometheus`, async () =>
        (await prom!.query(errorCount)).some((x) => Number(x.value[1]) > 0), 60_000, 1000);

      await setFault(base, { fault: 'errors', on: false });
      await waitFaultLog('errors', 'off');
      const t1 = nowNs();
      for (let i = 0; i < 3; i++) assert.equal((await get(base, '/alloc')).status, 200, '/alloc after the errors fault is off');
      const after = await waitFor('3 /alloc server spans after off', () => { const s = serverSpansSince('/alloc', t1); return s.length >= 3 ? s : undefined; }, 60_000);
      assert.deepEqual(after.map((s) => [Number(statusCode(s)), s.status.code]), after.map(() => [200, 0]), 'no error span after off');
      await gaugeIs('errors', 0);
    });

    check('latency fault: the route\'s server span gets an injected_latency child of the delay; none when off', async () => {
      const t0 = nowNs();
      await setFault(base, { fault: 'latency', route: '/hello', delay: '1s' });
      await gaugeIs('latency', 1);
      assert.equal((await get(base, '/hello')).status, 200);
      const server = await waitFor('the /hello server span', () => serverSpansSince('/hello', t0)[0], 60_000);
      const child = await waitFor('its injected_latency child', () => otlp!.spans().find((s) => s.traceId === server.traceId && s.name === 'injected_latency'), 30_000);
      assert.equal(child.parentSpanId, server.spanId, 'injected_latency is a child of the route\'s server span');
      assert.ok(child.durationMs >= 950, `injected_latency lasted ${child.durationMs} ms for a 1 s delay`);

      await setFault(base, { fault: 'latency', on: false });
      await waitFaultLog('latency', 'off');
      const t1 = nowNs();
      assert.equal((await get(base, '/hello')).status, 200);
      const plain = await waitFor('a /hello server span after off', () => serverSpansSince('/hello', t1)[0], 60_000);
      assert.deepEqual(otlp!.spans().filter((s) => s.traceId === plain.traceId && s.name === 'injected_latency'), [], 'no injected_latency after off');
      await gaugeIs('latency', 0);
    });

    check(`cpu fault: the burn function is a frame of the route span's ${SPAN_PROFILE_TYPE} profile; no new burn samples once off`, async (t) => {
      const burn = /burn_?cpu/i;
      const t0 = nowNs();
      await setFault(base, { fault: 'cpu', route: '/hello', work: '500ms' });
      await gaugeIs('cpu', 1);
      for (let i = 0; i < 3; i++) assert.equal((await get(base, '/hello')).status, 200);
      const spans = await waitFor('3 /hello server spans', () => { const s = serverSpansSince('/hello', t0); return s.length >= 3 ? s : undefined; }, 60_000);
      const samples = await waitFor(`${SPAN_PROFILE_TYPE} samples with a burn frame under a /hello span`, () => {
        const s = spans.flatMap((sp) => prof!.spanSamples(spec.service, SPAN_PROFILE_TYPE, sp.spanId));
        return s.some((x) => x.value > 0 && x.stack.some((f) => burn.test(f))) ? s : undefined;
      }, 120_000, 1000);
      t.diagnostic(`${spec.service}: burn share of the /hello spans' samples ${frameShare(samples, burn).toFixed(2)}; hottest ${JSON.stringify(hottestFrames(samples, 3))}`);
      assert.ok(frameShare(samples, burn) >= 0.5, `the burn frame carries most of the spans' samples: ${JSON.stringify(hottestFrames(samples, 5))}`);

      await setFault(base, { fault: 'cpu', on: false });
      await waitFaultLog('cpu', 'off');
      await gaugeIs('cpu', 0);
      // Profiles in flight may still hold burn samples from before: count after two more uploads, then after two more.
      const cpuProfiles = () => prof!.profiles().filter((p) => p.service === spec.service && p.profileTypeId === SPAN_PROFILE_TYPE);
      const burnTotal = (): number => cpuProfiles().flatMap((p) => p.samples).filter((x) => x.stack.some((f) => burn.test(f))).reduce((a, x) => a + x.value, 0);
      const uploadsAfter = async (n: number): Promise<void> => { const c = cpuProfiles().length; await waitFor(`${n} more ${SPAN_PROFILE_TYPE} uploads`, () => cpuProfiles().length >= c + n, 120_000, 500); };
      await uploadsAfter(2);
      const settled = burnTotal();
      for (let i = 0; i < 3; i++) assert.equal((await get(base, '/hello')).status, 200);
      await uploadsAfter(2);
      assert.equal(burnTotal(), settled, 'no burn samples after the cpu fault is off');
    }, 6 * 60_000);

    check('dependency fault: /chain answers 502 (error) and 504 (timeout) with a client span in error; /chain is whole again when off', async (t) => {
      const started = performance.now();
      const phase = (what: string): void => t.diagnostic(`${spec.service}: ${what} after ${((performance.now() - started) / 1000).toFixed(1)} s`);
      // Its own service name: the same one would write this app's series (lgtmp_fault_active among them) in Prometheus.
      const next = await launchApp(spec.launch({ port: nextPort, otlpUrl: otlp!.url, pyroscopeUrl: prof!.url, env: { OTEL_SERVICE_NAME: `${spec.service}-next` } }));
      phase('next service up');
      try {
        const nextBase = `http://127.0.0.1:${nextPort}`;
        const clientSpan = async (t0: bigint, status: number): Promise<ReceivedSpan> => {
          const server = await waitFor(`a /chain server span answering ${status}`, () => serverSpansSince('/chain', t0).find((s) => Number(statusCode(s)) === status), 60_000);
          return waitFor('the client span of its call to the next service', () => otlp!.spans().find((s) => s.traceId === server.traceId && s.kind === SPAN_KIND_CLIENT && s.parentSpanId !== '' && s.resource['service.name'] === spec.service), 60_000);
        };
        for (const [mode, status, extra] of [['error', 502, {}], ['timeout', 504, { timeout: '300ms' }]] as const) {
          if (mode === 'timeout') await setFault(nextBase, { fault: 'latency', route: '/slow', delay: '5s' }); // the next service's /slow outlasts the timeout
          const t0 = nowNs();
          await setFault(base, { fault: 'dependency', mode, ...extra });
          await gaugeIs('dependency', 1);
          const r = await get(base, '/chain');
          assert.equal(r.status, status, `${mode}: ${r.text}`);
          const client = await clientSpan(t0, status);
          assert.equal(client.status.code, 2, `${mode}: the client span records the error (${JSON.stringify(client.status)})`);
          phase(`${mode} mode seen`);
        }
        await setFault(base, { fault: 'dependency', on: false });
        await waitFaultLog('dependency', 'off');
        await gaugeIs('dependency', 0);
        const t1 = nowNs();
        const r = await get(base, '/chain');
        assert.equal(r.status, 200, `after off: ${r.text}`);
        const client = await clientSpan(t1, 200);
        assert.notEqual(client.status.code, 2, 'the client span is not in error after off');
        phase('whole again');
      } finally {
        await next.stop();
        phase('next service stopped');
      }
    }, 6 * 60_000);

    check('leak fault: resident memory grows past the /alloc plateau up to cap_mib; no more growth once off', async (t) => {
      // cap_mib well above the plateau (ALLOC_MAX_BATCHES x ~50 MiB): the free heap a runtime reuses for the first
      // leaked batches (up to the live size with Go's GOGC=100) cannot hide the growth.
      const capMiB = 512;
      const rss = (): number => groupRssMiB(app!.pid);
      let plateau = 0; // the highest RSS of the bounded staircase (a collector's timing moves it around)
      for (let i = 0; i <= allocBatches; i++) {
        assert.equal((await get(base, '/alloc')).status, 200);
        plateau = Math.max(plateau, rss());
      }
      await setFault(base, { fault: 'leak', cap_mib: capMiB });
      await gaugeIs('leak', 1);
      for (let i = 0; i < 11; i++) assert.equal((await get(base, '/alloc')).status, 200);
      const leaked = rss();
      t.diagnostic(`${spec.service}: RSS ${plateau.toFixed(0)} MiB at the /alloc plateau, ${leaked.toFixed(0)} MiB after 11 /alloc under leak cap_mib=${capMiB}`);
      assert.ok(leaked >= plateau + capMiB / 4, `RSS grew from ${plateau.toFixed(0)} to ${leaked.toFixed(0)} MiB only`);

      await setFault(base, { fault: 'leak', on: false });
      await waitFaultLog('leak', 'off');
      await gaugeIs('leak', 0);
      for (let i = 0; i <= allocBatches; i++) assert.equal((await get(base, '/alloc')).status, 200);
      const after = rss();
      t.diagnostic(`${spec.service}: RSS ${after.toFixed(0)} MiB after ${allocBatches + 1} more /alloc with the leak off`);
      assert.ok(after <= leaked + 100, `RSS kept growing after off: ${leaked.toFixed(0)} -> ${after.toFixed(0)} MiB`);
    }, 6 * 60_000);

    check('a fault turns itself off when its for ends: [FAULT] ... off (expired), null in GET, gauge 0', async () => {
      await setFault(base, { fault: 'latency', route: '/slow', delay: '1s', for: '3s' });
      await gaugeIs('latency', 1);
      await waitFaultLog('latency', 'off', 'expired');
      assert.equal((await getFaults(base)).faults.latency, null);
      await gaugeIs('latency', 0);
    });
  });
}

for (const spec of apps) {
  describe(`${spec.language} app (${spec.service}) with OTLP and Pyroscope endpoints that drop every connection`, { timeout: 15 * 60_000 }, () => {
    let app: LaunchedApp | undefined;
    let dropper: ConnectionDropper | undefined;
    let base = '';
    const diag = (): string => `--- ${spec.service} output (tail) ---\n${app ? tail(app.output(), 6000) : '(not started)'}`;
    before(async () => {
      await spec.prepare();
      dropper = await startConnectionDropper();
      const port = await freePort();
      base = `http://127.0.0.1:${port}`;
      app = await launchApp(spec.launch({ port, otlpUrl: dropper.url, pyroscopeUrl: dropper.url }));
    }, { timeout: 15 * 60_000 });
    after(async () => { await app?.stop(); await dropper?.close(); });

    it('starts and serves every route without waiting on the exporters', { timeout: 5 * 60_000 }, (t) => withDiagnostics(diag, async () => {
      const slowHello: number[] = [];
      let maxHello = 0;
      // One round per export attempt the app makes, until its exporters have tried (and failed) several times.
      let rounds = 0;
      while (rounds < 6) {
        rounds++;
        const attempts = dropper!.attempts();
        const hello = await get(base, '/hello');
        assert.equal(hello.status, 200);
        assert.match(hello.text, /Hello World/);
        if (hello.ms >= 1000) slowHello.push(hello.ms);
        maxHello = Math.max(maxHello, hello.ms);
        const slow = await get(base, '/slow?iterations=1');
        assert.equal(slow.status, 200, slow.text);
        const alloc = await get(base, '/alloc');
        assert.equal(alloc.status, 200, alloc.text);
        const h = await get(base, '/healthz');
        assert.equal(h.status, 200);
        await waitFor(`an export attempt after round ${rounds}`, () => dropper!.attempts() > attempts || undefined, 60_000, 100);
      }
      t.diagnostic(`${spec.service}: ${rounds} rounds, ${dropper!.attempts()} export connections dropped, slowest /hello ${maxHello.toFixed(0)} ms`);
      assert.deepEqual(slowHello, [], '/hello answered in under 1 s every time (no blocking on exporters)');
    }));

    it('the dependency fault needs a next service: without NEXT_SERVICE_URL it is a 400 that changes nothing', { timeout: 60_000 }, () => withDiagnostics(diag, async () => {
      const before = await getFaults(base);
      const r = await postFault(base, { fault: 'dependency' });
      assert.equal(r.status, 400, r.text);
      assert.equal(typeof (r.json as { error?: unknown } | undefined)?.error, 'string', r.text);
      assert.deepEqual(await getFaults(base), before);
    }));
  });
}

for (const spec of apps) {
  describe(`${spec.language} app (${spec.service}) with its traffic generator on`, { timeout: 15 * 60_000 }, () => {
    let otlp: OtlpReceiver | undefined;
    let prof: ProfileReceiver | undefined;
    let app: LaunchedApp | undefined;
    const diag = (): string => [otlp?.summary() ?? 'no OTLP receiver', `--- ${spec.service} output (tail) ---\n${app ? tail(app.output(), 6000) : '(not started)'}`].join('\n');
    before(async () => {
      await spec.prepare();
      otlp = await startOtlpReceiver();
      prof = await startProfileReceiver();
      // Only /slow, one at a time: the generator's own requests are all this app serves.
      app = await launchApp(spec.launch({
        port: await freePort(), otlpUrl: otlp.url, pyroscopeUrl: prof.url,
        env: { TRAFFIC_GENERATOR: 'on', TRAFFIC_MIX: 'slow=1', TRAFFIC_RPS: '1', TRAFFIC_CONCURRENCY: '1' },
      }));
    }, { timeout: 15 * 60_000 });
    after(async () => {
      await app?.stop();
      await otlp?.close();
      await prof?.close();
    });

    it('a generated /slow trace starts at the app\'s SERVER span with http.route=/slow, as a real caller\'s does', { timeout: 5 * 60_000 }, () => withDiagnostics(diag, async () => {
      const server = await waitFor('a generated /slow server span', () => otlp!.spans().find((s) => s.resource['service.name'] === spec.service && s.kind === SPAN_KIND_SERVER && servesRoute(s, '/slow')), 120_000, 500);
      const root = await waitFor(`the root span of trace ${server.traceId}`, () => otlp!.spans().find((s) => s.traceId === server.traceId && s.parentSpanId === ''), 60_000, 500);
      assert.equal(root.kind, SPAN_KIND_SERVER, `the root is ${root.name} of kind ${root.kind}, not the SERVER span ${server.name}`);
      assert.equal(root.attributes['http.route'], '/slow', `root ${root.name}: http.route`);
      assert.equal(root.spanId, server.spanId);
    }));
  });
}

const chain = CHAIN_ORDER.map((l) => apps.find((a) => a.language === l)).filter((a): a is AppSpec => a !== undefined);
// With one app there is no hop to follow: a skip that says so, not a pass.
const noChain = chain.length < 2 && `needs at least two apps, LGTMP_APPS selects ${chain.map((c) => c.language).join(', ')}`;

describe('one trace across the chain of apps', { timeout: 40 * 60_000, skip: noChain }, () => {
  let otlp: OtlpReceiver | undefined;
  let prof: ProfileReceiver | undefined;
  const launched: { spec: AppSpec; app: LaunchedApp; base: string }[] = [];
  const diag = (): string => [
    otlp?.summary() ?? '',
    ...launched.map((l) => `--- ${l.spec.service} output (tail) ---\n${tail(l.app.output(), 3000)}`),
  ].join('\n');

  before(async () => {
    otlp = await startOtlpReceiver();
    prof = await startProfileReceiver();
    const ports = await Promise.all(chain.map(() => freePort()));
    // Start from the end of the chain so every NEXT_SERVICE_URL answers when its caller starts.
    for (let i = chain.length - 1; i >= 0; i--) {
      const spec = chain[i]!;
      await spec.prepare();
      const next = i + 1 < chain.length ? `http://127.0.0.1:${ports[i + 1]}` : undefined;
      const app = await launchApp(spec.launch({ port: ports[i]!, otlpUrl: otlp.url, pyroscopeUrl: prof.url, ...(next ? { nextServiceUrl: next } : {}) }));
      launched.unshift({ spec, app, base: `http://127.0.0.1:${ports[i]}` });
    }
  }, { timeout: 30 * 60_000 });
  after(async () => {
    for (const l of launched) await l.app.stop();
    await otlp?.close();
    await prof?.close();
  });

  it(`/chain on ${chain[0]?.service ?? '(none)'} is one trace through ${chain.map((c) => c.service).join(' -> ')}`, { timeout: 5 * 60_000 }, () => withDiagnostics(diag, async () => {
    const t0 = nowNs() - 1_000_000_000n;
    const first = launched[0]!;
    const r = await get(first.base, '/chain');
    assert.equal(r.status, 200, r.text);
    const entry = await waitFor(`the /chain server span of ${first.spec.service}`, () => otlp!.spans().find((s) => s.resource['service.name'] === first.spec.service && s.kind === SPAN_KIND_SERVER && servesRoute(s, '/chain') && s.startTimeUnixNano >= t0), 60_000);
    assert.equal(entry.parentSpanId, '', 'the first service starts the trace');
    const traceId = entry.traceId;
    const inTrace = (): ReceivedSpan[] => otlp!.spans().filter((s) => s.traceId === traceId);
    const servers = await waitFor('a server span from every service in the trace', () => {
      const found = chain.map((c) => inTrace().find((s) => s.resource['service.name'] === c.service && s.kind === SPAN_KIND_SERVER && servesRoute(s, '/chain')));
      return found.every((s) => s !== undefined) ? (found as ReceivedSpan[]) : undefined;
    }, 90_000, 1000);
    for (let i = 1; i < servers.length; i++) {
      const parent = inTrace().find((s) => s.spanId === servers[i]!.parentSpanId);
      assert.ok(parent, `${chain[i]!.service}'s server span has its parent in the trace`);
      assert.equal(parent.resource['service.name'], chain[i - 1]!.service, `${chain[i]!.service} is called by ${chain[i - 1]!.service}`);
    }
    const otherTraces = otlp!.spans().filter((s) => s.kind === SPAN_KIND_SERVER && servesRoute(s, '/chain') && s.startTimeUnixNano >= t0 && s.traceId !== traceId);
    assert.deepEqual(otherTraces.map((s) => `${String(s.resource['service.name'])}:${s.traceId}`), [], 'no /chain server span outside the one trace');
  }));
});
