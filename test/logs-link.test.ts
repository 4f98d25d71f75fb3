// "Logs for this span" on the recorded Loki responses: the provisioned query (tracesToLogsV2.query, SPAN_LOGS_QUERY in
// src/facts.ts) run by Loki 3.7.6's own LogQL parser and pipeline (tools/logql-check) over the streams Loki returned,
// for the recorded /slow span as verify interpolates it. Once as recorded (the trace id in the line, as the demo apps
// write it) and once with the trace id taken out of every line, which is what a service logging through an
// OpenTelemetry logs bridge stores: its trace id is only the record's trace context, structured metadata trace_id.
// The seed's line filter runs beside it to show what it misses. logs-link-apps.test.ts proves the same on real SDKs.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';

import { SEED_SPAN_LOGS_QUERY, SPAN_LOGS_QUERY } from '../src/facts.js';
import { repoRoot } from '../src/project.js';
import { findDatasource, readProvisioningFile, tracesToLogs } from '../src/verify/provisioning.js';
import { defaultProvisioningFile } from '../src/verify/run.js';
import { traceToLogsQuery } from '../src/verify/substitute.js';
import { TempoClient, type Span } from '../src/verify/tempo.js';
import { lokiQuery, type LokiEntry, type LokiStream } from './harness/loki-oracle.js';
import { fixtureIds, loadFixtures, serveFixtureStack } from './verify/fixture-server.js';

const ids = fixtureIds();
const tempo = findDatasource(readProvisioningFile(defaultProvisioningFile(), {}), 'tempo')!;

type RecordedValue = [string, string, { structuredMetadata?: Record<string, string> }?];
interface RecordedStream { stream: Record<string, string>; values: RecordedValue[] }

/**
 * Every log line of the recorded Loki answers to a query without parser stages (`{job="demo-app"}`, with or without a
 * line filter), as Loki stores it: stream labels apart from each line's structured metadata. With the
 * categorize-labels flag Loki answers them apart; without it, it merges both into `stream`, which is split again by
 * the stream labels the categorized answer names.
 */
function recordedStreams(): LokiStream[] {
  const fixtures = loadFixtures().filter((f) => f.component === 'loki' && /^\{job="[^"]+"\}( \|= "[^"]*")?$/.test(f.request.params['query'] ?? ''));
  const result = (f: (typeof fixtures)[number]) => (f.response as { data: { result: RecordedStream[] } }).data.result;
  const categorized = fixtures.filter((f) => f.request.headers['X-Loki-Response-Encoding-Flags'] === 'categorize-labels');
  assert.ok(categorized.length > 0, 'a categorized recording names the stream labels');
  const streamKeys = new Set(categorized.flatMap((f) => result(f).flatMap((s) => Object.keys(s.stream))));
  const streams = new Map<string, LokiStream>();
  const seen = new Set<string>();
  for (const f of fixtures) {
    const split = !categorized.includes(f);
    for (const s of result(f)) {
      const labels = Object.fromEntries(Object.entries(s.stream).filter(([k]) => !split || streamKeys.has(k)));
      const mergedMetadata = split ? Object.fromEntries(Object.entries(s.stream).filter(([k]) => !streamKeys.has(k))) : {};
      const key = JSON.stringify(Object.entries(labels).sort());
      const stream = streams.get(key) ?? { labels, entries: [] };
      streams.set(key, stream);
      for (const [ts, line, meta] of s.values) {
        if (seen.has(`${ts} ${line}`)) continue; // the same line in several answers
        seen.add(`${ts} ${line}`);
        stream.entries.push({ ts, line, structuredMetadata: { ...mergedMetadata, ...(meta?.structuredMetadata ?? {}) } });
      }
    }
  }
  return [...streams.values()];
}

/**
 * The same lines as a logs bridge writes them: the message without the ids the demo apps put into it (its
 * `trace_id=… span_id=…` words and the JSON fields trace_id, span_id); structured metadata unchanged.
 */
function asLogsBridge(streams: LokiStream[]): LokiStream[] {
  const rewrite = (e: LokiEntry): LokiEntry => {
    const { trace_id: _t, span_id: _s, ...fields } = JSON.parse(e.line) as Record<string, unknown>;
    const msg = String(fields['msg']).replace(/ trace_id=\S+ span_id=\S+/, '');
    return { ...e, line: JSON.stringify({ ...fields, msg }) };
  };
  return streams.map((s) => ({ ...s, entries: s.entries.map(rewrite) }));
}

