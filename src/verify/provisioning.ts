// The datasource settings the correlations depend on, read the way Grafana has them: from
// Grafana's API (/api/datasources/uid/<uid>, already interpolated by Grafana), or from the
// provisioning file with Grafana's own interpolation applied ($$ -> $, $VAR/${VAR} from env).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';

import { repoRoot } from '../project.js';
import { requestJson } from './http.js';
import type { TraceQueryOptions } from './trace-query.js';

export interface DatasourceSettings {
  uid: string;
  name: string;
  type: string;
  url: string;
  jsonData: Record<string, unknown>;
}

export interface Provisioning {
  /** Where the settings came from: the file path or the Grafana URL. */
  source: string;
  datasources: DatasourceSettings[];
}

export function findDatasource(p: Provisioning, uid: string | undefined): DatasourceSettings | undefined {
  return uid === undefined ? undefined : p.datasources.find((d) => d.uid === uid);
}

/**
 * Go's os.ExpandEnv as Grafana runs it over every provisioned string, after splitting on "$$"
 * (which becomes a literal "$"). An unescaped `${__span.traceId}` is thus expanded to the
 * (empty) environment variable "__span.traceId": the reason provisioning files must write $$.
 */
export function interpolateProvisioningValue(value: string, env: Record<string, string | undefined> = process.env): string {
  return value
    .split('$$')
    .map((part) => expandEnv(expandGrafanaEnvVar(part, env), env))
    .join('$');
}

/** Grafana's `$__env{NAME}` expander (the only one of setting.ExpandVar that needs no file or vault). */
function expandGrafanaEnvVar(s: string, env: Record<string, string | undefined>): string {
  return s.replace(/\$__env\{([^}]*)\}/g, (_m, name: string) => env[name] ?? '');
}

const SHELL_SPECIAL = '*#$@!?-0123456789';

/** A faithful port of Go's os.Expand semantics with an environment lookup. */
export function expandEnv(s: string, env: Record<string, string | undefined>): string {
  let out = '';
  let i = 0;
  while (i < s.length) {
    const ch = s[i]!;
    if (ch !== '$' || i + 1 >= s.length) {
      out += ch;
      i++;
      continue;
    }
    const rest = s.slice(i + 1);
    const [name, width] = shellName(rest);
    if (name === '' && width > 0) {
      // invalid syntax: Go eats the characters
    } else if (name === '') {
      out += '$';
    } else {
      out += env[name] ?? '';
    }
    i += 1 + width;
  }
  return out;
}

function shellName(s: string): [string, number] {
  if (s[0] === '{') {
    if (s.length > 2 && SHELL_SPECIAL.includes(s[1]!) && s[2] === '}') return [s[1]!, 3];
    for (let i = 1; i < s.length; i++) {
      if (s[i] === '}') {
        if (i === 1) return ['', 2];
        return [s.slice(1, i), i + 1];
      }
    }
    return ['', 1];
  }
  if (SHELL_SPECIAL.includes(s[0]!)) return [s[0]!, 1];
  let i = 0;
  while (i < s.length && /[A-Za-z0-9_]/.test(s[i]!)) i++;
  return [s.slice(0, i), i];
}

function interpolateDeep(v: unknown, env: Record<string, string | undefined>): unknown {
  if (typeof v === 'string') return interpolateProvisioningValue(v, env);
  if (Array.isArray(v)) return v.map((x) => interpolateDeep(x, env));
  if (v && typeof v === 'object') {
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, interpolateDeep(x, env)]));
  }
  return v;
}

/** Parse a provisioning file's text (apiVersion 1, `datasources:` list). */
export function parseProvisioningYaml(text: string, source: string, env: Record<string, string | undefined> = process.env): Provisioning {
  const doc = parse(text) as { datasources?: unknown[] } | null;
  const list = Array.isArray(doc?.datasources) ? doc.datasources : [];
  const datasources = list.map((raw) => {
    const d = interpolateDeep(raw, env) as Record<string, unknown>;
    return toSettings(d);
  });
  return { source, datasources };
}

/** The datasources file Grafana is provisioned with. */
export const defaultProvisioningFile = () => join(repoRoot, 'stack', 'grafana', 'provisioning', 'datasources', 'datasources.yaml');

export function readProvisioningFile(path: string, env: Record<string, string | undefined> = process.env): Provisioning {
  return parseProvisioningYaml(readFileSync(path, 'utf8'), path, env);
}

function toSettings(d: Record<string, unknown>): DatasourceSettings {
  return {
    uid: String(d['uid'] ?? ''),
    name: String(d['name'] ?? ''),
    type: String(d['type'] ?? ''),
    url: String(d['url'] ?? ''),
    jsonData: (d['jsonData'] && typeof d['jsonData'] === 'object' ? d['jsonData'] : {}) as Record<string, unknown>,
  };
}

