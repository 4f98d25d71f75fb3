// Pyroscope client. Direct: the Connect API of the querier (JSON bodies). Through Grafana: the
// Pyroscope datasource has no HTTP proxy route for queries, so flame graphs go through
// /api/ds/query (queryType "profile", the datasource backend calls SelectMergeSpanProfile or
// SelectMergeStacktraces) and profile types / label values through the datasource's resources.
import { requestJson, type Backend } from './http.js';

export interface ProfileType {
  id: string;
  name: string;
  sampleType: string;
}

export interface FlameNode {
  name: string;
  level: number;
  total: number;
  self: number;
  parent: number;
}

export interface FlameGraph {
  total: number;
  nodes: FlameNode[];
}

export interface ProfileQuery {
  profileTypeId: string;
  labelSelector: string;
  spanSelector?: string[];
  startMs: number;
  endMs: number;
  maxNodes?: number;
}

export interface PyroscopeClient {
  readonly base: string;
  profileTypes(startMs: number, endMs: number): Promise<ProfileType[]>;
  labelValues(name: string, startMs: number, endMs: number): Promise<string[]>;
  /** The profile type ids one service sends: the __profile_type__ of its own series. */
  profileTypesOf(service: string, startMs: number, endMs: number): Promise<string[]>;
  flameGraph(q: ProfileQuery): Promise<FlameGraph>;
}

/** The label selector of one service's profiles. */
export const serviceSelector = (service: string) => `{service_name="${service}"}`;
const PROFILE_TYPE_LABEL = '__profile_type__';

export function parseProfileTypeId(id: string): ProfileType {
  const [name = '', sampleType = ''] = id.split(':');
  return { id, name, sampleType };
}

interface ConnectFlameGraph {
  names?: string[];
  levels?: Array<{ values?: Array<string | number> }>;
  total?: string | number;
}

/** Talks to Pyroscope itself. */
export class DirectPyroscopeClient implements PyroscopeClient {
  constructor(
    readonly base: string,
    readonly backend: Backend = { name: 'Pyroscope', flag: '--pyroscope-url' },
  ) {}

  private call<T>(method: string, body: unknown): Promise<T> {
    return requestJson<T>(this.backend, this.base, `/querier.v1.QuerierService/${method}`, { method: 'POST', body, headers: { 'Connect-Protocol-Version': '1' } });
  }

  async profileTypes(startMs: number, endMs: number): Promise<ProfileType[]> {
    const res = await this.call<{ profileTypes?: Array<{ ID: string; name?: string; sampleType?: string }> }>('ProfileTypes', { start: startMs, end: endMs });
    return (res.profileTypes ?? []).map((t) => ({ id: t.ID, name: t.name ?? '', sampleType: t.sampleType ?? '' }));
  }

  async labelValues(name: string, startMs: number, endMs: number): Promise<string[]> {
    const res = await this.call<{ names?: string[] }>('LabelValues', { name, start: startMs, end: endMs });
    return res.names ?? [];
  }

  async profileTypesOf(service: string, startMs: number, endMs: number): Promise<string[]> {
    const res = await this.call<{ labelsSet?: Array<{ labels?: Array<{ name: string; value: string }> }> }>('Series', {
      matchers: [serviceSelector(service)],
      labelNames: [PROFILE_TYPE_LABEL, 'service_name', '__name__', 'pyroscope_spy'],
      start: startMs,
      end: endMs,
    });
    const ids = (res.labelsSet ?? []).flatMap((s) => (s.labels ?? []).filter((l) => l.name === PROFILE_TYPE_LABEL).map((l) => l.value));
    return [...new Set(ids)].sort();
  }

  async flameGraph(q: ProfileQuery): Promise<FlameGraph> {
    const common = { profile_typeID: q.profileTypeId, label_selector: q.labelSelector };
    const res = q.spanSelector
      ? await this.call<{ flamegraph?: ConnectFlameGraph }>('SelectMergeSpanProfile', {
          ...common,
          span_selector: q.spanSelector,
          start: q.startMs,
          end: q.endMs,
          max_nodes: q.maxNodes ?? 64,
        })
      : await this.call<{ flamegraph?: ConnectFlameGraph }>('SelectMergeStacktraces', { ...common, start: q.startMs, end: q.endMs, max_nodes: q.maxNodes ?? 64 });
    return fromFlamebearer(res.flamegraph);
  }
}

/** The /api/ds/query request body Grafana's own UI sends for a Pyroscope profile query. */
export function dsQueryBody(uid: string, q: ProfileQuery): unknown {
  return {
    from: String(q.startMs),
    to: String(q.endMs),
    queries: [
      {
        refId: 'A',
        datasource: { type: 'grafana-pyroscope-datasource', uid },
        queryType: 'profile',
        profileTypeId: q.profileTypeId,
        labelSelector: q.labelSelector,
        spanSelector: q.spanSelector ?? [],
        groupBy: [],
        maxNodes: q.maxNodes ?? 64,
      },
    ],
  };
}

interface DataFrameJson {
  schema?: { fields?: Array<{ name: string; config?: { type?: { enum?: { text?: string[] } } } }> };
  data?: { values?: unknown[][] };
}

/** Goes through Grafana: /api/ds/query and /api/datasources/uid/<uid>/resources/*. */
export class GrafanaPyroscopeClient implements PyroscopeClient {
  constructor(
    readonly base: string,
    readonly uid: string,
    readonly backend: Backend = { name: 'Grafana/Pyroscope', flag: '--grafana-url' },
  ) {}

  private resource<T>(path: string, params: Record<string, string | number>): Promise<T> {
    return requestJson<T>(this.backend, this.base, `/api/datasources/uid/${encodeURIComponent(this.uid)}/resources/${path}`, { params });
  }

