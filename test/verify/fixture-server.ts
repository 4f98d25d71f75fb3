// Replays the recorded API responses of test/fixtures/recorded over HTTP, one server per component.
// Data, not a backend: a request is answered only with a recorded response whose method, path,
// parameters and JSON body match; anything else is 404. Three rules relax exact equality:
// - a request's time range (start/end, from/until, in params or body) matches a recording whose
//   range contains it, since the checks ask for windows derived from span times, exactly as
//   Grafana does, and a recording over a wider range is what the backend had for them;
// - a trace by id recorded without start/end answers the same request with them: the recorded
//   traces were in Tempo's live store, which answers by id whatever the range (the range only
//   selects backend blocks), so the recording is what Tempo answers either way;
// - Connect JSON body keys match in either protojson spelling (profile_typeID or profileTypeID):
//   Pyroscope's JSON decoder accepts both for the same field.
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';

import { repoRoot } from '../../src/project.js';

export interface Fixture {
  file: string;
  component: string;
  version: string;
  request: { method: string; path: string; params: Record<string, string>; headers: Record<string, string>; body: Record<string, unknown> | null };
  status: number;
  content_type: string;
  response: unknown;
}

/** Real responses of Loki 3.7.6, Tempo 3.0.3, Pyroscope 2.2.1 and Prometheus 3, kept in the repository. */
export function fixturesDir(): string {
  return join(repoRoot, 'test', 'fixtures', 'recorded');
}

export function loadFixtures(): Fixture[] {
  const dir = fixturesDir();
  const index = JSON.parse(readFileSync(join(dir, 'index.json'), 'utf8')) as Array<{ file: string }>;
  return index.map(({ file }) => ({ file, ...(JSON.parse(readFileSync(join(dir, file), 'utf8')) as Omit<Fixture, 'file'>) }));
}

export function fixtureIds(): { slow: string; slow_profile_id: string; chain: string } {
  return JSON.parse(readFileSync(join(fixturesDir(), 'ids.json'), 'utf8')) as { slow: string; slow_profile_id: string; chain: string };
}

/** The recorded range: all recordings share it (seconds). */
export const RECORDED_END_SEC = 1795653159;

const RANGE: Array<[string, string]> = [
  ['start', 'end'],
  ['from', 'until'],
];

function num(v: unknown): bigint | undefined {
  if (typeof v === 'number' && Number.isFinite(v)) return BigInt(Math.round(v));
  if (typeof v === 'string' && /^-?\d+$/.test(v)) return BigInt(v);
  return undefined;
}

/** protojson's two spellings of one field (proto name and lowerCamelCase JSON name) as one key. */
const fieldKey = (k: string) => k.replace(/_/g, '').toLowerCase();
const byFieldKey = (o: Record<string, unknown>) => Object.fromEntries(Object.entries(o).map(([k, v]) => [fieldKey(k), v]));

const TRACE_BY_ID = /^\/api\/v2\/traces\/[0-9a-f]+$/;

/** Same keys; range keys contained in the recorded range; everything else equal. */
function sameFields(reqIn: Record<string, unknown>, recIn: Record<string, unknown>): boolean {
  const [req, rec] = [byFieldKey(reqIn), byFieldKey(recIn)];
  const keys = new Set([...Object.keys(req), ...Object.keys(rec)]);
  const rangeKeys = new Set(RANGE.flat());
  for (const k of keys) {
    if (!(k in req) || !(k in rec)) return false;
    if (rangeKeys.has(k)) continue;
    if (JSON.stringify(req[k]) !== JSON.stringify(rec[k])) return false;
  }
  for (const [lo, hi] of RANGE) {
    if (!(lo in rec)) continue;
    const [a, b, c, d] = [num(req[lo]), num(req[hi]), num(rec[lo]), num(rec[hi])];
    if (a === undefined || b === undefined || c === undefined || d === undefined) return false;
    if (a < c || b > d) return false;
  }
  return true;
}

export interface SeenRequest {
  method: string;
  path: string;
  params: Record<string, string>;
  body: unknown;
  headers: Record<string, string | string[] | undefined>;
  answeredWith: string | null;
}

export interface FixtureServer {
  url: string;
  component: string;
  requests: SeenRequest[];
  close(): Promise<void>;
}

export interface ServeOptions {
  component: string;
  /** Derive a variant: return a changed copy of a recording, or null to drop it. */
  transform?: (f: Fixture) => Fixture | null;
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

export async function serveFixtures(o: ServeOptions): Promise<FixtureServer> {
  const fixtures = loadFixtures()
    .filter((f) => f.component === o.component)
    .map((f) => (o.transform ? o.transform(structuredClone(f)) : f))
    .filter((f): f is Fixture => f !== null);
  const requests: SeenRequest[] = [];
  const server = createServer(async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://fixture');
    const params = Object.fromEntries(url.searchParams.entries());
    const text = await readBody(req);
    let body: unknown = null;
    if (text) {
      try {
        body = JSON.parse(text);
      } catch {
        body = text;
      }
    }
    const path = decodeURIComponent(url.pathname);
    const hit = fixtures.find(
      (f) =>
        f.request.method === req.method &&
        f.request.path === path &&
        sameFields(TRACE_BY_ID.test(path) && Object.keys(f.request.params).length === 0 ? {} : params, f.request.params) &&
        (f.request.body === null ? body === null : body !== null && typeof body === 'object' && sameFields(body as Record<string, unknown>, f.request.body)),
    );
    requests.push({ method: req.method ?? '', path, params, body, headers: req.headers, answeredWith: hit?.file ?? null });
    if (!hit) {
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end(`no recording for ${req.method} ${path}\n`);
      return;
    }
    res.writeHead(hit.status, { 'content-type': hit.content_type });
    res.end(typeof hit.response === 'string' ? hit.response : JSON.stringify(hit.response));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    component: o.component,
    requests,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

export interface FixtureStack {
  loki: FixtureServer;
  tempo: FixtureServer;
  prometheus: FixtureServer;
  pyroscope: FixtureServer;
  /** Flags pointing `lgtmp verify --direct` at the four servers. */
  urls: { lokiUrl: string; tempoUrl: string; prometheusUrl: string; pyroscopeUrl: string };
  close(): Promise<void>;
}

/** All four components; `transform` derives a variant (see ServeOptions). */
export async function serveFixtureStack(transform?: (f: Fixture) => Fixture | null): Promise<FixtureStack> {
  const [loki, tempo, prometheus, pyroscope] = await Promise.all(
    ['loki', 'tempo', 'prometheus', 'pyroscope'].map((component) => serveFixtures({ component, transform })),
  );
  return {
    loki: loki!,
    tempo: tempo!,
    prometheus: prometheus!,
    pyroscope: pyroscope!,
    urls: { lokiUrl: loki!.url, tempoUrl: tempo!.url, prometheusUrl: prometheus!.url, pyroscopeUrl: pyroscope!.url },
    close: async () => {
      await Promise.all([loki!, tempo!, prometheus!, pyroscope!].map((s) => s.close()));
    },
  };
}
