// Each example of examples/ (a user's own minimal service, instrumented as docs/instrument-your-app.md says) started
// as its image and compose snippet say, with its OTLP endpoint at an in-process receiver that forwards metrics to a
// real Prometheus and its Pyroscope address at an in-process ingest receiver; every assertion is on the data that
// arrived. Table-driven: one spec per example in test/examples/<folder>.ts. LGTMP_EXAMPLES=go limits the run.
import { after, before, describe, it, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { metrics, SPAN_PROFILE_TYPE } from '../src/facts.js';
import { exampleSpecs } from './examples/index.js';
import { startAppWithPeers, type AppWithPeers } from './harness/app-with-peers.js';
import { repoRoot, tail } from './harness/cache.js';
import { exampleFolders, exampleLaunch, examplesRoot, loadExample, type LoadedExample } from './harness/example.js';
import { lokiQuery, lokiStreamsOf } from './harness/loki-oracle.js';
import { freePort, launchApp, waitFor } from './harness/launcher.js';
import { servesRoute, SPAN_KIND_SERVER, startOtlpReceiver, type ReceivedSpan } from './harness/otlp-receiver.js';
import { frameShare, selfFrames, startProfileReceiver } from './harness/profile-receiver.js';
import * as judge from '../src/verify/byo/judge.js';
import { PrometheusClient } from '../src/verify/prometheus.js';
import { traceToLogsQuery } from '../src/verify/substitute.js';

const specs = await exampleSpecs();

/** group:artifact -> version of every plugin, dependency and copied artifact of a pom.xml, its ${properties} resolved. */
function mavenArtifacts(pom: string): Map<string, string> {
  const xml = readFileSync(pom, 'utf8');
  const properties = new Map([.../<properties>([^]*?)<\/properties>/.exec(xml)?.[1]?.matchAll(/<([\w.-]+)>([^<]*)<\/\1>/g) ?? []].map((m) => [m[1]!, m[2]!]));
  const resolve = (v: string): string => v.replace(/\$\{([\w.-]+)\}/g, (whole, name: string) => properties.get(name) ?? whole);
  return new Map([...xml.matchAll(/<groupId>([^<]+)<\/groupId>\s*<artifactId>([^<]+)<\/artifactId>\s*<version>([^<]+)<\/version>/g)]
    .map((m) => [`${m[1]}:${m[2]}`, resolve(m[3]!)]));
}

async function get(base: string, path: string): Promise<{ status: number; text: string }> {
  const res = await fetch(`${base}${path}`, { signal: AbortSignal.timeout(60_000) });
  return { status: res.status, text: await res.text() };
}

const nowNs = (): bigint => BigInt(Date.now()) * 1_000_000n;

describe('examples', () => {
  it('at least one example is selected', () => {
    assert.ok(specs.length > 0, `no example selected (LGTMP_EXAMPLES=${process.env.LGTMP_EXAMPLES ?? ''})`);
  });

  it('each example holds its Dockerfile, compose snippet and README, and the files it copies from a demo app unchanged', () => {
    for (const spec of specs) {
      for (const file of ['Dockerfile', 'compose.yaml', 'README.md']) assert.ok(existsSync(join(examplesRoot, spec.folder, file)), `examples/${spec.folder}/${file}`);
      for (const [copy, source] of Object.entries(spec.copies ?? {})) {
        assert.ok(readFileSync(join(repoRoot, copy)).equals(readFileSync(join(repoRoot, source))), `${copy} differs from ${source}: copy it again (cp ${source} ${copy})`);
      }
    }
  });

  // The guide's install commands name versions; the examples' manifests are where they are pinned and tested.
  it('every package@version of docs/instrument-your-app.md that an example depends on is the version it pins', () => {
    const guide = readFileSync(join(repoRoot, 'docs', 'instrument-your-app.md'), 'utf8');
    const pinned = new Map<string, string>();
    // every example's manifest, whichever LGTMP_EXAMPLES selects
    for (const folder of exampleFolders()) {
      const dir = join(examplesRoot, folder);
      if (existsSync(join(dir, 'package.json'))) {
        const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { dependencies?: Record<string, string> };
        for (const [name, version] of Object.entries(manifest.dependencies ?? {})) pinned.set(name, version);
      }
      if (existsSync(join(dir, 'go.mod'))) {
        for (const m of readFileSync(join(dir, 'go.mod'), 'utf8').matchAll(/^\s*(\S+) (v\S+)( \/\/ indirect)?$/gm)) pinned.set(m[1]!, m[2]!);
      }
      if (existsSync(join(dir, 'pom.xml'))) for (const [coordinates, version] of mavenArtifacts(join(dir, 'pom.xml'))) pinned.set(coordinates, version);
    }
    // name@version (npm, Go) and Maven's group:artifact:version
    const named = [...guide.matchAll(/(?<=^|\s)(@?[a-z0-9][\w./-]*)@(v?\d[\w.-]*)/gm), ...guide.matchAll(/\b([\w-]+\.[\w.-]+:[\w.-]+):(\d[\w.-]*)/g)]
      .filter((m) => pinned.has(m[1]!));
    assert.ok(named.length > 0, 'the guide names versions of the examples\' packages');
    assert.deepEqual(named.filter((m) => pinned.get(m[1]!) !== m[2]).map((m) => `${m[1]}@${m[2]} (pinned: ${pinned.get(m[1]!)})`), []);
  });

});

for (const spec of specs) {
  describe(`examples/${spec.folder} with receivers and Prometheus`, { timeout: 30 * 60_000 }, () => {
    let example: LoadedExample | undefined;
    let peers: AppWithPeers | undefined;
    const service = (): string => example!.compose.service;
    const diag = (): string => [
      peers?.otlp.summary() ?? 'no OTLP receiver',
      peers?.profiles.summary() ?? 'no profile receiver',
      `--- examples/${spec.folder} output (tail) ---\n${peers ? tail(peers.app.output(), 6000) : '(not started)'}`,
    ].join('\n');
    const check = (name: string, fn: (t: TestContext) => Promise<void>, timeoutMs = 4 * 60_000): void => {
      it(name, { timeout: timeoutMs }, async (t) => {
        try {
          await fn(t);
        } catch (e) {
          if (e instanceof Error) e.message += `\n===== diagnostics =====\n${diag()}`;
          throw e;
        }
      });
    };

    before(async () => {
      example = await loadExample(spec);
      const loaded = example;
      peers = await startAppWithPeers({ prepare: () => Promise.resolve(), launch: (o) => exampleLaunch(loaded, o) });
    }, { timeout: 25 * 60_000 });
    after(async () => { await peers?.close(); });

    // Shared between the checks below (node:test runs them in order).
    let server: ReceivedSpan | undefined;

    check('GET / answers 200, a bad request to the work route a 4xx, and it keeps serving', async () => {
      const base = peers!.base;
      assert.equal((await get(base, '/')).status, 200);
      const bad = await get(base, spec.work.badPath);
      assert.ok(bad.status >= 400 && bad.status < 500, `${spec.work.badPath}: ${bad.status} ${bad.text}`);
      assert.equal((await get(base, '/')).status, 200);
    });

    check('the work request is a trace: a SERVER span for the route under the compose service name, with the job Alloy gives it, pyroscope.profile.id, and the child span', async (t) => {
      const t0 = nowNs() - 1_000_000_000n;
      const r = await get(peers!.base, spec.work.path);
      assert.equal(r.status, 200, r.text);
      const otlp = peers!.otlp;
      server = await waitFor(`the ${spec.work.route} server span`, () => otlp.spans().find((s) =>
        s.resource['service.name'] === service() && s.kind === SPAN_KIND_SERVER && servesRoute(s, spec.work.route) &&
        Number(s.attributes['http.response.status_code']) === 200 && s.startTimeUnixNano >= t0), 60_000);
      const root = server;
      assert.equal(root.parentSpanId, '', 'the server span is the root of its trace');
      assert.equal(root.resource['job'], service(), 'the span\'s job tag in Tempo (what "Logs for this span" queries by)');
      assert.equal(root.attributes['pyroscope.profile.id'], root.spanId, 'pyroscope.profile.id = the root span\'s id ("Profiles for this span")');
      const child = await waitFor(`the child span ${spec.work.childSpan}`, () => otlp.spans().find((s) => s.traceId === root.traceId && s.name === spec.work.childSpan), 30_000);
      assert.equal(child.parentSpanId, root.spanId, 'the child span\'s parent is the server span');
      t.diagnostic(`${service()}: ${root.name} ${root.durationMs.toFixed(0)} ms, ${child.name} ${child.durationMs.toFixed(0)} ms`);
    });

    check('a log record of the request carries the span\'s trace and span id as its trace context, not in its text (logs bridge)', async () => {
      assert.ok(server, 'needs the server span');
      const root = server;
      const log = await waitFor('a log record with the server span\'s trace id', () => peers!.otlp.logs().find((l) => l.traceId === root.traceId), 60_000);
      assert.equal(log.spanId, root.spanId, 'log record span id = server span id');
      assert.equal(log.resource['service.name'], service());
      assert.equal(log.resource['job'], service(), 'the record\'s job label in Loki');
      const body = typeof log.body === 'string' ? log.body : JSON.stringify(log.body);
      assert.ok(body.length > 0, 'the record has a message');
      assert.ok(!body.includes(root.traceId), `the trace id is not in the message text: ${body}`);
    });

    check(`${metrics.httpDuration} reaches Prometheus under job=<service> with http_route`, async () => {
      const query = `${metrics.httpDuration}_count{job="${service()}",http_route="${spec.work.route}"}`;
      const series = await waitFor(`${query} in Prometheus`, async () => {
        const r = await peers!.prom.query(query);
        return r.some((s) => Number(s.value[1]) > 0) ? r : undefined;
      }, 90_000, 1000);
      assert.ok(series.every((s) => s.metric['http_request_method'] === 'GET'), JSON.stringify(series.map((s) => s.metric)));
      assert.deepEqual(peers!.otlp.forwardErrors(), []);
    });

    // An SDK that records no exemplars is a known upstream gap, reported as a skip with its reason, never as a pass.
    const exemplarCheck = spec.noExemplars ? (name: string) => it(name, { skip: spec.noExemplars }) : check;
    exemplarCheck('an exemplar on the duration histogram carries the trace id of a span the example sent', async () => {
      const hit = await waitFor('an exemplar whose trace_id is a received span', async () => {
        const now = Date.now() / 1000;
        const ex = await peers!.prom.exemplars(`${metrics.httpDuration}_bucket{job="${service()}"}`, now - 900, now + 60);
        const ids = ex.flatMap((s) => s.exemplars.map((e) => e.labels['trace_id'] ?? ''));
        const traceIds = new Set(peers!.otlp.spans().map((s) => s.traceId));
        return ids.find((id) => traceIds.has(id));
      }, 90_000, 2000);
      assert.match(hit, /^[0-9a-f]{32}$/);
    });

    check(`a ${SPAN_PROFILE_TYPE} profile labelled with the server span's id has the work function among its hottest frames`, async (t) => {
      assert.ok(server, 'needs the server span');
      const spanId = server.spanId;
      const samples = await waitFor(`${SPAN_PROFILE_TYPE} samples labelled span_id=${spanId}`, () => {
        const s = peers!.profiles.spanSamples(service(), SPAN_PROFILE_TYPE, spanId);
        return s.some((x) => x.value > 0 && x.stack.some((f) => spec.work.frame.test(f))) ? s : undefined;
      }, 120_000, 1000);
      // In the flame graph: the work function is under most of the span's samples, and it is where the time is
      // spent (self time; a runtime frame it calls, such as Go's preemption point, may take a share).
      const hot = selfFrames(samples, 3);
      const share = frameShare(samples, spec.work.frame);
      t.diagnostic(`${service()}: ${samples.length} samples under span ${spanId}; ${spec.work.frame} under ${(share * 100).toFixed(0)}%; hottest self frames ${JSON.stringify(hot)}`);
      assert.ok(share >= 0.5, `the work function is under most of the span's CPU samples (${share.toFixed(2)}): ${JSON.stringify(hot)}`);
      assert.ok(hot.some((h) => spec.work.frame.test(h.frame) && h.share >= 0.3), `the work function is among the hottest self frames: ${JSON.stringify(hot)}`);
    });

    // `lgtmp verify --service <name>`'s judgements (src/verify/byo/judge.ts) on what the receivers captured, as the
    // stack would hold it: spans through Alloy, log exports through Loki's own OTLP parsing and, for "Logs for this
    // span", the provisioned query through Loki's own LogQL code (test/harness/loki-oracle.ts). Left out, not passed:
    // Tempo's span metrics (no Tempo here). The service graph row is judged on the spans alone (the example calls no
    // other service: not set up).
    check('verify --service <example>: every row that applies passes, the others say not set up', async (t) => {
      assert.ok(server, 'needs the server span');
      const root = server;
      const svc = service();
      const { otlp, prom, profiles } = peers!;
      const stored = otlp.spans();
      const streams = await lokiStreamsOf(otlp.logRequests());
      const logs = streams.filter((st) => st.labels['service_name'] === svc).flatMap((st) => st.entries.map((e) => ({ line: e.line, labels: st.labels, structuredMetadata: e.structuredMetadata })));
      const traces = judge.tracesById(stored);
      const links = judge.provisionedLinks();
      assert.ok(links.tracesToLogs && links.tracesToProfiles, 'the provisioned "Logs for this span" and "Profiles for this span"');
      const language = judge.serviceLanguage(svc, stored);
      // "Logs for this span" on the work request's server span, as Grafana interpolates it, answered by Loki's code
      const spanLogsQuery = traceToLogsQuery({ ...root, startTimeUs: Number(root.startTimeUnixNano / 1000n), durationUs: Number((root.endTimeUnixNano - root.startTimeUnixNano) / 1000n) }, links.tracesToLogs);
      assert.ok(spanLogsQuery, 'the span has the tags of the provisioned logs query');
      const spanLogs = (await lokiQuery(spanLogsQuery.query, streams)).map((m) => ({ line: m.line, labels: m.labels, structuredMetadata: m.structuredMetadata }));
      const client = new PrometheusClient(prom.url);
      const redQuery = judge.redMetricsQuery(svc);
      const red = await waitFor(`${redQuery} with a series`, async () => { const r = await client.query(redQuery); return r.length > 0 ? r : undefined; }, 60_000, 1000);
      const exemplars = await client.exemplars(judge.exemplarQuery(svc), Date.now() - 15 * 60_000, Date.now() + 60_000);
      const profiled = judge.pickProfiledSpan(svc, stored);
      assert.ok(profiled, 'a span with pyroscope.profile.id');
      const profileType = judge.spanProfileQuery(profiled, links.tracesToProfiles).profileTypeId;
      const samples = await waitFor(`${profileType} samples of span ${profiled.spanId}`, () => {
        const s = profiles.spanSamples(svc, profileType, profiled.spanId);
        return s.length > 0 ? s : undefined;
      }, 120_000, 1000);
      const total = samples.reduce((a, x) => a + x.value, 0);
      const sent = profiles.profiles().filter((p) => p.service === svc).map((p) => p.profileTypeId);
      const rows = [
        judge.judgeTraces(svc, stored),
        judge.judgeLogsToTrace(svc, logs, traces, links.derivedField, language),
        judge.judgeTraceToLogs(svc, root, links.tracesToLogs, spanLogs, language),
        judge.judgeJobTag(svc, stored, language),
        judge.judgeRedMetrics(svc, redQuery, red, language),
        judge.judgeExemplars(svc, exemplars, traces, language),
        judge.judgeSpanProfile(svc, { spans: stored, sendsProfiles: sent.length > 0, sentProfileTypes: [...new Set(sent)], flame: { spanId: profiled.spanId, profileTypeId: profileType, total, top: selfFrames(samples, 3) }, language }),
        judge.judgeServiceGraph(svc, [], stored, language),
      ];
      const expected: Record<string, string> = {
        'exemplar->trace': spec.noExemplars ? 'not set up' : 'pass',
        'service-graph': 'not set up', // the example calls no other service
      };
      for (const r of rows) t.diagnostic(`${r.check}: ${r.status}: ${r.evidence}${r.cause ? ` (${r.cause})` : ''}`);
      assert.deepEqual(rows.map((r) => [r.check, r.status]), rows.map((r) => [r.check, expected[r.check] ?? 'pass']), rows.map((r) => `${r.check} ${r.status}: ${r.evidence} ${r.cause ?? ''}`).join('\n'));
      // the logs-bridge case the issue is about: the trace id only in the record's trace context, found all the same
      assert.match(rows.find((r) => r.check === 'logs->trace')!.evidence, /in structured metadata trace_id only \(a logs bridge; not in the line\)/);
      assert.match(rows.find((r) => r.check === 'trace->logs')!.evidence, /trace id in structured metadata only/);
      assert.ok(spanLogs.every((l) => l.structuredMetadata['trace_id'] === root.traceId), `"Logs for this span" returns only that trace's lines: ${JSON.stringify(spanLogs)}`);
    });
  });
}

for (const spec of specs) {
  // A user copies the example's shutdown path too: with export intervals longer than the check, whatever arrives
  // was sent when SIGTERM came.
  const skip = spec.sigtermFlush ? false : `examples/${spec.folder}: its spec claims no flush on SIGTERM (test/examples/${spec.folder}.ts sigtermFlush)`;
  describe(`examples/${spec.folder}: SIGTERM flushes the last spans, log records, metrics and profile`, { timeout: 15 * 60_000, skip }, () => {
    it('a request\'s span, log record and duration metric, and a CPU profile of its work, arrive when it stops', { timeout: 10 * 60_000 }, async (t) => {
      const example = await loadExample(spec);
      const otlp = await startOtlpReceiver();
      const profiles = await startProfileReceiver();
      const port = await freePort();
      const env = {
        OTEL_BSP_SCHEDULE_DELAY: '600000', OTEL_BLRP_SCHEDULE_DELAY: '600000', OTEL_METRIC_EXPORT_INTERVAL: '600000',
        ...spec.sigtermFlush!.env,
      };
      const app = await launchApp(exampleLaunch(example, { port, otlpUrl: otlp.url, pyroscopeUrl: profiles.url, env }));
      const svc = example.compose.service;
      try {
        const r = await get(`http://127.0.0.1:${port}`, spec.work.path);
        assert.equal(r.status, 200, r.text);
        assert.deepEqual([otlp.spans().length, otlp.logs().length, otlp.metrics().length], [0, 0, 0], 'nothing exported before SIGTERM (long intervals)');
        await app.stop();
        const diag = `${otlp.summary()}\n${profiles.summary()}\n--- output ---\n${tail(app.output(), 4000)}`;
        const server = otlp.spans().find((s) => s.resource['service.name'] === svc && s.kind === SPAN_KIND_SERVER && servesRoute(s, spec.work.route));
        assert.ok(server, `the ${spec.work.route} server span was flushed\n${diag}`);
        assert.ok(otlp.logs().some((l) => l.traceId === server.traceId), `its log record was flushed\n${diag}`);
        assert.ok(otlp.metrics().some((m) => m.name === 'http.server.request.duration'), `the duration histogram was flushed\n${diag}`);
        await t.test(`a ${SPAN_PROFILE_TYPE} profile with the work function`, { skip: spec.sigtermFlush!.profileNotFlushed ?? false }, () => {
          const cpu = profiles.profiles().filter((p) => p.service === svc && p.profileTypeId === SPAN_PROFILE_TYPE).flatMap((p) => p.samples);
          assert.ok(cpu.some((x) => x.value > 0 && x.stack.some((f) => spec.work.frame.test(f))), `a ${SPAN_PROFILE_TYPE} profile with the work function arrived\n${diag}`);
        });
      } finally {
        await app.stop();
        await otlp.close();
        await profiles.close();
      }
    });
  });
}
