// `lgtmp tour`: the steps of every tour on the real responses of Loki 3.7.6, Tempo 3.0.3 and
// Pyroscope 2.2.1 recorded in test/fixtures/recorded (replayed by test/verify/fixture-server.ts),
// the slow tour's flame graph against a Pyroscope that has the span's profile only after a delay,
// the table of symptoms and the command line. The Prometheus side of every tour, with the real
// apps' fault switches on and off, is in tour-peer.test.ts.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';

import { parseTourArgs } from '../src/commands/tour.js';
import { repoRoot } from '../src/project.js';
import { createContext } from '../src/verify/run.js';
import { PROFILE_UPLOAD_MS, tellStory } from '../src/verify/tour.js';
import { errorSpans, logLines, replayClock, traceOfLine, traceSearch, type Walk } from '../src/verify/tour-steps.js';
import { SYMPTOMS, TOUR_NAMES } from '../src/verify/tour-symptoms.js';
import { logql } from '../dashboards/queries.js';
import { freePort } from './harness/launcher.js';
import { fixtureIds, loadFixtures, RECORDED_END_SEC, serveFixtureStack, type FixtureStack } from './verify/fixture-server.js';

const NOW_MS = RECORDED_END_SEC * 1000;
const ids = fixtureIds();
const WINDOW_MS = 30 * 60_000;

/** A walk over the recordings: the switch "went on" at the start of the recorded window. */
async function walkOn(stack: FixtureStack, o: Partial<Walk> = {}): Promise<Walk> {
  const { ctx } = await createContext({ direct: true, ...stack.urls, nowMs: NOW_MS });
  const clock = replayClock(NOW_MS);
  return { ctx, svc: 'demo-app', route: '/hello', sinceMs: NOW_MS - WINDOW_MS, clock, onWait: () => {}, deadlineMs: clock.now(), profileDelayMs: 0, ...o };
}

