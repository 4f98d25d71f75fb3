// `lgtmp verify` and `lgtmp tour slow` against the real API responses of Loki 3.7.6, Tempo 3.0.3,
// Pyroscope 2.2.1 and Prometheus 3 recorded in test/fixtures/recorded (replayed by
// test/verify/fixture-server.ts), failing variants derived from them, and the provisioning
// reader, Grafana's variable substitution and the Grafana-path URL building against stack/grafana.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';

import { parseTourArgs } from '../src/commands/tour.js';
import { seedProfileTypes, SERVICES, shellCheck, traceProfile, type CheckResult } from '../src/verify/checks.js';
import { grafanaProxyUrl, resolveEndpoints } from '../src/verify/config.js';
import { SPAN_LOGS_QUERY } from '../src/facts.js';
import { readEnv, repoRoot } from '../src/project.js';
import { exploreUrl } from '../src/verify/links.js';
import { traceIdOf, type LogEntry } from '../src/verify/loki.js';
import {
  expandEnv,
  findDatasource,
  grafanaDatasourceUrl,
  interpolateProvisioningValue,
  parseGrafanaDatasource,
  readProvisioningFile,
  referencedUids,
  tempoDerivedField,
  tracesToLogs,
  tracesToMetrics,
  tracesToProfiles,
} from '../src/verify/provisioning.js';
import { dsQueryBody, fromFlamebearer, fromNestedSetFrame, GrafanaPyroscopeClient, topSelfFrames, type FlameGraph } from '../src/verify/pyroscope.js';
import { lintProvisioning, spanTagVariables } from '../src/verify/lint.js';
import { renderTable } from '../src/verify/report.js';
import { createContext, DEFAULT_UIDS, defaultProvisioningFile, verify, type VerifyOptions } from '../src/verify/run.js';
import { formattedTags, spanVars, substitute, traceToLogsQuery, traceToMetricsQueries, traceToProfilesQuery } from '../src/verify/substitute.js';
import { profiledSpanOf, rootSpan, TempoClient, type Span } from '../src/verify/tempo.js';
import { traceByIdRange } from '../src/verify/trace-query.js';
import { dominatingSpan, tellStory } from '../src/verify/tour.js';
import { freePort } from './harness/launcher.js';
import { fixtureIds, loadFixtures, RECORDED_END_SEC, serveFixtureStack, type Fixture, type FixtureStack } from './verify/fixture-server.js';
import { provisioningVariant, tempoOf } from './verify/recorded-provisioning.js';

const NOW_MS = RECORDED_END_SEC * 1000;
/** Where the recordings of the project's own four apps end (their Pyroscope requests' `end`). */
const APPS_RECORDED_END_MS = 1796164149000;
const ids = fixtureIds();

/** The checks whose pass the recordings can prove for demo-app (see the two below for the rest). */
const PASSING_ON_FIXTURES = ['traces', 'logs->trace', 'trace->logs', 'trace->profile', 'exemplars', 'exemplar->trace', 'seed-logql', 'seed-promql'];

function byCheck(results: CheckResult[], svc = 'demo-app'): Record<string, CheckResult> {
  return Object.fromEntries(results.filter((r) => r.service === svc).map((r) => [r.check, r]));
}

async function runOn(stack: FixtureStack, extra: Partial<VerifyOptions> = {}): Promise<CheckResult[]> {
  return verify({ direct: true, ...stack.urls, nowMs: NOW_MS, services: ['demo-app'], provisioningFile: recorded.file, ...extra });
}

function show(results: CheckResult[]): string {
  return renderTable(results, { links: false, width: 160 });
}

/** The provisioning verify runs with on the recordings (see provisioningVariant). */
const recorded = provisioningVariant(() => {});
after(() => recorded.cleanup());

/** The recorded /slow trace's root span, as verify reads it from Tempo. */
async function recordedSlowRoot(stack: FixtureStack): Promise<Span> {
  const trace = await new TempoClient(stack.tempo.url).trace(ids.slow);
  assert.ok(trace, 'the recorded /slow trace');
  return trace.spans.find((s) => s.name === 'GET /slow')!;
}

