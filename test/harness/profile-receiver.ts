// In-process Pyroscope ingest receiver:
//  - POST /ingest?name=app{k=v}&from&until&spyName&sampleRate&format=pprof|jfr — body: gzip'd or plain pprof
//    (@pyroscope/nodejs: raw body), multipart with a `profile` part (pyroscope-go), or JFR (Java agent default:
//    multipart `jfr` + `labels` parts, gzip'd).
//  - POST /push.v1.PusherService/Push — Connect unary, PushRequest (Pyroscope's push.proto) with gzip'd pprof inside.
// pprof is decoded with pprof-format; JFR with the JDK (tools/jfr-decode). Labels as Pyroscope sees them:
// `profile_id` is also exposed as `span_id` (Pyroscope renames it on ingest). Each profile also carries the
// profile type id Pyroscope 2.2.1 files it under (name:sampleType:unit:periodType:periodUnit), the id that
// Grafana's tracesToProfiles.profileTypeId must match. The naming follows grafana/pyroscope at v2.2.1 (each rule
// cites its file); test/apps.test.ts checks every id it gives the four apps' uploads against the ids the real
// Pyroscope 2.2.1 filed the same apps' uploads under (test/fixtures/recorded/pyroscope/apps-series-*.json).
import type { IncomingMessage, ServerResponse } from 'node:http';
import { gunzipSync } from 'node:zlib';
import { Profile } from 'pprof-format';
import { JfrDecoder } from './jfr.js';
import { pyroscopeRoot } from './protos.js';
import { serveOnLoopback } from './loopback.js';

export interface ProfileSample { stack: string[]; value: number; labels: Record<string, string> }
export interface ReceivedProfile {
  service: string; labels: Record<string, string>; sampleType: string; samples: ProfileSample[];
  wire: 'ingest-pprof' | 'ingest-jfr' | 'push';
  /** e.g. process_cpu:cpu:nanoseconds:cpu:nanoseconds */
  profileTypeId: string;
}
export interface ProfileRequest { path: string; query: string; contentType: string; contentEncoding: string; bytes: number; status: number; error?: string; wire?: ReceivedProfile['wire'] }
export interface ProfileReceiver {
  url: string;
  profiles(): ReceivedProfile[];
  /** The samples of `service`'s `profileTypeId` profiles labelled with `spanId` (what a span selector picks). */
  spanSamples(service: string, profileTypeId: string, spanId: string): ProfileSample[];
  close(): Promise<void>;
  /** Every request received (diagnostics), including rejected ones. */
  requests(): ProfileRequest[];
  summary(): string;
}

const isGzip = (b: Uint8Array): boolean => b.length > 2 && b[0] === 0x1f && b[1] === 0x8b;
const maybeGunzip = (b: Buffer): Buffer => (isGzip(b) ? gunzipSync(b) : b);

/** `app{k=v,k2=v2}` -> { service: 'app', labels } (Pyroscope's application-name syntax). */
export function parseAppName(name: string): { service: string; labels: Record<string, string> } {
  const i = name.indexOf('{');
  const labels: Record<string, string> = {};
  if (i < 0) return { service: name.trim(), labels };
  const inner = name.slice(i + 1, name.lastIndexOf('}') > i ? name.lastIndexOf('}') : undefined);
  for (const kv of inner.split(',')) {
    const eq = kv.indexOf('=');
    if (eq > 0) labels[kv.slice(0, eq).trim()] = kv.slice(eq + 1).trim();
  }
  return { service: name.slice(0, i).trim(), labels };
}

function withSpanId(labels: Record<string, string>): Record<string, string> {
  if (labels.profile_id !== undefined && labels.span_id === undefined) return { ...labels, span_id: labels.profile_id };
  return labels;
}

/** Display names by sample type, as an /ingest upload's `sample_type_config` part gives them. */
export type SampleTypeDisplayNames = Record<string, string | undefined>;

/**
 * The display names Pyroscope uses when an upload sends no sample_type_config: DefaultSampleTypeMapping of
 * pkg/og/storage/tree/pprof.go (grafana/pyroscope v2.2.1).
 */