const entryKey = (e: LokiEntry) => `${e.ts} ${e.line}`;
const keysOf = (es: LokiEntry[]) => es.map(entryKey).sort();
/** The entries Loki keeps for `traceId`: structured metadata trace_id, set by its OTLP parsing from the record. */
const entriesOfTrace = (streams: LokiStream[], traceId: string) => streams.flatMap((s) => s.entries.filter((e) => e.structuredMetadata['trace_id'] === traceId));

describe('"Logs for this span" on the recorded Loki responses, run by Loki 3.7.6\'s own LogQL code', () => {
  const recorded = recordedStreams();
  const bridged = asLogsBridge(recorded);
  const traceIds = [...new Set(recorded.flatMap((s) => s.entries.map((e) => e.structuredMetadata['trace_id']!)))];
  let root: Span;
  before(async () => {
    const stack = await serveFixtureStack();
    try {
      const trace = await new TempoClient(stack.tempo.url).trace(ids.slow);
      root = trace!.spans.find((s) => s.name === 'GET /slow')!;
      assert.ok(root, 'the recorded /slow trace has its server span');
    } finally {
      await stack.close();
    }
  });
  /** The provisioned (or another) query for the recorded /slow span, with its trace id swapped for `traceId`. */
  const queryFor = (traceId: string, query = tracesToLogs(tempo)!.query!) => {
    const lq = traceToLogsQuery({ ...root, traceId }, { ...tracesToLogs(tempo)!, query })!;
    assert.deepEqual(lq.undefinedVariables, []);
    return lq.query;
  };

  it('the data: several traces, each line with its trace id in structured metadata and in the line; none left in the bridge form', () => {
    assert.ok(traceIds.length >= 5, `${traceIds.length} traces in the recordings`);
    assert.ok(traceIds.every((id) => /^[0-9a-f]{32}$/.test(id)), 'every recorded line has a trace_id');
    assert.ok(traceIds.includes(ids.slow), 'the /slow trace has a recorded line');
    for (const e of recorded.flatMap((s) => s.entries)) assert.ok(e.line.includes(e.structuredMetadata['trace_id']!), e.line);
    for (const e of bridged.flatMap((s) => s.entries)) assert.ok(!e.line.includes(e.structuredMetadata['trace_id']!), e.line);
  });

  it('the provisioned query is the fact, the one README shows, and what verify interpolates for the /slow span', () => {
    assert.equal(tracesToLogs(tempo)!.query, SPAN_LOGS_QUERY);
    assert.ok(readFileSync(join(repoRoot, 'README.md'), 'utf8').includes('```logql\n' + SPAN_LOGS_QUERY + '\n```'), 'README shows the query Grafana runs');
    assert.equal(queryFor(ids.slow), `{job="demo-app"} | regexp "(?P<line_trace_id>${ids.slow})" | trace_id="${ids.slow}" or line_trace_id="${ids.slow}"`);
  });

  it('the recorded /slow span: exactly its trace\'s lines, shown unchanged (and the seed\'s line filter finds them too)', async () => {
    const expected = entriesOfTrace(recorded, ids.slow);
    assert.ok(expected.length > 0);
    const found = await lokiQuery(queryFor(ids.slow), recorded);
    assert.deepEqual(keysOf(found), keysOf(expected));
    for (const m of found) assert.equal(m.labels['job'], 'demo-app');
    assert.deepEqual(keysOf(await lokiQuery(queryFor(ids.slow, SEED_SPAN_LOGS_QUERY), recorded)), keysOf(expected));
  });

  it('the same lines from a logs bridge (trace id only in structured metadata): found by the provisioned query, not by the seed\'s', async () => {
    const expected = entriesOfTrace(bridged, ids.slow);
    assert.deepEqual(keysOf(await lokiQuery(queryFor(ids.slow), bridged)), keysOf(expected));
    assert.deepEqual(await lokiQuery(queryFor(ids.slow, SEED_SPAN_LOGS_QUERY), bridged), [], 'the seed\'s line filter misses them: why the query changed');
  });

  it('every recorded trace, in both forms: its own lines and never a line of another trace', async () => {
    for (const id of traceIds) {
      for (const [form, streams] of [['recorded', recorded], ['logs bridge', bridged]] as const) {
        const found = await lokiQuery(queryFor(id), streams);
        assert.deepEqual(keysOf(found), keysOf(entriesOfTrace(streams, id)), `${form}, trace ${id}`);
        assert.ok(found.length > 0, `${form}, trace ${id}`);
      }
    }
  });
});