/** The URL Grafana's HTTP API answers a datasource's settings on. */
export function grafanaDatasourceUrl(grafana: string, uid: string): string {
  return `${grafana.replace(/\/+$/, '')}/api/datasources/uid/${encodeURIComponent(uid)}`;
}

/** Parse the JSON Grafana's /api/datasources/uid/<uid> returns. */
export function parseGrafanaDatasource(json: unknown): DatasourceSettings {
  return toSettings((json ?? {}) as Record<string, unknown>);
}

/**
 * Read the datasources from Grafana: the given uids plus every uid their correlation settings
 * point at (derived fields, tracesTo*, exemplar destinations, service map).
 */
export async function readProvisioningFromGrafana(grafana: string, uids: string[]): Promise<Provisioning> {
  const seen = new Map<string, DatasourceSettings>();
  const queue = [...uids];
  while (queue.length > 0) {
    const uid = queue.shift()!;
    if (seen.has(uid)) continue;
    const json = await requestJson<unknown>({ name: 'Grafana', flag: '--grafana-url' }, grafana, `/api/datasources/uid/${encodeURIComponent(uid)}`).catch((err: unknown) => {
      if (err instanceof Error && 'status' in err && (err as { status: number }).status === 404) return undefined;
      throw err;
    });
    if (json === undefined) continue;
    const ds = parseGrafanaDatasource(json);
    seen.set(uid, ds);
    for (const ref of referencedUids(ds)) if (!seen.has(ref)) queue.push(ref);
  }
  return { source: grafana, datasources: [...seen.values()] };
}

/** Every datasource uid a datasource's correlation settings refer to. */
export function referencedUids(ds: DatasourceSettings): string[] {
  const j = ds.jsonData as Record<string, { datasourceUid?: unknown } | Array<{ datasourceUid?: unknown }> | undefined>;
  const out: unknown[] = [];
  for (const key of ['tracesToLogsV2', 'tracesToMetrics', 'tracesToProfiles', 'serviceMap']) {
    const v = j[key];
    if (v && !Array.isArray(v)) out.push(v.datasourceUid);
  }
  for (const key of ['derivedFields', 'exemplarTraceIdDestinations']) {
    const v = j[key];
    if (Array.isArray(v)) for (const x of v) out.push(x?.datasourceUid);
  }
  return [...new Set(out.filter((x): x is string => typeof x === 'string' && x !== ''))];
}

// Typed views of the correlation settings the checks use.

export interface TraceToLogsOptions {
  datasourceUid?: string;
  spanStartTimeShift?: string;
  spanEndTimeShift?: string;
  tags?: Array<{ key: string; value?: string }>;
  filterByTraceID?: boolean;
  filterBySpanID?: boolean;
  customQuery?: boolean;
  query?: string;
}

export interface TraceToMetricsOptions {
  datasourceUid?: string;
  spanStartTimeShift?: string;
  spanEndTimeShift?: string;
  tags?: Array<{ key: string; value?: string }>;
  queries?: Array<{ name?: string; query?: string }>;
}

export interface TraceToProfilesOptions {
  datasourceUid?: string;
  profileTypeId?: string;
  tags?: Array<{ key: string; value?: string }>;
  customQuery?: boolean;
  query?: string;
}

export interface DerivedField {
  name?: string;
  matcherType?: 'label' | 'regex';
  matcherRegex?: string;
  datasourceUid?: string;
  url?: string;
}

export interface ExemplarDestination {
  name?: string;
  datasourceUid?: string;
  url?: string;
}

export function traceQueryOf(tempo: DatasourceSettings): TraceQueryOptions | undefined {
  return tempo.jsonData['traceQuery'] as TraceQueryOptions | undefined;
}
export function tracesToLogs(tempo: DatasourceSettings): TraceToLogsOptions | undefined {
  return tempo.jsonData['tracesToLogsV2'] as TraceToLogsOptions | undefined;
}
export function tracesToMetrics(tempo: DatasourceSettings): TraceToMetricsOptions | undefined {
  return tempo.jsonData['tracesToMetrics'] as TraceToMetricsOptions | undefined;
}
export function tracesToProfiles(tempo: DatasourceSettings): TraceToProfilesOptions | undefined {
  return tempo.jsonData['tracesToProfiles'] as TraceToProfilesOptions | undefined;
}
export function derivedFields(loki: DatasourceSettings): DerivedField[] {
  const v = loki.jsonData['derivedFields'];
  return Array.isArray(v) ? (v as DerivedField[]) : [];
}
/** The Loki datasource's derived field that links a log line to a Tempo datasource (Grafana's trace button). */
export function tempoDerivedField(p: Provisioning, loki: DatasourceSettings): DerivedField | undefined {
  return derivedFields(loki).find((f) => f.datasourceUid && findDatasource(p, f.datasourceUid)?.type === 'tempo');
}
export function exemplarDestinations(prom: DatasourceSettings): ExemplarDestination[] {
  const v = prom.jsonData['exemplarTraceIdDestinations'];
  return Array.isArray(v) ? (v as ExemplarDestination[]) : [];
}