const DEFAULT_DISPLAY_NAMES: SampleTypeDisplayNames = { samples: 'cpu', goroutine: 'goroutines', contentions: 'mutex_count', delay: 'mutex_duration' };

/**
 * The profile name Pyroscope's /ingest gives a pprof (RawProfile.metricName in pkg/og/convert/pprof/profile.go,
 * v2.2.1): `wall` if a sample type is wall; else, taking each sample type by its display name, the first that names
 * CPU, allocations, mutex, block or goroutines; else the last display name.
 */
function ingestProfileName(sampleTypes: string[], displayNames: SampleTypeDisplayNames = DEFAULT_DISPLAY_NAMES): string {
  if (sampleTypes.includes('wall')) return 'wall';
  let st = '';
  for (const type of sampleTypes) {
    st = displayNames[type] || type;
    if (st.includes('cpu')) return 'process_cpu';
    if (st.includes('alloc_') || st.includes('inuse_') || st === 'space' || st === 'objects') return 'memory';
    if (st.includes('mutex_')) return 'mutex';
    if (st.includes('block_')) return 'block';
    if (st.includes('goroutines')) return 'goroutines';
  }
  return st;
}

/**
 * Pyroscope's default relabeling of every series (defaultRelabelRules in pkg/validation/relabeling.go, v2.2.1):
 * pyroscope-go's `godeltaprof_` prefix is dropped, and a `wall` profile's `cpu` sample type is `process_cpu`.
 */
function relabeledName(name: string, sampleType: string): string {
  const unprefixed = name.replace(/^godeltaprof_/, '');
  return unprefixed === 'wall' && sampleType === 'cpu' ? 'process_cpu' : unprefixed;
}

/**
 * The profile type id of a JFR sample type as tools/jfr-decode names them: Pyroscope v2.2.1 turns JFR into pprof
 * with grafana/jfr-parser's pprof package (pkg/og/convert/jfr/profile.go); its profileBuilderForSampleType
 * (pprof/pprof.go, read at jfr-parser v0.14.0) names each event kind's profile, sample types and period.
 */
function jfrProfileTypeId(sampleType: string, unit: string): string {
  const [name, type, period] = ((): [string, string, string] => {
    if (sampleType === 'cpu') return ['process_cpu', 'cpu', 'cpu:nanoseconds'];
    if (sampleType === 'wall') return ['wall', 'wall', 'wall:nanoseconds'];
    if (/^alloc_(in_new_tlab|outside_tlab|sample)_/.test(sampleType)) return ['memory', sampleType, 'space:bytes'];
    if (sampleType === 'contentions' || sampleType === 'delay') return ['mutex', sampleType, 'mutex:count']; // jdk.JavaMonitorEnter
    if (sampleType.startsWith('block_')) return ['block', sampleType.slice('block_'.length), 'block:count']; // jdk.ThreadPark
    if (sampleType === 'live') return ['memory', 'live', 'objects:count'];
    if (sampleType.startsWith('malloc_')) return ['memory', sampleType, ':']; // jfr-parser sets no period type
    throw new Error(`a JFR sample type Pyroscope's JFR parser has no profile for: ${sampleType}`);
  })();
  return `${name}:${type}:${unit}:${period}`;
}

/**
 * Decode a (possibly gzip'd) pprof into one ReceivedProfile per sample type. `name`: the profile name
 * (`__name__` of a push); by default the one Pyroscope's /ingest derives from the sample types and the upload's
 * display names.
 */