describe('tour steps on the recorded responses', () => {
  let stack: FixtureStack;
  before(async () => {
    stack = await serveFixtureStack();
  });
  after(async () => stack.close());

  it('slow: log line -> trace 980a… -> slow_business_logic -> its flame graph (checkEmail), each with its Grafana link', async () => {
    const { ctx } = await createContext({ direct: true, ...stack.urls, nowMs: NOW_MS });
    const story = await tellStory(ctx, 'demo-app');
    assert.ok(story.ok, JSON.stringify(story.steps, null, 2));
    assert.deepEqual(story.steps.map((s) => s.title.split(' (')[0]), ['The log line', 'Its trace', 'The span that dominates it', 'Its flame graph']);
    assert.match(story.steps[0]!.lines[0]!, new RegExp(`route=/slow .* trace_id=${ids.slow}`));
    assert.match(story.steps[1]!.lines[0]!, new RegExp(`^${ids.slow}: GET /slow \\(demo-app\\), 4\\.00 s, 2 spans`));
    assert.match(story.steps[2]!.lines[0]!, /^slow_business_logic: 4\.00 s/);
    assert.match(story.steps[3]!.lines[0]!, /100%\s+checkEmail/);
    assert.match(story.steps[3]!.lines.at(-1)!, /^regex work .*: 100% of the span's CPU/);
    for (const st of story.steps) assert.ok(st.link?.includes('/explore?'), st.title);
  });

  it('errors: the seed\'s `|= "error"` lines since the switch, then the line\'s trace (not in the recorded Tempo: said so)', async () => {
    const w = await walkOn(stack);
    const lines = await logLines((svc) => logql.errorLogs.replaceAll('$service', svc), 'The error log lines')(w);
    assert.ok(lines.ok, JSON.stringify(lines));
    assert.equal(lines.title, 'The error log lines (Loki: {job="demo-app"} |= "error")');
    const recorded = loadFixtures().find((f) => f.file === 'loki/query-range-line-error.json')!.response as { data: { result: Array<{ values: unknown[] }> } };
    const n = recorded.data.result.reduce((a, s) => a + s.values.length, 0);
    assert.match(lines.lines[0]!, new RegExp(`^${n === 10 ? 'the newest 10' : n} lines since the switch`));
    assert.ok(w.entry, 'the newest line is kept for the next step');
    const trace = await traceOfLine(w);
    assert.equal(trace.ok, false);
    assert.match(trace.lines[0]!, /^trace [0-9a-f]{32} is not in Tempo/);
  });

  it('errors / dependency: the failed spans of a trace, named with their service and status code; none failed is said', async () => {
    const w = await walkOn(stack);
    const { TempoClient } = await import('../src/verify/tempo.js');
    w.trace = (await new TempoClient(stack.tempo.url).trace(ids.chain))!;
    const st = await errorSpans(w);
    // the recorded /chain trace has no error span: the step says so instead of inventing one
    assert.equal(st.ok, false);
    assert.match(st.lines[0]!, /^none of the trace's \d+ spans has status ERROR/);
    const failed = structuredClone(w.trace);
    const client = failed.spans.find((s) => s.kind.includes('CLIENT'))!;
    client.statusCode = 'STATUS_CODE_ERROR';
    w.trace = failed;
    const st2 = await errorSpans(w);
    assert.ok(st2.ok);
    assert.equal(st2.lines.length, 1);
    assert.match(st2.lines[0]!, new RegExp(`^${client.serviceName}: ${client.name} \\[client\\]`));
    assert.ok(st2.link?.includes(client.spanId), 'the link opens the failed span');
  });

  it('dependency / timeout: a TraceQL search since the switch opens the newest trace and the matched span', async () => {
    const w = await walkOn(stack);
    const st = await traceSearch((svc) => `{ resource.service.name="${svc}" && name="GET /slow" }`, 'Its slowest requests')(w);
    assert.ok(st.ok, JSON.stringify(st));
    assert.match(st.lines[0]!, /^\d+\+? traces since the switch/);
    assert.match(st.lines[1]!, /^the newest: [0-9a-f]{32}, GET \/slow \(demo-app\)/);
    assert.equal(w.span?.name, 'GET /slow');
    const none = await traceSearch(() => '{ status = error }', 'Its failing calls')(await walkOn(stack));
    assert.equal(none.ok, false, 'the recorded `{ status = error }` search found no trace');
    assert.match(none.lines[0]!, /^no trace matches since the switch/);
  });

  it('cpu: the recorded CPU flame graph, asked for the fault\'s hot loop: no burnCPU frame in it, and the step says so with the real top frames', async () => {
    const w = await walkOn(stack);
    const st = await SYMPTOMS.cpu.steps[0]!(w);
    assert.equal(st.ok, false);
    assert.match(st.title, /^CPU \(Pyroscope: process_cpu:cpu:nanoseconds:cpu:nanoseconds, \{service_name="demo-app"\}, since the switch\)/);
    assert.match(st.lines.join('\n'), /the injected hot loop \(burnCPU\): 0\.0% of it/);
    assert.match(st.lines.join('\n'), /no frame matches burnCPU/);
  });

  it('leak: the in-use profile type is chosen among each service\'s own recorded types (Go and Node file it under different ids; Java sends none)', async () => {
    // the four apps' series were recorded over this quarter hour
    const series = loadFixtures().find((f) => f.file === 'pyroscope/apps-series-demo-app.json')!.request.body as { start: number; end: number };
    const asked = (svc: string) =>
      stack.pyroscope.requests.filter((r) => r.path.endsWith('/SelectMergeStacktraces') && (r.body as { start: number }).start >= series.start && (r.body as { label_selector?: string }).label_selector === `{service_name="${svc}"}`).map((r) => (r.body as { profile_typeID: string }).profile_typeID);
    const inUse = SYMPTOMS.leak.steps[0]!;
    for (const [svc, id] of [['demo-app', 'memory:inuse_space:bytes:space:bytes'], ['python-demo-app', 'memory:inuse_space:bytes:space:bytes'], ['node-demo-app', 'memory:inuse_space:bytes:inuse_space:bytes']] as const) {
      const w = await walkOn(stack, { svc, sinceMs: series.start, clock: replayClock(series.end) });
      const st = await inUse(w);
      // the flame graphs of that quarter hour were not recorded: the step says what Pyroscope answered
      assert.equal(st.ok, false);
      assert.match(st.lines[0]!, /answered HTTP 404/);
      assert.deepEqual(asked(svc), [id], svc);
    }
    const java = await inUse(await walkOn(stack, { svc: 'java-demo-app', sinceMs: series.start, clock: replayClock(series.end) }));
    assert.equal(java.lines[0], 'java-demo-app sends no memory:inuse_space profile (its types: memory:alloc_in_new_tlab_bytes:bytes:space:bytes, memory:alloc_in_new_tlab_objects:count:space:bytes, process_cpu:cpu:nanoseconds:cpu:nanoseconds)');
  });
});

describe('tour slow: the flame graph of a span whose profile is not uploaded yet', () => {
  let stack: FixtureStack;
  let proxy: { url: string; close: () => Promise<void>; answered: string[] };
  /** The span's profile arrives at Pyroscope this long after the proxy starts. */
  const DELAY_MS = 4000;
  before(async () => {
    stack = await serveFixtureStack();
    // Pyroscope as it is while the span's profile is still on its way: the span selector finds
    // nothing (the recorded answer for an unknown span) until DELAY_MS, then the recorded profile.
    const empty = JSON.stringify(loadFixtures().find((f) => f.file === 'pyroscope/merge-span-profile-unknown.json')!.response);
    const t0 = Date.now();
    const answered: string[] = [];
    const server = createServer(async (req, res) => {
      const chunks: Buffer[] = [];
      for await (const c of req) chunks.push(c as Buffer);
      const body = Buffer.concat(chunks);
      if (req.url?.endsWith('/SelectMergeSpanProfile') && Date.now() - t0 < DELAY_MS) {
        answered.push('empty');
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(empty);
        return;
      }
      const up = await fetch(stack.pyroscope.url + req.url, { method: req.method, headers: { 'content-type': 'application/json' }, body: body.length ? body : undefined });
      if (req.url?.endsWith('/SelectMergeSpanProfile')) answered.push('recorded');
      res.writeHead(up.status, { 'content-type': up.headers.get('content-type') ?? 'application/json' });
      res.end(Buffer.from(await up.arrayBuffer()));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    proxy = { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, answered, close: () => new Promise<void>((r) => server.close(() => r())) };
  });
  after(async () => {
    await proxy?.close();
    await stack?.close();
  });

  it('started a second after the request, it counts down to the upload, asks again while the answer is empty, and shows the flame graph', async () => {
    const line = loadFixtures().find((f) => f.file === 'loki/query-range-json-route-slow.json')!.response as { data: { result: Array<{ values: Array<[string, string]> }> } };
    const slowTs = line.data.result.flatMap((s) => s.values).find(([, l]) => l.includes(ids.slow))!;
    // "now" is one second after the recorded /slow request was logged, as when a person runs the tour right after it
    const nowMs = Number(BigInt(slowTs[0]) / 1_000_000n) + 1000;
    const { ctx } = await createContext({ direct: true, ...stack.urls, pyroscopeUrl: proxy.url, nowMs, sinceMs: 60_000 });
    const waits: Array<{ what: string; leftMs: number }> = [];
    const story = await tellStory(ctx, 'demo-app', { clock: replayClock(nowMs), profileDelayMs: 2000, deadlineMs: 30_000, onWait: (what, leftMs) => waits.push({ what, leftMs }) });
    assert.ok(story.ok, JSON.stringify(story.steps, null, 2));
    assert.match(story.steps[3]!.lines.join('\n'), /100%\s+checkEmail/);
    assert.match(story.steps[3]!.lines[0]!, /^\(arrived after \d+ asks\)$/);
    // the countdown to the upload, then the countdown while Pyroscope has nothing yet
    assert.ok(waits.some((w) => /^the profile of span 67a6a07b8ff4b5f3 to be uploaded and ingested$/.test(w.what) && w.leftMs > 0), JSON.stringify(waits));
    assert.ok(waits.some((w) => /^the profile of span 67a6a07b8ff4b5f3 in Pyroscope$/.test(w.what)), JSON.stringify(waits));
    assert.ok(proxy.answered.includes('empty') && proxy.answered.at(-1) === 'recorded', proxy.answered.join(','));
  });

  it('prefers a line whose span is older than the upload interval plus ingest over a newer one', async () => {
    // every recorded /slow line is old by now; only the one with the recorded trace is followed
    const { ctx } = await createContext({ direct: true, ...stack.urls, nowMs: NOW_MS });
    const w = await walkOn(stack, { ctx, sinceMs: ctx.window.startMs, profileDelayMs: 25_000 });
    const st = await SYMPTOMS.slow.steps[0]!(w);
    assert.ok(st.ok);
    assert.equal(w.trace?.traceId, ids.slow);
  });
});

describe('the table of tours and the command line', () => {
  it('has one row per symptom of the seed\'s map, each with its switch, measures and steps', () => {
    assert.deepEqual([...TOUR_NAMES], ['slow', 'errors', 'leak', 'cpu', 'dependency', 'timeout']);
    for (const n of TOUR_NAMES) {
      const s = SYMPTOMS[n];
      assert.equal(s.name, n);
      assert.ok(s.measures.length > 0 && s.steps.length > 0, n);
      assert.match(s.switch.curlOn('http://127.0.0.1:8080'), /^curl -X POST '?http:\/\/127\.0\.0\.1:8080\/admin\//, n);
    }
    assert.equal(SYMPTOMS.errors.switch.curlOn('http://127.0.0.1:8080'), `curl -X POST http://127.0.0.1:8080/admin/faults -H 'content-type: application/json' -d '{"fault":"errors","route":"/hello","ratio":0.5}'`);
  });

  it('README\'s troubleshooting map has a row per tour with the tour\'s command and the exact curl of its switch', () => {
    const readme = readFileSync(join(repoRoot, 'README.md'), 'utf8');
    const map = readme.slice(readme.indexOf('### The troubleshooting map'), readme.indexOf('## Prove it'));
    const rows = map.split('\n').filter((l) => l.startsWith('| ') && !l.startsWith('| symptom') && !l.startsWith('|---'));
    assert.equal(rows.length, TOUR_NAMES.length, map);
    for (const [i, n] of TOUR_NAMES.entries()) {
      const cells = rows[i]!.split(' | ');
      assert.equal(cells[2], `\`lgtmp tour ${n}\``, rows[i]);
      assert.equal(cells.at(-1), `\`${SYMPTOMS[n].switch.curlOn('http://localhost:8080')}\` |`, rows[i]);
    }
  });

  it('waits for a span\'s profile as long as each app\'s profiler takes to upload (the apps\' own defaults)', () => {
    const read = (f: string) => readFileSync(join(repoRoot, f), 'utf8');
    const sources: Record<string, [string, RegExp]> = {
      'demo-app': ['apps/go/telemetry.go', /uploadRate := (\d+) \* time\.Second/],
      'node-demo-app': ['apps/node/src/telemetry/bootstrap.ts', /flushIntervalMs: .*\? (\d+)_000 :/],
      'python-demo-app': ['apps/python/lgtmp-pyroscope/lgtmp_pyroscope/__init__.py', /_number\("PYROSCOPE_UPLOAD_INTERVAL", (\d+),/],
      // the Java agent's own default, which the app keeps (its README says so)
      'java-demo-app': ['apps/java/README.md', /every `PYROSCOPE_UPLOAD_INTERVAL` \((\d+) s by/],
    };
    for (const [svc, [file, re]] of Object.entries(sources)) {
      const m = re.exec(read(file));
      assert.ok(m, `${file}: ${re}`);
      assert.equal(PROFILE_UPLOAD_MS[svc], Number(m[1]) * 1000, svc);
    }
  });

  it('the CLI prints each step as it happens and exits 1 when the app does not answer its switch; --json gives the same report', async () => {
    const stack = await serveFixtureStack();
    try {
      const closed = `http://127.0.0.1:${await freePort()}`;
      const cli = join(repoRoot, 'dist', 'src', 'cli.js');
      const args = ['tour', 'errors', '--direct', '--app-url', `demo-app=${closed}`, '--loki-url', stack.urls.lokiUrl, '--tempo-url', stack.urls.tempoUrl, '--prometheus-url', stack.urls.prometheusUrl, '--pyroscope-url', stack.urls.pyroscopeUrl];
      const fail = (e: unknown) => e as { code: number; stdout: string };
      const text = await promisify(execFile)(process.execPath, [cli, ...args]).then(() => assert.fail('expected exit 1'), fail);
      assert.equal(text.code, 1);
      assert.match(text.stdout, /^lgtmp tour errors: why do requests fail\? \(demo-app; the seed's map: Loki \+ Tempo\)\n\n1\. The switch: errors route=\/hello ratio=0\.5 in demo-app {2}\[not shown\]\n {3}demo-app not reachable at http:\/\/127\.0\.0\.1:\d+ /);
      const json = await promisify(execFile)(process.execPath, [cli, ...args, '--json']).then(() => assert.fail('expected exit 1'), fail);
      const report = JSON.parse(json.stdout) as { tour: string; service: string; ok: boolean; steps: Array<{ title: string; ok: boolean }> };
      assert.deepEqual([report.tour, report.service, report.ok, report.steps.length, report.steps[0]!.ok], ['errors', 'demo-app', false, 1, false]);
    } finally {
      await stack.close();
    }
  });

  it('answers bad usage with an error (exit 2 through parseOrExit) and takes --keep, --no-fix, --wait, --deadline', () => {
    assert.throws(() => parseTourArgs([]), /which tour\? \(tours: slow, errors, leak, cpu, dependency, timeout\)/);
    assert.throws(() => parseTourArgs(['memory']), /<tour> "memory" is not a known tour: use one of slow, errors/);
    assert.throws(() => parseTourArgs(['errors', 'cpu']), /one tour at a time/);
    assert.throws(() => parseTourArgs(['errors', '--revert']), /--revert is for tour slow/);
    assert.throws(() => parseTourArgs(['errors', '--keep', '--no-fix']), /choose one/);
    assert.throws(() => parseTourArgs(['errors', '--wait', '10s']), /at least 30s/);
    assert.throws(() => parseTourArgs(['errors', '--deadline', 'soon']), /--deadline "soon" is not a duration/);
    assert.throws(() => parseTourArgs(['errors', '--service', 'nope']), /--service "nope" is not a known app/);
    assert.throws(() => parseTourArgs(['dependency', '--service', 'python-demo-app']), /python-demo-app calls no next service/);
    const a = parseTourArgs(['cpu', '--service', 'java-demo-app', '--keep', '--wait', '1m', '--deadline', '90s']);
    assert.deepEqual([a.tour, a.svc, a.keep, a.noFix, a.waitMs, a.deadlineMs], ['cpu', 'java-demo-app', true, false, 60_000, 90_000]);
  });
});