describe('verify on the recorded responses', () => {
  let stack: FixtureStack;
  let baseline: CheckResult[];
  before(async () => {
    stack = await serveFixtureStack();
    baseline = await runOn(stack);
  });
  after(async () => stack.close());

  for (const name of PASSING_ON_FIXTURES) {
    it(`${name} passes for demo-app`, () => {
      const r = byCheck(baseline)[name];
      assert.ok(r, `${name} ran`);
      assert.equal(r.status, 'pass', show([r]));
      assert.ok(r.link.startsWith('http://127.0.0.1:3000/explore?'), r.link);
    });
  }

  it('follows the recorded story: log line -> trace 980a… -> span profile 67a6… -> checkEmail', () => {
    const r = byCheck(baseline);
    assert.match(r['logs->trace']!.evidence, new RegExp(`trace_id=${ids.slow}`));
    assert.ok(r['trace->logs']!.evidence.includes(`\`{job="demo-app"} |= "${ids.slow}"\``), r['trace->logs']!.evidence);
    assert.match(r['trace->profile']!.evidence, new RegExp(`pyroscope.profile.id=${ids.slow_profile_id}`));
    assert.match(r['trace->profile']!.evidence, /checkEmail 100%/);
    assert.match(r['exemplar->trace']!.evidence, /-> Tempo trace/);
    assert.match(r['seed-promql']!.evidence, /p95 \/slow 4\.75 s/);
  });

  it('node-demo-app, whose SDK records no exemplars: exemplars and exemplar->trace pass through Tempo\'s span metrics', async () => {
    const results = await runOn(stack, { services: ['node-demo-app'], checks: ['exemplars', 'exemplar->trace'] });
    const r = byCheck(results, 'node-demo-app');
    assert.equal(r['exemplars']!.status, 'pass', show(results));
    assert.match(r['exemplars']!.evidence, /^6 exemplars on 2 series of Tempo's span metrics \(node-demo-app itself records none: .*opentelemetry-js #2594\) with trace ids in label traceID/);
    assert.ok(decodeURIComponent(r['exemplars']!.link).includes('traces_spanmetrics_latency_bucket{service=\\"node-demo-app\\"}'), r['exemplars']!.link);
    assert.equal(r['exemplar->trace']!.status, 'pass', show(results));
    assert.match(r['exemplar->trace']!.evidence, new RegExp(`traceID=${ids.chain} \\(GET( /chain)?\\) -> Tempo trace, \\d+ spans \\(node-demo-app: GET /chain\\)`));
  });

  it('asks Loki for categorized labels and answers every request from a recording (unknown trace ids aside)', () => {
    const queries = stack.loki.requests.filter((r) => r.path === '/loki/api/v1/query_range');
    assert.ok(queries.length > 0);
    for (const r of queries) assert.equal(r.headers['x-loki-response-encoding-flags'], 'categorize-labels');
    // not recorded in this window: the provisioned span-metric queries (see verify-peer.test.ts) and the
    // per-service profile series (recorded from the four apps later, see seed-profiles below)
    const unanswered = [stack.loki, stack.prometheus, stack.pyroscope].flatMap((s) =>
      s.requests.filter((r) => !r.answeredWith && !/traces_spanmetrics_calls_total\{|traces_service_graph_request_total\[/.test(r.params['query'] ?? '') && !r.path.endsWith('/Series')),
    );
    assert.deepEqual(unanswered, [], 'requests without a recording (other than the provisioned span-metric queries and the series)');
    const tempoMisses = stack.tempo.requests.filter((r) => !r.answeredWith);
    assert.ok(tempoMisses.every((r) => r.path.startsWith('/api/v2/traces/')), JSON.stringify(tempoMisses));
  });

  it('trace->metrics: the provisioned span-metric queries are not in the recordings (proved on the Prometheus peer in verify-peer.test.ts)', () => {
    const r = byCheck(baseline)['trace->metrics']!;
    assert.equal(r.status, 'fail');
    assert.match(r.evidence, /answered HTTP 404 for \/api\/v1\/query/);
  });

  it('seed-profiles: each app\'s types are chosen among the ids of its own series (the four apps\' recorded Series), Go\'s heap being memory:inuse_space:bytes:space:bytes', async () => {
    const own = (svc: string) =>
      (loadFixtures().find((f) => f.file === `pyroscope/apps-series-${svc}.json`)!.response as { labelsSet: Array<{ labels: Array<{ name: string; value: string }> }> }).labelsSet.map(
        (x) => x.labels.find((l) => l.name === '__profile_type__')!.value,
      );
    const chosen = (svc: string) => seedProfileTypes(svc, own(svc)).map((c) => c.type?.id);
    assert.deepEqual(chosen('demo-app'), ['process_cpu:cpu:nanoseconds:cpu:nanoseconds', 'memory:alloc_space:bytes:space:bytes', 'memory:inuse_space:bytes:space:bytes']);
    for (const svc of ['java-demo-app', 'python-demo-app', 'node-demo-app']) assert.deepEqual(chosen(svc), ['process_cpu:cpu:nanoseconds:cpu:nanoseconds'], svc);
    // among every app's types (what verify did before), the first memory/inuse_space is node-demo-app's
    const all = (loadFixtures().find((f) => f.file === 'pyroscope/apps-profile-types.json')!.response as { profileTypes: Array<{ ID: string }> }).profileTypes.map((t) => t.ID);
    assert.equal(seedProfileTypes('demo-app', all)[2]!.type!.id, 'memory:inuse_space:bytes:inuse_space:bytes');
    assert.equal(seedProfileTypes('node-demo-app', ['wall:wall:nanoseconds:wall:nanoseconds'])[0]!.type, undefined, 'no CPU type: reported missing');

    // verify asks Pyroscope for each service's own series, in the window the four apps were recorded
    const results = await verify({ direct: true, ...stack.urls, nowMs: APPS_RECORDED_END_MS, sinceMs: 15 * 60_000, services: [...SERVICES], checks: ['seed-profiles'] });
    const series = stack.pyroscope.requests.filter((r) => r.path.endsWith('/Series') && (r.body as { start: number }).start === APPS_RECORDED_END_MS - 15 * 60_000);
    assert.deepEqual(series.map((r) => r.answeredWith).sort(), SERVICES.map((svc) => `pyroscope/apps-series-${svc}.json`).sort());
    // their flame graphs over that window were not recorded: the rows fail on that, not on a missing type
    for (const r of results) assert.match(r.evidence, /no recording for POST \/querier\.v1\.QuerierService\/SelectMergeStacktraces/, show([r]));
  });

  it('the CLI prints the table and exits 1 unless every check passes; 0 when the selected ones do', async () => {
    const cli = join(repoRoot, 'dist', 'src', 'cli.js');
    const args = ['verify', '--direct', '--now', String(RECORDED_END_SEC), '--service', 'demo-app', '--provisioning', recorded.file, '--loki-url', stack.urls.lokiUrl, '--tempo-url', stack.urls.tempoUrl, '--prometheus-url', stack.urls.prometheusUrl, '--pyroscope-url', stack.urls.pyroscopeUrl];
    const all = await promisify(execFile)(process.execPath, [cli, ...args]).then(
      () => assert.fail('expected exit 1'),
      (e: { code: number; stdout: string }) => e,
    );
    assert.equal(all.code, 1);
    assert.match(all.stdout, /^CHECK\s+SERVICE\s+RESULT\s+EVIDENCE/);
    assert.match(all.stdout, /9 passed, 3 failed, 0 not reachable/);
    assert.match(all.stdout, /\[1\] http:\/\/127\.0\.0\.1:3000\/explore\?/);
    const some = await promisify(execFile)(process.execPath, [cli, ...args, '--check', 'traces,logs->trace,trace->profile', '--json']);
    const json = JSON.parse(some.stdout) as { summary: { ok: boolean; pass: number }; results: CheckResult[] };
    assert.equal(json.summary.ok, true);
    assert.deepEqual(json.results.map((r) => r.check), ['traces', 'logs->trace', 'trace->profile']);
  });

  it('--services lists every service the stack has seen, and where (Tempo, Loki, Mimir\'s target_info, Pyroscope)', async () => {
    const cli = join(repoRoot, 'dist', 'src', 'cli.js');
    const args = ['verify', '--direct', '--services', '--now', String(RECORDED_END_SEC), '--loki-url', stack.urls.lokiUrl, '--tempo-url', stack.urls.tempoUrl, '--prometheus-url', stack.urls.prometheusUrl, '--pyroscope-url', stack.urls.pyroscopeUrl];
    const { stdout } = await promisify(execFile)(process.execPath, [cli, ...args]);
    const rows = stdout.trim().split('\n').map((l) => l.split(/\s+/));
    assert.deepEqual(rows[0], ['SERVICE', 'TEMPO', 'LOKI', 'MIMIR', 'PYROSCOPE']);
    const row = (svc: string) => rows.find((r) => r[0] === svc)?.slice(1);
    assert.deepEqual(row('demo-app'), ['yes', 'yes', 'yes', 'yes']);
    for (const svc of ['java-demo-app', 'python-demo-app', 'node-demo-app']) assert.deepEqual(row(svc), ['yes', 'yes', 'yes', '-'], svc);
    assert.deepEqual(row('pyrotest'), ['-', '-', '-', 'yes'], 'a profiler-only service is listed too');
    // a backend that does not answer is named, and the exit status says so
    const closed = `http://127.0.0.1:${await freePort()}`;
    const down = await promisify(execFile)(process.execPath, [cli, ...args.map((a) => (a === stack.urls.pyroscopeUrl ? closed : a))]).then(
      () => assert.fail('expected exit 1'),
      (e: { code: number; stdout: string }) => e,
    );
    assert.equal(down.code, 1);
    assert.match(down.stdout, /^pyroscope not asked: Pyroscope not reachable at http:\/\/127\.0\.0\.1:\d+\/querier\.v1\.QuerierService\/LabelValues: ECONNREFUSED$/m);
    await assert.rejects(promisify(execFile)(process.execPath, [cli, 'verify', '--services', '--service', 'demo-app']), (e: { code: number; stderr: string }) => e.code === 2 && /--services lists the services; it takes no --service or --check/.test(e.stderr));
  });

  it('--wait retries what does not pass, then gives up with the same verdict', async () => {
    let retries = 0;
    const t0 = Date.now();
    const results = await runOn(stack, { checks: ['seed-profiles', 'traces'], waitMs: 5_500, onRetry: () => retries++ });
    assert.ok(retries >= 1, 'retried');
    assert.ok(Date.now() - t0 >= 5_000);
    assert.deepEqual(results.map((r) => [r.check, r.status]), [['traces', 'pass'], ['seed-profiles', 'fail']]);
  });

  it('services without recordings fail on what the recordings lack, never pass by default', async () => {
    const results = await runOn(stack, { services: ['java-demo-app'], checks: ['traces'] });
    assert.equal(byCheck(results, 'java-demo-app')['traces']!.status, 'fail'); // no recorded search for java-demo-app
  });

  it('service-graph asks Mimir what Grafana\'s Service Graph asks: sum by (client, server) (rate(...[$__range])) at the end of the range (proved on the Prometheus peer in verify-peer.test.ts)', () => {
    const r = byCheck(baseline)['service-graph']!;
    assert.equal(r.status, 'fail', 'the recordings hold the bare counter only');
    const sent = stack.prometheus.requests.filter((x) => x.params['query']?.includes('traces_service_graph_request_total'));
    assert.ok(sent.length > 0);
    for (const x of sent) assert.deepEqual(x.params, { query: 'sum by (client, server) (rate(traces_service_graph_request_total[1800s]))', time: String(RECORDED_END_SEC) });
  });

  it('tour slow tells the recorded story', async () => {
    const { ctx } = await createContext({ direct: true, ...stack.urls, nowMs: NOW_MS });
    const story = await tellStory(ctx, 'demo-app');
    assert.ok(story.ok, JSON.stringify(story.steps, null, 2));
    assert.equal(story.steps.length, 4);
    assert.match(story.steps[0]!.lines[0]!, /route=\/slow .* trace_id=980aaed9f1f03d47f2c22c93ba681ea0/);
    assert.match(story.steps[1]!.lines[0]!, /^980aaed9f1f03d47f2c22c93ba681ea0: GET \/slow \(demo-app\), 4\.00 s, 2 spans/);
    assert.match(story.steps[2]!.lines[0]!, /^slow_business_logic: 4\.00 s/);
    assert.match(story.steps[3]!.lines[0]!, /100%\s+checkEmail/);
    for (const st of story.steps) assert.ok(st.link?.includes('/explore?'), st.title);
  });
});

describe('trace by id exactly as Grafana asks for it, and the provisioning lint (issue: the inverted traceQuery window)', () => {
  const traceRequests = (stack: FixtureStack, id: string) => stack.tempo.requests.filter((r) => r.path === `/api/v2/traces/${id}`);

  it('Grafana\'s makeTraceIdRequest arithmetic: start shift subtracted, end shift added, Unix seconds, none when off', () => {
    // the example of Grafana's own datasource test: 16:00-16:15 with 2m/4m -> 15:58-16:19
    const from = Date.UTC(2022, 8, 13, 16, 0, 0);
    const to = Date.UTC(2022, 8, 13, 16, 15, 0);
    assert.deepEqual(traceByIdRange({ timeShiftEnabled: true, spanStartTimeShift: '2m', spanEndTimeShift: '4m' }, { fromMs: from, toMs: to }), {
      startSec: Date.UTC(2022, 8, 13, 15, 58, 0) / 1000,
      endSec: Date.UTC(2022, 8, 13, 16, 19, 0) / 1000,
    });
    assert.deepEqual(traceByIdRange({ timeShiftEnabled: true }, { fromMs: from, toMs: to }), { startSec: from / 1000 - 1800, endSec: to / 1000 + 1800 }, 'unset: 30m each');
    assert.equal(traceByIdRange({ timeShiftEnabled: false, spanStartTimeShift: '2m' }, { fromMs: from, toMs: to }), undefined);
    assert.equal(traceByIdRange(undefined, { fromMs: from, toMs: to }), undefined);
  });

  it('the trace-by-id request for the recorded /slow trace carries the window Grafana computes: [from - 30m, to + 30m] of the 30-minute view', async () => {
    const stack = await serveFixtureStack();
    try {
      const r = byCheck(await runOn(stack, { checks: ['provisioning', 'logs->trace', 'exemplar->trace'] }));
      assert.equal(r['logs->trace']!.status, 'pass', show(Object.values(r)));
      assert.equal(r['exemplar->trace']!.status, 'pass', show(Object.values(r)));
      assert.equal(byCheck(await runOn(stack, { checks: ['provisioning'] }), 'stack')['provisioning']!.status, 'pass');
      for (const id of [ids.slow, ids.chain]) {
        const sent = traceRequests(stack, id);
        assert.ok(sent.length > 0, `verify fetched trace ${id}`);
        for (const req of sent) assert.deepEqual(req.params, { start: String(RECORDED_END_SEC - 3600), end: String(RECORDED_END_SEC + 1800) });
      }
    } finally {
      await stack.close();
    }
  });

  it('traceQuery.timeShiftEnabled off: the request has no bounds, as Grafana sends it', async () => {
    const p = provisioningVariant((doc) => (tempoOf(doc).jsonData['traceQuery'].timeShiftEnabled = false));
    const stack = await serveFixtureStack();
    try {
      const r = byCheck(await runOn(stack, { checks: ['logs->trace'], provisioningFile: p.file }));
      assert.equal(r['logs->trace']!.status, 'pass', show(Object.values(r)));
      assert.deepEqual(traceRequests(stack, ids.slow).map((x) => x.params), [{}]);
    } finally {
      await stack.close();
      p.cleanup();
    }
  });

  it('the old spanStartTimeShift "-30m": the lint fails naming traceQuery.spanStartTimeShift, the file and the fix; the links fail on the window Grafana would ask for', async () => {
    const p = provisioningVariant((doc) => (tempoOf(doc).jsonData['traceQuery'].spanStartTimeShift = '-30m'));
    const stack = await serveFixtureStack();
    try {
      const results = await runOn(stack, { checks: ['provisioning', 'logs->trace', 'exemplar->trace'], provisioningFile: p.file });
      const lint = byCheck(results, 'stack')['provisioning']!;
      assert.equal(lint.status, 'fail', show(results));
      assert.match(lint.evidence, /traceQuery\.spanStartTimeShift/);
      assert.ok(lint.cause!.startsWith(`${p.file}: datasource tempo jsonData.traceQuery.spanStartTimeShift is "-30m": Grafana SUBTRACTS it`), lint.cause);
      assert.match(lint.cause!, /fix: spanStartTimeShift: "30m"$/);
      const r = byCheck(results);
      for (const name of ['logs->trace', 'exemplar->trace']) {
        assert.equal(r[name]!.status, 'fail', show(results));
        assert.match(r[name]!.evidence, new RegExp(`lies outside the range Grafana asks Tempo for: start=${RECORDED_END_SEC} end=${RECORDED_END_SEC + 1800}`));
        assert.match(r[name]!.cause!, /traceQuery/);
      }
      // [from + 30m, to + 30m]: what Grafana sends with the old value
      for (const req of traceRequests(stack, ids.slow)) assert.deepEqual(req.params, { start: String(RECORDED_END_SEC), end: String(RECORDED_END_SEC + 1800) });
    } finally {
      await stack.close();
      p.cleanup();
    }
  });

  describe('lint findings name the key, the file and the fix', () => {
    const prov = readProvisioningFile(defaultProvisioningFile(), {});
    const sent = (loadFixtures().find((f) => f.file === 'pyroscope/apps-profile-types.json')!.response as { profileTypes: Array<{ ID: string }> }).profileTypes.map((t) => t.ID);
    let root: Span;
    let stack: FixtureStack;
    before(async () => {
      stack = await serveFixtureStack();
      root = await recordedSlowRoot(stack);
    });
    after(async () => stack.close());
    const lintOf = (edit: (doc: { datasources: Array<{ uid: string; jsonData: Record<string, any> }> }) => void, spans?: Array<{ service: string; span: Span }>) => {
      const p = provisioningVariant(edit);
      try {
        return lintProvisioning({ provisioning: readProvisioningFile(p.file, {}), raw: { file: p.file, text: readFileSync(p.file, 'utf8') }, sentProfileTypes: sent, spans });
      } finally {
        p.cleanup();
      }
    };

    it('the repository\'s provisioning: nothing, with the recorded profile types the four apps send and the recorded /slow span', () => {
      const file = defaultProvisioningFile();
      assert.deepEqual(lintProvisioning({ provisioning: prov, raw: { file, text: readFileSync(file, 'utf8') }, sentProfileTypes: sent, spans: [{ service: 'demo-app', span: root }] }), []);
    });

    it('a datasourceUid that names no provisioned datasource', () => {
      const f = lintOf((doc) => (tempoOf(doc).jsonData['tracesToLogsV2'].datasourceUid = 'logs'));
      assert.deepEqual(f.map((x) => x.key), ['tracesToLogsV2.datasourceUid']);
      assert.match(f[0]!.message, /datasources\.yaml: datasource tempo jsonData\.tracesToLogsV2\.datasourceUid is "logs", which names no provisioned datasource.*fix: one of mimir, loki, tempo, pyroscope$/);
    });

    it('a tracesToProfiles.profileTypeId no app sends (per the recorded profile types of the four apps)', () => {
      const f = lintOf((doc) => (tempoOf(doc).jsonData['tracesToProfiles'].profileTypeId = 'cpu:cpu:nanoseconds:cpu:nanoseconds'));
      assert.deepEqual(f.map((x) => x.key), ['tracesToProfiles.profileTypeId']);
      assert.match(f[0]!.message, /profileTypeId is "cpu:cpu:nanoseconds:cpu:nanoseconds", a type no app sends.*fix: one the apps send \(.*process_cpu:cpu:nanoseconds:cpu:nanoseconds/);
    });

    it('a ${__span.tags.X} the spans lack, and a dotted one Grafana reads as a nested path', () => {
      const noJob = { ...root, resource: Object.fromEntries(Object.entries(root.resource).filter(([k]) => k !== 'job')) };
      const f = lintOf((doc) => (tempoOf(doc).jsonData['tracesToLogsV2'].query = '{job="$${__span.tags.job}", svc="$${__span.tags.service.name}"} |= "$${__span.traceId}"'), [{ service: 'demo-app', span: noJob }]);
      assert.deepEqual(f.map((x) => x.key), ['tracesToLogsV2.query', 'tracesToLogsV2.query']);
      assert.match(f[0]!.message, /uses \$\{__span\.tags\.job\}, but spans of demo-app have no "job" attribute.*fix: /);
      assert.match(f[1]!.message, /uses \$\{__span\.tags\.service\.name\}: Grafana reads the dots as a nested path.*fix: \$\{__span\.tags\["service\.name"\]\}/);
      assert.deepEqual(spanTagVariables('${__span.tags["service.name"]} ${__span.tags.job}').map((v) => [v.tag, v.dotted]), [['service.name', false], ['job', false]]);
    });

    it('a single $ that Grafana\'s provisioning would expand', () => {
      const f = lintOf((doc) => (tempoOf(doc).jsonData['tracesToLogsV2'].query = '{job="${__span.tags.job}"} |= "$${__span.traceId}"'));
      assert.equal(f.length, 1, JSON.stringify(f));
      assert.equal(f[0]!.key, 'query');
      assert.match(f[0]!.message, /datasources\.yaml:\d+: query has a single "\$" before a Grafana variable .*fix: write "\$\$" there$/);
    });

    it('span-link shifts the wrong way round (Grafana adds both to the span\'s start and end)', () => {
      const f = lintOf((doc) => (tempoOf(doc).jsonData['tracesToLogsV2'].spanStartTimeShift = '5m'));
      assert.deepEqual(f.map((x) => x.key), ['tracesToLogsV2.spanStartTimeShift']);
      assert.match(f[0]!.message, /fix: spanStartTimeShift: "-5m"$/);
    });
  });
});

describe('trace->profile follows the SERVER span of /slow, never the traffic generator\'s CLIENT root (recorded java-demo-app trace)', () => {
  const JAVA_TRACE = 'a14a58eb0d79602cf3de84d43e74159d';
  const SERVER_PROFILE_ID = '6b53cf41e4d5ca35';
  const CLIENT_ROOT_PROFILE_ID = 'a74a73ed0ebfc9bd';
  /** Where the java-demo-app span-profile recordings end (their request's `end`). */
  const JAVA_RECORDED_END_MS = 1796164158000;
  const spanProfileRequests = (stack: FixtureStack) => stack.pyroscope.requests.filter((r) => r.path.endsWith('/SelectMergeSpanProfile'));

  async function traceOf(transform?: (f: Fixture) => Fixture | null) {
    const stack = await serveFixtureStack(transform);
    const trace = (await new TempoClient(stack.tempo.url).trace(JAVA_TRACE))!;
    const { ctx } = await createContext({ direct: true, ...stack.urls, nowMs: JAVA_RECORDED_END_MS, services: ['java-demo-app'] });
    return { stack, trace, ctx };
  }

  it('the recorded trace starts at the generator\'s CLIENT span; verify picks the SERVER span GET /slow and its flame graph is the regex work', async () => {
    const { stack, trace, ctx } = await traceOf();
    try {
      assert.equal(rootSpan(trace).name, 'GET');
      assert.equal(rootSpan(trace).kind, 'SPAN_KIND_CLIENT');
      const { server, clientRoot } = profiledSpanOf(trace, 'java-demo-app', '/slow');
      assert.deepEqual([server?.spanId, server?.name, server?.kind], [SERVER_PROFILE_ID, 'GET /slow', 'SPAN_KIND_SERVER']);
      assert.equal(clientRoot?.spanId, CLIENT_ROOT_PROFILE_ID);
      const out = { link: '' };
      const evidence = await traceProfile(ctx, 'java-demo-app', trace, out);
      assert.match(evidence, new RegExp(`^span GET /slow pyroscope.profile.id=${SERVER_PROFILE_ID} \\{service_name="java-demo-app"\\} process_cpu:cpu:nanoseconds:cpu:nanoseconds: total \\d+\\.\\d+ s; top self frames: .*regex work \\d+%$`));
      // the one request "Profiles for this span" sent: the server span's id, never the client root's
      assert.deepEqual(spanProfileRequests(stack).map((r) => [(r.body as { span_selector: string[] }).span_selector, r.answeredWith]), [[[SERVER_PROFILE_ID], 'pyroscope/merge-span-profile-java-server.json']]);
    } finally {
      await stack.close();
    }
  });

  it('a CLIENT root with an empty flame graph (no profiled SERVER span below it) gets its own cause', async () => {
    const { stack, trace, ctx } = await traceOf((f) => {
      if (f.file !== 'tempo/trace-v2-java-generator-slow.json') return f;
      const rs = (f.response as { trace: { resourceSpans: Array<{ scopeSpans: Array<{ spans: Array<{ kind: string; attributes: Array<{ key: string }> }> }> }> } }).trace.resourceSpans;
      for (const sp of rs.flatMap((r) => r.scopeSpans.flatMap((x) => x.spans))) if (sp.kind === 'SPAN_KIND_SERVER') sp.attributes = sp.attributes.filter((a) => a.key !== 'pyroscope.profile.id');
      return f;
    });
    try {
      await assert.rejects(traceProfile(ctx, 'java-demo-app', trace, { link: '' }), (err: { evidence: string; why: string }) => {
        assert.match(err.evidence, new RegExp(`root span GET pyroscope.profile.id=${CLIENT_ROOT_PROFILE_ID} .*\\(a CLIENT span\\): empty flame graph; no SERVER span of /slow with pyroscope.profile.id`));
        assert.match(err.why, /java-demo-app's own outgoing call \(its traffic generator's HTTP client.*only waits/);
        return true;
      });
      assert.deepEqual(spanProfileRequests(stack).map((r) => r.answeredWith), ['pyroscope/merge-span-profile-java-client-root.json']);
    } finally {
      await stack.close();
    }
  });
});

describe('verify fails the right check, with the right cause, on derived variants', () => {
  async function variant(transform: (f: Fixture) => Fixture | null, extra: Partial<VerifyOptions> = {}): Promise<Record<string, CheckResult>> {
    const stack = await serveFixtureStack(transform);
    try {
      return byCheck(await runOn(stack, extra), extra.services?.[0]);
    } finally {
      await stack.close();
    }
  }
  let baseline: Record<string, CheckResult>;
  before(async () => {
    baseline = await variant((f) => f);
  });
  const changed = (r: Record<string, CheckResult>) => Object.keys(r).filter((k) => r[k]!.status !== baseline[k]!.status).sort();

  it('no exemplars: exemplars and exemplar->trace fail naming max_global_exemplars_per_user', async () => {
    const r = await variant((f) => {
      if (f.file === 'prometheus/exemplars-http-duration.json') (f.response as { data: unknown[] }).data = [];
      return f;
    });
    assert.equal(r['exemplars']!.status, 'fail');
    assert.match(r['exemplars']!.evidence, /no exemplars/);
    assert.match(r['exemplars']!.cause!, /max_global_exemplars_per_user is 0/);
    assert.deepEqual(changed(r), ['exemplar->trace', 'exemplars']);
  });

  it('node-demo-app without span-metric exemplars: fails naming the metrics-generator, not the SDK', async () => {
    const r = await variant((f) => {
      if (f.file === 'prometheus/exemplars-spanmetrics.json') (f.response as { data: unknown[] }).data = [];
      return f;
    }, { services: ['node-demo-app'], checks: ['exemplars'] });
    assert.equal(r['exemplars']!.status, 'fail');
    assert.equal(r['exemplars']!.evidence, 'traces_spanmetrics_latency_bucket{service="node-demo-app"}: no exemplars in the window');
    assert.match(r['exemplars']!.cause!, /records no exemplars itself \(.*#2594\), and Tempo's span metrics have none for it either: is Tempo's metrics-generator/);
  });

  it('exemplars under another label than the provisioned destinations: named', async () => {
    const r = await variant((f) => {
      if (f.file === 'prometheus/exemplars-http-duration.json') {
        for (const s of (f.response as { data: Array<{ exemplars: Array<{ labels: Record<string, string> }> }> }).data) {
          for (const e of s.exemplars) e.labels = { traceid: e.labels['trace_id']! };
        }
      }
      return f;
    });
    assert.equal(r['exemplars']!.status, 'fail');
    assert.match(r['exemplars']!.cause!, /names traceID, trace_id but the exemplars carry traceid/);
  });

  it('missing job label: seed-logql fails naming Loki otlp_config', async () => {
    const r = await variant((f) => {
      if (f.file === 'loki/labels.json') (f.response as { data: string[] }).data = ['service_instance_id', 'service_name'];
      if (f.file === 'loki/label-job-values.json') return null;
      if (f.file.startsWith('loki/query-range-') && f.status === 200) (f.response as { data: { result: unknown[] } }).data.result = [];
      return f;
    });
    assert.equal(r['seed-logql']!.status, 'fail');
    assert.match(r['seed-logql']!.evidence, /\{job="demo-app"\}: no lines; Loki labels: service_instance_id, service_name/);
    assert.match(r['seed-logql']!.cause!, /no job label: Loki limits_config.otlp_config must index the resource attribute job/);
    assert.deepEqual(changed(r), ['logs->trace', 'seed-logql', 'trace->logs']);
  });

  it('empty flame graph: trace->profile fails naming the span id label', async () => {
    const empty = loadFixtures().find((f) => f.file === 'pyroscope/merge-span-profile-unknown.json')!.response;
    const r = await variant((f) => {
      if (f.file === 'pyroscope/merge-span-profile-slow.json') f.response = empty;
      return f;
    });
    assert.equal(r['trace->profile']!.status, 'fail');
    assert.match(r['trace->profile']!.evidence, /empty flame graph/);
    assert.match(r['trace->profile']!.cause!, new RegExp(`no samples labelled span_id=${ids.slow_profile_id}`));
    assert.deepEqual(changed(r), ['trace->profile']);
  });

  it('unknown trace ids (Tempo answers 200 {"trace":{}}): logs->trace and exemplar->trace fail as not found', async () => {
    const unknown = loadFixtures().find((f) => f.file === 'tempo/trace-v2-unknown.json')!.response;
    const r = await variant((f) => {
      if (f.file === 'tempo/trace-v2-slow.json' || f.file === 'tempo/trace-v2-chain.json') f.response = structuredClone(unknown);
      return f;
    });
    assert.equal(r['logs->trace']!.status, 'fail');
    assert.match(r['logs->trace']!.evidence, /not found in Tempo/);
    assert.match(r['logs->trace']!.cause!, /Tempo does not have/);
    assert.equal(r['exemplar->trace']!.status, 'fail');
    assert.match(r['exemplar->trace']!.evidence, /none of 20 exemplar trace ids/);
    assert.equal(r['trace->logs']!.status, 'fail');
    assert.match(r['trace->logs']!.evidence, /could be fetched from Tempo/);
  });

  it('tracesToProfiles.profileTypeId removed from provisioning: exactly trace->profile fails, naming it', async () => {
    const p = provisioningVariant((doc) => delete tempoOf(doc).jsonData['tracesToProfiles'].profileTypeId);
    try {
      const r = await variant((f) => f, { provisioningFile: p.file });
      assert.equal(r['trace->profile']!.status, 'fail');
      assert.match(r['trace->profile']!.cause!, /^tracesToProfiles.profileTypeId missing in provisioning/);
      assert.deepEqual(changed(r), ['trace->profile']);
    } finally {
      p.cleanup();
    }
  });

  it('tracesToLogsV2 written with a single $: Grafana expands it away; trace->logs fails naming $$', async () => {
    const p = provisioningVariant((doc) => (tempoOf(doc).jsonData['tracesToLogsV2'].query = '{job="${__span.tags.job}"} |= "${__span.traceId}"'));
    try {
      const r = await variant((f) => f, { provisioningFile: p.file });
      assert.equal(r['trace->logs']!.status, 'fail');
      assert.ok(r['trace->logs']!.evidence.includes('`{job=""} |= ""`'), r['trace->logs']!.evidence);
      assert.match(r['trace->logs']!.cause!, /write \$\$\{__span.traceId\}/);
      assert.deepEqual(changed(r), ['trace->logs']);
    } finally {
      p.cleanup();
    }
  });

  it('derived field url written with a single $: logs->trace fails naming $${__value.raw}', async () => {
    const p = provisioningVariant((doc) => (doc.datasources.find((d) => d.uid === 'loki')!.jsonData['derivedFields'][0].url = '${__value.raw}'));
    try {
      const r = await variant((f) => f, { provisioningFile: p.file });
      assert.equal(r['logs->trace']!.status, 'fail');
      assert.match(r['logs->trace']!.cause!, /\$\$\{__value\.raw\}/);
      assert.deepEqual(changed(r), ['logs->trace']);
    } finally {
      p.cleanup();
    }
  });

  it('span without the job tag: Grafana hides the logs link; trace->logs names Alloy\'s job attribute', async () => {
    const r = await variant((f) => {
      if (f.file === 'tempo/trace-v2-slow.json') {
        const rs = (f.response as { trace: { resourceSpans: Array<{ resource: { attributes: Array<{ key: string }> } }> } }).trace.resourceSpans;
        for (const x of rs) x.resource.attributes = x.resource.attributes.filter((a) => a.key !== 'job');
      }
      return f;
    });
    assert.equal(r['trace->logs']!.status, 'fail');
    assert.match(r['trace->logs']!.cause!, /no "job" attribute.*otelcol\.processor\.transform/);
  });

  it('Grafana down (the default path): every check unreachable, naming Grafana', async () => {
    const results = await verify({ grafanaUrl: `http://127.0.0.1:${await freePort()}`, services: ['demo-app'], checks: ['traces', 'trace->profile'] });
    assert.deepEqual(results.map((r) => [r.check, r.status]), [['traces', 'unreachable'], ['trace->profile', 'unreachable']]);
    assert.match(results[0]!.evidence, /^Grafana not reachable at http:\/\/127\.0\.0\.1:\d+\/api\/datasources\/uid\/loki: ECONNREFUSED/);
  });

  it('unreachable backends are "unreachable", never passed', async () => {
    const closed = `http://127.0.0.1:${await freePort()}`;
    const results = await verify({ direct: true, lokiUrl: closed, tempoUrl: closed, prometheusUrl: closed, pyroscopeUrl: closed, nowMs: NOW_MS, services: ['demo-app'] });
    assert.ok(results.length >= 10);
    for (const r of results) {
      assert.equal(r.status, 'unreachable', show([r]));
      assert.match(r.cause!, /does not answer \(ECONNREFUSED\)/);
      // each client names itself and the flag that points it elsewhere (--direct --prometheus-url: a plain Prometheus)
      const [, name, flag] = /^(\w+) does not answer .* For another address use (--[a-z]+-url)$/.exec(r.cause!)!;
      assert.equal(flag, { Loki: '--loki-url', Tempo: '--tempo-url', Prometheus: '--prometheus-url', Pyroscope: '--pyroscope-url' }[name!], r.cause);
    }
  });
});

describe('provisioning reader, substitution and Grafana paths against stack/grafana', () => {
  const prov = readProvisioningFile(defaultProvisioningFile(), {});
  const tempo = findDatasource(prov, 'tempo')!;
  let stack: FixtureStack;
  let root: Span;
  before(async () => {
    stack = await serveFixtureStack();
    root = await recordedSlowRoot(stack);
  });
  after(async () => stack.close());

  it('reads the four provisioned datasources with Grafana\'s $$ -> $', () => {
    assert.deepEqual(
      prov.datasources.map((d) => [d.uid, d.type]),
      [
        ['mimir', 'prometheus'],
        ['loki', 'loki'],
        ['tempo', 'tempo'],
        ['pyroscope', 'grafana-pyroscope-datasource'],
      ],
    );
    assert.equal(findDatasource(prov, 'mimir')!.url, 'http://mimir:9009/prometheus');
    assert.equal(tracesToLogs(tempo)!.query, SPAN_LOGS_QUERY);
    assert.equal(findDatasource(prov, 'loki')!.jsonData['derivedFields'] && (findDatasource(prov, 'loki')!.jsonData['derivedFields'] as Array<{ url: string }>)[0]!.url, '${__value.raw}');
    assert.match(tracesToMetrics(tempo)!.queries![0]!.query!, /^sum by \(span_name\) \(rate\(traces_spanmetrics_calls_total\{\$__tags, span_name="\$\{__span\.name\}"\}\[5m\]\)\)$/);
    assert.equal(tracesToProfiles(tempo)!.profileTypeId, 'process_cpu:cpu:nanoseconds:cpu:nanoseconds');
    assert.deepEqual(referencedUids(tempo).sort(), ['loki', 'mimir', 'pyroscope']);
  });

  it('interpolates like Grafana: $$ is a literal $, a single $ is an environment variable (Go os.ExpandEnv)', () => {
    const env = { HOST: 'tempo', __x: 'y' };
    assert.equal(interpolateProvisioningValue('$${__span.traceId}', env), '${__span.traceId}');
    assert.equal(interpolateProvisioningValue('${__span.traceId}', env), '');
    assert.equal(interpolateProvisioningValue('http://$HOST:3200/${HOST}', env), 'http://tempo:3200/tempo');
    assert.equal(interpolateProvisioningValue('$$$$', env), '$$');
    assert.equal(interpolateProvisioningValue('$__env{HOST}', env), 'tempo');
    assert.equal(expandEnv('cost $ 5 and ${} and $1', { '1': 'one' }), 'cost $ 5 and  and one');
  });

  it('trace -> logs: the provisioned query for the recorded span, with the -5m/+5m window', () => {
    const lq = traceToLogsQuery(root, tracesToLogs(tempo)!)!;
    assert.equal(lq.query, `{job="demo-app"} | regexp "(?P<line_trace_id>${ids.slow})" | trace_id="${ids.slow}" or line_trace_id="${ids.slow}"`);
    assert.deepEqual(lq.undefinedVariables, []);
    assert.equal(lq.range.fromMs, Math.floor(root.startTimeUs / 1000) - 300_000);
    assert.equal(lq.range.toMs, Math.floor((root.startTimeUs + root.durationUs) / 1000) + 300_000);
  });

  it('trace -> metrics: $__tags from the tags mapping (service.name -> service) and ${__span.name}', () => {
    const qs = traceToMetricsQueries(root, tracesToMetrics(tempo)!);
    assert.deepEqual(
      qs.map((q) => q.query),
      [
        'sum by (span_name) (rate(traces_spanmetrics_calls_total{service="demo-app", span_name="GET /slow"}[5m]))',
        'sum by (span_name) (rate(traces_spanmetrics_calls_total{service="demo-app", span_name="GET /slow", status_code="STATUS_CODE_ERROR"}[5m]))',
        'histogram_quantile(0.95, sum by (le) (rate(traces_spanmetrics_latency_bucket{service="demo-app", span_name="GET /slow"}[5m])))',
      ],
    );
    assert.equal(qs[0]!.range.fromMs, Math.floor(root.startTimeUs / 1000) - 900_000);
  });

  it('trace -> profiles: {${__tags}} with service.name -> service_name and the span\'s pyroscope.profile.id, +-60 s', () => {
    const pq = traceToProfilesQuery(root, tracesToProfiles(tempo)!);
    assert.equal(pq.labelSelector, '{service_name="demo-app"}');
    assert.deepEqual(pq.spanSelector, [ids.slow_profile_id]);
    assert.equal(pq.profileTypeId, 'process_cpu:cpu:nanoseconds:cpu:nanoseconds');
    assert.equal(pq.range.toMs - pq.range.fromMs, Math.floor((root.startTimeUs + root.durationUs) / 1000) - Math.floor(root.startTimeUs / 1000) + 120_000);
  });

  it('Grafana\'s template syntaxes and undefined variables', () => {
    const vars = { ...spanVars(root), __tags: formattedTags(root, [{ key: 'job' }, { key: 'http.route', value: 'route' }]) };
    assert.equal(vars.__tags, 'job="demo-app", route="/slow"');
    assert.equal(substitute('$__tags|${__tags}|[[__tags]]', vars).text, `${vars.__tags}|${vars.__tags}|${vars.__tags}`);
    assert.equal(substitute('${__span.tags["pyroscope.profile.id"]} ${__span.tags.job} ${__span.spanId}', vars).text, `${ids.slow_profile_id} demo-app ${ids.slow_profile_id}`);
    const s = substitute('{job="${__span.tags.nope}"} $unknown', vars);
    assert.deepEqual(s.undefinedVariables, ['${__span.tags.nope}', '$unknown']);
    assert.equal(s.text, '{job="${__span.tags.nope}"} $unknown');
  });

  it('through Grafana: datasource proxy URLs per uid, /api/ds/query for Pyroscope, the settings API', () => {
    const e = resolveEndpoints({}, { GRAFANA_PORT: '3001' }, DEFAULT_UIDS);
    assert.deepEqual(e, {
      mode: 'grafana',
      grafana: 'http://127.0.0.1:3001',
      loki: 'http://127.0.0.1:3001/api/datasources/proxy/uid/loki',
      tempo: 'http://127.0.0.1:3001/api/datasources/proxy/uid/tempo',
      prometheus: 'http://127.0.0.1:3001/api/datasources/proxy/uid/mimir',
      pyroscope: 'http://127.0.0.1:3001',
    });
    // direct: the host ports of the repository's .env, which has no defaults behind it
    const repoEnv = readEnv(join(repoRoot, '.env'));
    const d = resolveEndpoints({ direct: true }, { ...repoEnv, LOKI_PORT: '3101' }, DEFAULT_UIDS);
    assert.equal(d.loki, 'http://127.0.0.1:3101');
    assert.equal(d.prometheus, 'http://127.0.0.1:9009/prometheus');
    assert.equal(resolveEndpoints({ direct: true, prometheusUrl: 'http://127.0.0.1:9090' }, repoEnv, DEFAULT_UIDS).prometheus, 'http://127.0.0.1:9090');
    const { MIMIR_PORT: _, ...noMimir } = repoEnv;
    assert.throws(() => resolveEndpoints({ direct: true }, noMimir, DEFAULT_UIDS), /\.env has no value for MIMIR_PORT/);
    assert.equal(grafanaProxyUrl('http://g:3000/', 'a b'), 'http://g:3000/api/datasources/proxy/uid/a%20b');
    assert.equal(grafanaDatasourceUrl('http://g:3000', 'tempo'), 'http://g:3000/api/datasources/uid/tempo');
    assert.equal(new GrafanaPyroscopeClient('http://g:3000', 'pyroscope').base, 'http://g:3000');
    assert.deepEqual(dsQueryBody('pyroscope', { profileTypeId: 'process_cpu:cpu:nanoseconds:cpu:nanoseconds', labelSelector: '{service_name="demo-app"}', spanSelector: ['67a6a07b8ff4b5f3'], startMs: 1, endMs: 2 }), {
      from: '1',
      to: '2',
      queries: [
        {
          refId: 'A',
          datasource: { type: 'grafana-pyroscope-datasource', uid: 'pyroscope' },
          queryType: 'profile',
          profileTypeId: 'process_cpu:cpu:nanoseconds:cpu:nanoseconds',
          labelSelector: '{service_name="demo-app"}',
          spanSelector: ['67a6a07b8ff4b5f3'],
          groupBy: [],
          maxNodes: 64,
        },
      ],
    });
    // the JSON Grafana's /api/datasources/uid/<uid> answers: already interpolated, same jsonData
    const api = parseGrafanaDatasource({ id: 3, uid: 'tempo', orgId: 1, name: 'Tempo', type: 'tempo', access: 'proxy', url: 'http://tempo:3200', jsonData: tempo.jsonData, readOnly: true });
    assert.deepEqual(api, tempo);
  });

  it('Explore links carry datasource, query and range', () => {
    const url = new URL(exploreUrl('http://127.0.0.1:3000', { datasourceUid: 'tempo', datasourceType: 'tempo', query: { queryType: 'traceql', query: ids.slow }, fromMs: 1000, toMs: 2000, spanId: 'abc' }));
    assert.equal(url.pathname, '/explore');
    const panes = JSON.parse(url.searchParams.get('panes')!) as { a: { datasource: string; queries: Array<Record<string, unknown>>; range: unknown; panelsState: unknown } };
    assert.equal(panes.a.datasource, 'tempo');
    assert.deepEqual(panes.a.queries[0], { refId: 'A', datasource: { type: 'tempo', uid: 'tempo' }, queryType: 'traceql', query: ids.slow });
    assert.deepEqual(panes.a.range, { from: '1000', to: '2000' });
    assert.deepEqual(panes.a.panelsState, { trace: { spanId: 'abc' } });
  });

  it('reads Pyroscope flame graphs from the Connect API and from Grafana\'s nested-set frame alike', () => {
    const rec = loadFixtures().find((f) => f.file === 'pyroscope/merge-stacktraces-cpu.json')!;
    const fg = fromFlamebearer((rec.response as { flamegraph: never }).flamegraph);
    assert.equal(fg.total, 17_560_000_000);
    // the frame Grafana's datasource backend builds from the same tree (depth first, label enum)
    const order = depthFirst(fg);
    const names = [...new Set(order.map((n) => n.name))];
    const frame = {
      schema: { fields: [{ name: 'level' }, { name: 'value' }, { name: 'self' }, { name: 'label', config: { type: { enum: { text: names } } } }] },
      data: { values: [order.map((n) => n.level), order.map((n) => n.total), order.map((n) => n.self), order.map((n) => names.indexOf(n.name))] },
    };
    const viaGrafana = fromNestedSetFrame(frame);
    assert.deepEqual(topSelfFrames(viaGrafana, 5), topSelfFrames(fg, 5));
    assert.equal(topSelfFrames(fg, 1)[0]!.frame, 'checkEmail');
  });

  it('reads a log line\'s trace id as the derived field to Tempo does (regex when matcherType is absent), for verify and tour alike', () => {
    const df = tempoDerivedField(prov, findDatasource(prov, 'loki')!)!;
    assert.deepEqual([df.name, df.datasourceUid], ['TraceID', 'tempo']);
    const entry: LogEntry = { tsNs: '1', line: 'GET /slow trace_id=abc123 done', stream: {}, structuredMetadata: { trace_id: 'fromlabel' }, parsed: {} };
    assert.equal(traceIdOf(df, entry), 'fromlabel');
    assert.equal(traceIdOf({ matcherRegex: 'trace_id=(\\w+)' }, entry), 'abc123');
    assert.equal(traceIdOf({ matcherType: 'regex', matcherRegex: 'abc\\d+' }, entry), 'abc123', 'no group: the whole match');
    assert.equal(traceIdOf({ matcherType: 'label', matcherRegex: 'span_id' }, entry), undefined);
  });

  it('check names are quoted wherever they are shown to be typed; the tour rejects a malformed --app-url and has no --now', () => {
    assert.equal(shellCheck('trace->profile'), "'trace->profile'");
    assert.equal(shellCheck('seed-logql'), 'seed-logql');
    assert.throws(() => parseTourArgs(['slow', '--app-url', 'demo-app']), /--app-url "demo-app" is not <service>=<url>/);
    assert.throws(() => parseTourArgs(['slow', '--app-url', 'demo-app=']), /is not <service>=<url>/);
    assert.throws(() => parseTourArgs(['slow', '--app-url', 'nope=http://127.0.0.1:1']), /--app-url "nope" is not a known app/);
    assert.throws(() => parseTourArgs(['slow', '--now', '1']), /unknown flag --now/);
    const a = parseTourArgs(['slow', '--app-url', 'demo-app=http://127.0.0.1:1/x=y']);
    assert.deepEqual(a.appOverrides, { 'demo-app': 'http://127.0.0.1:1/x=y' });
  });

  it('picks the span that dominates a trace by self time', async () => {
    const trace = (await new TempoClient(stack.tempo.url).trace(ids.slow))!;
    assert.equal(dominatingSpan(trace).span.name, 'slow_business_logic');
    const unknown = await new TempoClient(stack.tempo.url).trace('0123456789abcdef0123456789abcdef');
    assert.equal(unknown, undefined, 'Tempo 3 answers 200 {"trace":{}} for an unknown id');
  });
});


function depthFirst(fg: FlameGraph): FlameGraph['nodes'] {
  const kids = new Map<number, number[]>();
  fg.nodes.forEach((n, i) => kids.set(n.parent, [...(kids.get(n.parent) ?? []), i]));
  const out: FlameGraph['nodes'] = [];
  const walk = (i: number) => {
    out.push(fg.nodes[i]!);
    for (const k of kids.get(i) ?? []) walk(k);
  };
  for (const r of kids.get(-1) ?? []) walk(r);
  return out;
}