export function decodePprof(
  raw: Buffer,
  base: { service: string; labels: Record<string, string>; wire: ReceivedProfile['wire']; name?: string; displayNames?: SampleTypeDisplayNames },
): ReceivedProfile[] {
  const p = Profile.decode(maybeGunzip(raw));
  const strings = p.stringTable.strings;
  const s = (i: number | bigint | undefined): string => (i === undefined ? '' : strings[Number(i)] ?? '');
  const name = base.name ?? ingestProfileName(p.sampleType.map((st) => s(st.type)), base.displayNames);
  const period = `${s(p.periodType?.type)}:${s(p.periodType?.unit)}`;
  const funcs = new Map<string, string>();
  for (const f of p.function) {
    funcs.set(String(f.id), s(f.name) || s(f.systemName));
  }
  const locs = new Map<string, string[]>(); // frames of one location, caller first
  for (const l of p.location) {
    const names = l.line.map((ln) => funcs.get(String(ln.functionId)) ?? `func#${ln.functionId}`);
    if (names.length === 0) names.push(`0x${BigInt(l.address).toString(16)}`);
    locs.set(String(l.id), names.reverse()); // pprof lists inlined frames callee first
  }
  const samples = p.sample.map((smp) => {
    const stack: string[] = [];
    for (let i = smp.locationId.length - 1; i >= 0; i--) stack.push(...(locs.get(String(smp.locationId[i])) ?? [`loc#${smp.locationId[i]}`]));
    const labels: Record<string, string> = {};
    for (const l of smp.label) {
      const k = s(l.key);
      if (!k) continue;
      labels[k] = Number(l.str) !== 0 ? s(l.str) : String(l.num);
    }
    return { stack, values: smp.value.map((v) => Number(v)), labels: withSpanId(labels) };
  });
  return p.sampleType.map((st, idx) => ({
    service: base.service,
    labels: base.labels,
    sampleType: s(st.type),
    profileTypeId: `${relabeledName(name, s(st.type))}:${s(st.type)}:${s(st.unit)}:${period}`,
    wire: base.wire,
    samples: samples
      .filter((x) => (x.values[idx] ?? 0) !== 0)
      .map((x) => ({ stack: x.stack, value: x.values[idx] ?? 0, labels: x.labels })),
  }));
}

interface Part { name: string; filename: string; contentType: string; data: Buffer }

export function parseMultipart(body: Buffer, boundary: string): Part[] {
  const delim = Buffer.from(`--${boundary}`);
  const parts: Part[] = [];
  let pos = body.indexOf(delim);
  while (pos >= 0) {
    let start = pos + delim.length;
    if (body[start] === 0x2d && body[start + 1] === 0x2d) break; // closing --boundary--
    if (body[start] === 0x0d && body[start + 1] === 0x0a) start += 2;
    const headerEnd = body.indexOf('\r\n\r\n', start);
    if (headerEnd < 0) throw new Error('malformed multipart body (no header end)');
    const headers = body.subarray(start, headerEnd).toString('utf8');
    const next = body.indexOf(Buffer.from(`\r\n--${boundary}`), headerEnd + 4);
    if (next < 0) throw new Error('malformed multipart body (no closing boundary)');
    const disp = /content-disposition:[^\r\n]*/i.exec(headers)?.[0] ?? '';
    parts.push({
      name: /\bname="([^"]*)"/i.exec(disp)?.[1] ?? '',
      filename: /\bfilename="([^"]*)"/i.exec(disp)?.[1] ?? '',
      contentType: /content-type:\s*([^\r\n]*)/i.exec(headers)?.[1]?.trim() ?? '',
      data: body.subarray(headerEnd + 4, next),
    });
    pos = next + 2;
  }
  return parts;
}

/**
 * Frames by inclusive value (a frame counts once per sample), as a share of the total, highest first.
 * Frames present in every sample (the common roots) are left out.
 */
export function hottestFrames(samples: ProfileSample[], n: number): { frame: string; share: number }[] {
  const total = samples.reduce((a, x) => a + x.value, 0);
  if (total <= 0) return [];
  const byFrame = new Map<string, { value: number; count: number }>();
  for (const smp of samples) {
    for (const f of new Set(smp.stack)) {
      const e = byFrame.get(f) ?? { value: 0, count: 0 };
      e.value += smp.value;
      e.count++;
      byFrame.set(f, e);
    }
  }
  return [...byFrame]
    .filter(([, e]) => e.count < samples.length)
    .sort((a, b) => b[1].value - a[1].value)
    .slice(0, n)
    .map(([frame, e]) => ({ frame, share: e.value / total }));
}

