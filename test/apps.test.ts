// The one integration test that every demo app goes through: each app in test/apps/index.ts is started as a user
// would start it, with its OTLP endpoint at an in-process receiver that forwards metrics to a real Prometheus, and
// its Pyroscope address at an in-process ingest receiver. Every assertion is on the data that arrived.
// LGTMP_APPS=go,java limits the run to those languages.
import { after, before, describe, it, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parse as parseYaml } from 'yaml';
import { CHAIN, findService } from '../src/facts.js';
import { allApps, selectedApps } from './apps/index.js';
import { SPAN_PROFILE_TYPE, type AppSpec } from './harness/app-spec.js';
import { startAppWithPeers, type AppWithPeers } from './harness/app-with-peers.js';
import { repoRoot, tail } from './harness/cache.js';
import { freePort, launchApp, waitFor, type LaunchedApp } from './harness/launcher.js';
import { servesRoute, SPAN_KIND_SERVER, startOtlpReceiver, type OtlpReceiver, type ReceivedLog, type ReceivedSpan } from './harness/otlp-receiver.js';
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

    before(async () => {
      peers = await startAppWithPeers(spec);
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
      // Two rounds of traffic more than an export interval apart, so rate() sees increases on every series.
      for (let round = 0; round < 2; round++) {
        for (const p of ['/hello', '/hello', '/slow?iterations=1', '/hello?fail=true']) await get(base, p);
        await sleep(4000);
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
        await sleep(500);
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
  });
}

for (const spec of apps) {
  describe(`${spec.language} app (${spec.service}) with unreachable OTLP and Pyroscope endpoints`, { timeout: 15 * 60_000 }, () => {
    let app: LaunchedApp | undefined;
    let base = '';
    const diag = (): string => `--- ${spec.service} output (tail) ---\n${app ? tail(app.output(), 6000) : '(not started)'}`;
    before(async () => {
      await spec.prepare();
      const closed = `http://127.0.0.1:${await freePort()}`; // nothing listens there
      const port = await freePort();
      base = `http://127.0.0.1:${port}`;
      app = await launchApp(spec.launch({ port, otlpUrl: closed, pyroscopeUrl: closed }));
    }, { timeout: 15 * 60_000 });
    after(async () => { await app?.stop(); });

    it('starts and serves every route without waiting on the exporters', { timeout: 5 * 60_000 }, (t) => withDiagnostics(diag, async () => {
      const slowHello: number[] = [];
      let maxHello = 0;
      const deadline = Date.now() + 8000; // spans several export intervals
      let rounds = 0;
      while (Date.now() < deadline || rounds < 3) {
        rounds++;
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
        await sleep(500);
      }
      t.diagnostic(`${spec.service}: ${rounds} rounds, slowest /hello ${maxHello.toFixed(0)} ms with unreachable endpoints`);
      assert.deepEqual(slowHello, [], '/hello answered in under 1 s every time (no blocking on exporters)');
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
