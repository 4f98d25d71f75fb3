// Loki 3.7.6's own code on the tests' data, through tools/logql-check (its header says what it runs and what not):
// log exports as an SDK sent them -> the streams Loki's OTLP push parsing makes of them under stack/loki/loki.yaml,
// and a LogQL log query -> the entries Loki's parser and pipeline let through. An oracle, not a Loki: it serves nothing.
import { join } from 'node:path';
import { repoRoot, run } from './cache.js';
import { goTool } from './go-tool.js';
import type { CapturedLogRequest } from './otlp-receiver.js';

export interface LokiEntry { ts: string; line: string; structuredMetadata: Record<string, string> }
export interface LokiStream { labels: Record<string, string>; entries: LokiEntry[] }
/** An entry the query let through, with its stream's labels. */
export interface LokiMatch extends LokiEntry { labels: Record<string, string> }

export const LOKI_CONFIG = join(repoRoot, 'stack', 'loki', 'loki.yaml');

async function logqlCheck(args: string[], input: unknown): Promise<unknown> {
  const r = await run(await goTool('logql-check'), args, { input: JSON.stringify(input), timeoutMs: 60_000 });
  return JSON.parse(r.stdout);
}

/** The streams Loki stores for these log exports (labels, structured metadata, line), with our loki.yaml. */
export async function lokiStreamsOf(requests: CapturedLogRequest[]): Promise<LokiStream[]> {
  const input = requests.map((r) => ({ contentType: r.contentType, contentEncoding: r.contentEncoding, body: r.body.toString('base64') }));
  return (await logqlCheck(['otlp', '-loki-config', LOKI_CONFIG], input)) as LokiStream[];
}

/** The entries of `streams` that the LogQL log query returns. */
export async function lokiQuery(query: string, streams: LokiStream[]): Promise<LokiMatch[]> {
  return (await logqlCheck(['query', '-query', query], streams)) as LokiMatch[];
}