  async profileTypes(startMs: number, endMs: number): Promise<ProfileType[]> {
    const res = await this.resource<Array<{ id: string }> | null>('profileTypes', { start: startMs, end: endMs });
    return (res ?? []).map((t) => parseProfileTypeId(t.id));
  }

  async labelValues(name: string, startMs: number, endMs: number): Promise<string[]> {
    return (await this.resource<string[] | null>('labelValues', { label: name, query: '{}', start: startMs, end: endMs })) ?? [];
  }

  /** Grafana's labelValues resource passes `query` to Pyroscope as the matchers (pkg/tsdb/grafana-pyroscope-datasource). */
  async profileTypesOf(service: string, startMs: number, endMs: number): Promise<string[]> {
    const ids = (await this.resource<string[] | null>('labelValues', { label: PROFILE_TYPE_LABEL, query: serviceSelector(service), start: startMs, end: endMs })) ?? [];
    return [...new Set(ids)].sort();
  }

  async flameGraph(q: ProfileQuery): Promise<FlameGraph> {
    const res = await requestJson<{ results?: Record<string, { error?: string; status?: number; frames?: DataFrameJson[] }> }>(this.backend, this.base, '/api/ds/query', {
      method: 'POST',
      body: dsQueryBody(this.uid, q),
    });
    const r = res.results?.['A'];
    if (r?.error) throw new Error(`Grafana's Pyroscope datasource: ${r.error}`);
    return fromNestedSetFrame(r?.frames?.[0]);
  }
}

/** Pyroscope's flamebearer levels: per level, quads [offset from previous sibling's end, total, self, name index]. */
export function fromFlamebearer(fg: ConnectFlameGraph | undefined): FlameGraph {
  const names = fg?.names ?? [];
  const levels = fg?.levels ?? [];
  const nodes: FlameNode[] = [];
  let prevLevel: Array<{ idx: number; start: number; total: number }> = [];
  levels.forEach((lvl, level) => {
    const v = (lvl.values ?? []).map(Number);
    const cur: typeof prevLevel = [];
    let offset = 0;
    for (let i = 0; i + 3 < v.length; i += 4) {
      const start = offset + v[i]!;
      const total = v[i + 1]!;
      const parent = prevLevel.find((p) => start >= p.start && start + total <= p.start + p.total);
      nodes.push({ name: names[v[i + 3]!] ?? '?', level, total, self: v[i + 2]!, parent: parent ? parent.idx : -1 });
      cur.push({ idx: nodes.length - 1, start, total });
      offset = start + total;
    }
    prevLevel = cur;
  });
  return { total: nodes[0]?.total ?? 0, nodes };
}

/** Grafana's nested-set data frame: fields level, value, self, label (an enum), depth first. */
export function fromNestedSetFrame(frame: DataFrameJson | undefined): FlameGraph {
  const fields = frame?.schema?.fields ?? [];
  const values = frame?.data?.values ?? [];
  const col = (name: string) => fields.findIndex((f) => f.name === name);
  const [li, vi, si, ni] = [col('level'), col('value'), col('self'), col('label')];
  if (li < 0 || vi < 0 || ni < 0) return { total: 0, nodes: [] };
  const enumText = fields[ni]?.config?.type?.enum?.text;
  const levels = (values[li] ?? []) as number[];
  const nodes: FlameNode[] = [];
  const stack: number[] = [];
  levels.forEach((level, i) => {
    stack.length = level;
    const label = (values[ni] ?? [])[i];
    const name = enumText && typeof label === 'number' ? (enumText[label] ?? '?') : String(label);
    nodes.push({ name, level, total: Number((values[vi] ?? [])[i] ?? 0), self: Number(si >= 0 ? ((values[si] ?? [])[i] ?? 0) : 0), parent: level > 0 ? (stack[level - 1] ?? -1) : -1 });
    stack[level] = i;
  });
  return { total: nodes[0]?.total ?? 0, nodes };
}

export interface FrameShare {
  frame: string;
  value: number;
  share: number;
}

const NOT_FRAMES = new Set(['total', 'other']);

/** Hottest frames by self value. */
export function topSelfFrames(fg: FlameGraph, n: number): FrameShare[] {
  const self = new Map<string, number>();
  for (const node of fg.nodes) if (!NOT_FRAMES.has(node.name) && node.self > 0) self.set(node.name, (self.get(node.name) ?? 0) + node.self);
  return [...self.entries()]
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
    .slice(0, n)
    .map(([frame, value]) => ({ frame, value, share: fg.total > 0 ? value / fg.total : 0 }));
}

/** Inclusive share of the frames matching `re` (a frame under another matching frame counts once). */
export function inclusiveShare(fg: FlameGraph, re: RegExp): number {
  if (fg.total <= 0) return 0;
  const matched = new Set<number>();
  let sum = 0;
  fg.nodes.forEach((node, i) => {
    if (!re.test(node.name)) return;
    matched.add(i);
    if (node.parent >= 0 && hasMatchedAncestor(fg, node.parent, matched)) return;
    sum += node.total;
  });
  return sum / fg.total;
}

function hasMatchedAncestor(fg: FlameGraph, idx: number, matched: Set<number>): boolean {
  for (let i = idx; i >= 0; i = fg.nodes[i]!.parent) if (matched.has(i)) return true;
  return false;
}

/**
 * The /slow work in every language: the seed's checkEmail and the regex engines under it
 * (Go regexp.*, java.util.regex, Python re/sre, V8 RegExp).
 */
export const REGEX_WORK = /checkEmail|check_email|regexp\.|java[./]util[./]regex|\bre\.|_sre|sre_|RegExp|Regex/;