/** Frames by self value (the leaf of each stack, stacks being root first), as a share of the total, highest first. */
export function selfFrames(samples: ProfileSample[], n: number): { frame: string; share: number }[] {
  const total = samples.reduce((a, x) => a + x.value, 0);
  if (total <= 0) return [];
  const byLeaf = new Map<string, number>();
  for (const smp of samples) {
    const leaf = smp.stack.at(-1) ?? '';
    byLeaf.set(leaf, (byLeaf.get(leaf) ?? 0) + smp.value);
  }
  return [...byLeaf].sort((a, b) => b[1] - a[1]).slice(0, n).map(([frame, value]) => ({ frame, share: value / total }));
}

/** Share of the total value whose stack contains a frame matching `re`. */
export function frameShare(samples: ProfileSample[], re: RegExp): number {
  const total = samples.reduce((a, x) => a + x.value, 0);
  if (total <= 0) return 0;
  return samples.filter((x) => x.stack.some((f) => re.test(f))).reduce((a, x) => a + x.value, 0) / total;
}

export async function startProfileReceiver(): Promise<ProfileReceiver> {
  const profiles: ReceivedProfile[] = [];
  const requests: ProfileRequest[] = [];
  const jfr = new JfrDecoder();

  const ingest = async (req: IncomingMessage, url: URL, body: Buffer, rec: ProfileRequest): Promise<ReceivedProfile[]> => {
    const q = url.searchParams;
    const { service, labels } = parseAppName(q.get('name') ?? '');
    if (!service) throw new Error('missing ?name=');
    const format = (q.get('format') ?? '').toLowerCase();
    const ctype = rec.contentType;
    let main: Buffer = body;
    let labelsPart: Buffer | undefined;
    let displayNames: SampleTypeDisplayNames | undefined;
    if (ctype.startsWith('multipart/form-data')) {
      const boundary = /boundary="?([^";]+)"?/i.exec(req.headers['content-type'] ?? '')?.[1];
      if (!boundary) throw new Error('multipart body without boundary');
      const parts = parseMultipart(body, boundary);
      const pick = (n: string): Part | undefined => parts.find((p) => p.name === n);
      const part = format === 'jfr' ? pick('jfr') : pick('profile') ?? pick('jfr');
      if (!part) throw new Error(`multipart body without a profile/jfr part (parts: ${parts.map((p) => p.name).join(', ')})`);
      main = part.data;
      labelsPart = pick('labels')?.data;
      // pyroscope-go sends its own display names (e.g. mutex_count/block_count for the same `contentions`), which
      // replace Pyroscope's defaults whole (RawProfile.getSampleTypes, pkg/og/convert/pprof/profile.go)
      const config = pick('sample_type_config')?.data;
      if (config) {
        const parsed = JSON.parse(config.toString('utf8')) as Record<string, { 'display-name'?: string } | null>;
        displayNames = Object.fromEntries(Object.entries(parsed).map(([type, c]) => [type, c?.['display-name']]));
      }
      if (part.name === 'jfr' && format !== 'jfr') throw new Error('jfr part without format=jfr');
    }
    const allLabels = { ...labels, service_name: service };
    if (format === 'jfr') {
      rec.wire = 'ingest-jfr';
      const decoded = await jfr.decode(maybeGunzip(main), labelsPart ? maybeGunzip(labelsPart) : undefined);
      const rate = Number(q.get('sampleRate') ?? '0');
      const period = rate > 0 ? Math.round(1e9 / rate) : 0;
      return decoded.profiles.map((p) => ({
        service, labels: allLabels, sampleType: p.sampleType, wire: 'ingest-jfr' as const,
        profileTypeId: jfrProfileTypeId(p.sampleType, p.unit),
        samples: p.samples.map((x) => ({ stack: x.stack, value: p.perSample ? x.value * period : x.value, labels: withSpanId(x.labels) })),
      }));
    }
    if (format !== '' && format !== 'pprof') throw new Error(`unsupported ingest format ${JSON.stringify(format)}`);
    rec.wire = 'ingest-pprof';
    return decodePprof(main, { service, labels: allLabels, wire: 'ingest-pprof', ...(displayNames ? { displayNames } : {}) });
  };

  const push = async (body: Buffer, rec: ProfileRequest): Promise<ReceivedProfile[]> => {
    rec.wire = 'push';
    const root = await pyroscopeRoot();
    const T = root.lookupType('push.v1.PushRequest');
    let msg;
    if (rec.contentType === 'application/json') msg = T.fromObject(JSON.parse(body.toString('utf8')) as Record<string, unknown>);
    else if (rec.contentType === 'application/proto' || rec.contentType === 'application/x-protobuf' || rec.contentType === 'application/protobuf') msg = T.decode(body);
    else throw new Error(`unsupported content type ${JSON.stringify(rec.contentType)} for Push`);
    const obj = T.toObject(msg, { arrays: true, defaults: false }) as { series?: { labels?: { name?: string; value?: string }[]; samples?: { rawProfile?: Uint8Array }[] }[] };
    const out: ReceivedProfile[] = [];
    for (const series of obj.series ?? []) {
      const labels: Record<string, string> = {};
      for (const l of series.labels ?? []) if (l.name) labels[l.name] = l.value ?? '';
      const service = labels.service_name ?? labels['service.name'] ?? labels.__name__ ?? '';
      for (const smp of series.samples ?? []) {
        if (!smp.rawProfile || smp.rawProfile.length === 0) continue;
        out.push(...decodePprof(Buffer.from(smp.rawProfile), { service, labels, wire: 'push', name: labels.__name__ ?? '' }));
      }
    }
    return out;
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://x');
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    let body = Buffer.concat(chunks);
    const rec: ProfileRequest = {
      path: url.pathname, query: url.search, bytes: body.length, status: 200,
      contentType: (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase(),
      contentEncoding: String(req.headers['content-encoding'] ?? req.headers['connect-content-encoding'] ?? '').toLowerCase(),
    };
    const isIngest = url.pathname === '/ingest';
    const isPush = url.pathname === '/push.v1.PusherService/Push';
    if (req.method !== 'POST' || (!isIngest && !isPush)) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('404 page not found\n');
      return;
    }
    requests.push(rec);
    try {
      if (rec.contentEncoding === 'gzip') body = gunzipSync(body);
      else if (rec.contentEncoding && rec.contentEncoding !== 'identity') throw new Error(`unsupported content encoding ${rec.contentEncoding}`);
      const got = isIngest ? await ingest(req, url, body, rec) : await push(body, rec);
      profiles.push(...got);
    } catch (e) {
      rec.status = 400;
      rec.error = e instanceof Error ? e.message : String(e);
      console.error(`[profile-receiver] rejected ${url.pathname}${url.search.slice(0, 200)}: ${rec.error}`);
      if (isPush) {
        res.writeHead(400, { 'content-type': 'application/json' }).end(JSON.stringify({ code: 'invalid_argument', message: rec.error }));
      } else {
        res.writeHead(400, { 'content-type': 'text/plain' }).end(rec.error);
      }
      return;
    }
    if (isPush) {
      if (rec.contentType === 'application/json') res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      else res.writeHead(200, { 'content-type': 'application/proto' }).end();
    } else {
      res.writeHead(200).end();
    }
  };

  const { server, url } = await serveOnLoopback(handle);
  return {
    url,
    profiles: () => [...profiles],
    spanSamples: (service, profileTypeId, spanId) =>
      profiles.filter((p) => p.service === service && p.profileTypeId === profileTypeId).flatMap((p) => p.samples.filter((x) => x.labels.span_id === spanId)),
    requests: () => [...requests],
    summary: () => {
      const kinds = new Map<string, number>();
      for (const p of profiles) {
        const k = `${p.service}/${p.wire}/${p.profileTypeId}`;
        kinds.set(k, (kinds.get(k) ?? 0) + p.samples.length);
      }
      const rejected = requests.filter((r) => r.status !== 200);
      return `profile receiver ${url}: ${requests.length} requests (${rejected.length} rejected${rejected.length ? ': ' + rejected.slice(-3).map((r) => r.error).join(' | ') : ''}); ` +
        `profiles ${profiles.length}: ${[...kinds].map(([k, v]) => `${k}=${v} samples`).join(', ') || 'none'}`;
    },
    close: async () => {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      await jfr.close();
    },
  };
}
