// Grafana's variable substitution for the trace -> logs / metrics / profiles links, as its trace
// view does it in Grafana v13.2.1, GRAFANA_VERSION in .env (public/app/features/explore/TraceView/
// createSpanLink.tsx, its getTimeRangeFromSpan adding both shifts to the span's start and end, 0
// by default for logs, -2m/+2m for metrics, +-60 s for profiles; and the Tempo result
// transformer): scoped variables `__span` and `__tags` (not `__trace`, which no
// provisioned query uses), the template syntaxes `$name`, `${name}`, `${name.path}`,
// `${name:format}`, `[[name]]`, and the time window around the span with the provisioned shifts.
import { grafanaIntervalMs } from './grafana-interval.js';
import type { TraceToLogsOptions, TraceToMetricsOptions, TraceToProfilesOptions } from './provisioning.js';

/** The span as Grafana's trace view models it (times in microseconds, like TraceSpan). */
export interface LinkSpan {
  traceId: string;
  spanId: string;
  name: string;
  startTimeUs: number;
  durationUs: number;
  /** Resource attributes ("process tags"), service.name included. */
  resource: Record<string, unknown>;
  /** Span attributes ("span tags"). */
  attributes: Record<string, unknown>;
}

export type ScopedVars = Record<string, unknown>;

export interface Substitution {
  text: string;
  /** Variables the text uses that have no value: Grafana then hides the link (getVariableUsageInfo). */
  undefinedVariables: string[];
}

// Grafana's variable regex (public/app/features/variables/utils.ts): $name | [[name:fmt]] | ${name.fieldPath:fmt}
const VARIABLE_RE = /\$(\w+)|\[\[(\w+?)(?::(\w+))?\]\]|\$\{(\w+)(?:\.([^:^}]+))?(?::([^}]+))?\}/g;

/** Replace Grafana template variables from scoped vars. Unknown variables stay as written. */
export function substitute(text: string, vars: ScopedVars): Substitution {
  const undefinedVariables: string[] = [];
  const out = text.replace(VARIABLE_RE, (match, v1?: string, v2?: string, _f2?: string, v3?: string, fieldPath?: string) => {
    const name = (v1 ?? v2 ?? v3)!;
    if (!(name in vars)) {
      undefinedVariables.push(match);
      return match;
    }
    let value: unknown = vars[name];
    if (fieldPath) value = getPath(value, fieldPath);
    if (value === undefined || value === null) {
      undefinedVariables.push(match);
      return match;
    }
    return formatValue(value);
  });
  return { text: out, undefinedVariables };
}

function formatValue(v: unknown): string {
  if (Array.isArray(v)) return v.length === 1 ? String(v[0]) : `{${v.join(',')}}`; // Grafana's default "glob" format
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}

/** Property path as Grafana resolves a fieldPath: `a.b`, `a["x.y"]`, `a['x']`, `a[0]`. */
export function getPath(obj: unknown, path: string): unknown {
  const parts: string[] = [];
  const re = /([^.[\]]+)|\[\s*(?:"([^"]*)"|'([^']*)'|(\d+))\s*\]/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(path)) !== null) parts.push((m[1] ?? m[2] ?? m[3] ?? m[4])!);
  let cur: unknown = obj;
  for (const p of parts) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string, unknown>)[p];
  }
  return cur;
}

/** scopedVarsFromSpan: __span.{spanId, traceId, duration, name, tags} (tags = resource then span attributes). */
export function spanVars(span: LinkSpan): ScopedVars {
  return {
    __span: {
      spanId: span.spanId,
      traceId: span.traceId,
      duration: span.durationUs,
      name: span.name,
      tags: { ...span.resource, ...span.attributes },
    },
  };
}

/**
 * getFormattedTags: for every resource attribute, span attribute and the pseudo tags spanId,
 * traceId, name, duration that the mapping names, `<mapped key>="<value>"`, joined by ", ".
 */
export function formattedTags(span: LinkSpan, tags: Array<{ key: string; value?: string }>): string {
  const all: Array<{ key: string; value: unknown }> = [
    ...Object.entries(span.resource).map(([key, value]) => ({ key, value })),
    ...Object.entries(span.attributes).map(([key, value]) => ({ key, value })),
    { key: 'spanId', value: span.spanId },
    { key: 'traceId', value: span.traceId },
    { key: 'name', value: span.name },
    { key: 'duration', value: span.durationUs },
  ];
  return all
    .map((tag) => {
      const mapping = tags.find((t) => t.key === tag.key);
      return mapping ? `${mapping.value ? mapping.value : mapping.key}="${String(tag.value)}"` : undefined;
    })
    .filter((s): s is string => Boolean(s))
    .join(', ');
}

/** Grafana's defaults when no tags are configured (dots turned into underscores). */
const withUnderscore = (keys: string[]) => keys.map((key) => ({ key, value: key.includes('.') ? key.replace('.', '_') : undefined }));
export const DEFAULT_TAG_KEYS = withUnderscore(['cluster', 'hostname', 'namespace', 'pod', 'service.name', 'service.namespace']);
export const DEFAULT_PROFILING_KEYS = withUnderscore(['service.name', 'service.namespace']);

export interface TimeRange {
  fromMs: number;
  toMs: number;
}

/** getTimeRangeFromSpan: [start + startShift, end + endShift] in ms, at least 1 ms wide; profiles get +-60 s. */
export function spanTimeRange(span: LinkSpan, shift: { startMs: number; endMs: number } = { startMs: 0, endMs: 0 }, forProfiles = false): TimeRange {
  let fromMs = Math.floor(span.startTimeUs / 1000 + shift.startMs);
  let toMs = Math.floor((span.startTimeUs + span.durationUs) / 1000 + shift.endMs);
  if (forProfiles) {
    fromMs -= 60_000;
    toMs += 60_000;
  } else if (fromMs === toMs) {
    toMs++;
  }
  return { fromMs, toMs };
}

const shiftMs = (v: string | undefined, dflt: number) => (v ? grafanaIntervalMs(v) : dflt);

export interface LinkQuery {
  query: string;
  name?: string;
  range: TimeRange;
  undefinedVariables: string[];
}

/** Trace -> logs for a Loki datasource: the query Grafana puts in the "Logs for this span" link. */
export function traceToLogsQuery(span: LinkSpan, o: TraceToLogsOptions): LinkQuery | undefined {
  const tagsToUse = o.tags && o.tags.length > 0 ? o.tags : DEFAULT_TAG_KEYS;
  const tags = formattedTags(span, tagsToUse);
  let expr: string;
  if (o.customQuery && o.query) {
    expr = o.query;
  } else {
    if (!tags) return undefined; // Grafana shows no link when none of the tags is on the span
    expr = '{${__tags}}';
    if (o.filterByTraceID && span.traceId) {
      expr +=
        ' | label_format log_line_contains_trace_id=`{{ contains "${__span.traceId}" __line__  }}` | log_line_contains_trace_id="true" OR trace_id="${__span.traceId}"';
    }
    if (o.filterBySpanID && span.spanId) {
      expr +=
        ' | label_format log_line_contains_span_id=`{{ contains "${__span.spanId}" __line__  }}` | log_line_contains_span_id="true" OR span_id="${__span.spanId}"';
    }
  }
  const vars: ScopedVars = { ...spanVars(span), __tags: tags };
  const s = substitute(expr, vars);
  return {
    query: s.text,
    undefinedVariables: s.undefinedVariables,
    range: spanTimeRange(span, { startMs: shiftMs(o.spanStartTimeShift, 0), endMs: shiftMs(o.spanEndTimeShift, 0) }),
  };
}

/** Trace -> metrics: one PromQL query per provisioned entry, with `$__tags` from the mapping. */
export function traceToMetricsQueries(span: LinkSpan, o: TraceToMetricsOptions): LinkQuery[] {
  const tagsToUse = o.tags && o.tags.length > 0 ? o.tags : DEFAULT_TAG_KEYS;
  const vars: ScopedVars = { ...spanVars(span), __tags: formattedTags(span, tagsToUse) };
  const range = spanTimeRange(span, { startMs: shiftMs(o.spanStartTimeShift, -120_000), endMs: shiftMs(o.spanEndTimeShift, 120_000) });
  return (o.queries ?? []).map((q) => {
    const expr = q.query || `histogram_quantile(0.5, sum(rate(traces_spanmetrics_latency_bucket{service="${String(span.resource['service.name'] ?? '')}"}[5m])) by (le))`;
    const s = substitute(expr, vars);
    return { query: s.text, name: q.name, range, undefinedVariables: s.undefinedVariables };
  });
}

export interface ProfileLinkQuery {
  profileTypeId: string;
  labelSelector: string;
  spanSelector: string[];
  range: TimeRange;
  undefinedVariables: string[];
}

/** Trace -> profiles ("Profiles for this span"): the Pyroscope query of the Tempo datasource's link. */
export function traceToProfilesQuery(span: LinkSpan, o: TraceToProfilesOptions): ProfileLinkQuery {
  const tagsToUse = o.tags && o.tags.length > 0 ? o.tags : DEFAULT_PROFILING_KEYS;
  const vars: ScopedVars = { ...spanVars(span), __tags: formattedTags(span, tagsToUse) };
  const label = substitute(o.customQuery && o.query ? o.query : '{${__tags}}', vars);
  const spanSel = substitute('${__span.tags["pyroscope.profile.id"]}', vars);
  return {
    profileTypeId: o.profileTypeId ?? '',
    labelSelector: label.text,
    spanSelector: [spanSel.text],
    range: spanTimeRange(span, undefined, true),
    undefinedVariables: [...label.undefinedVariables, ...spanSel.undefinedVariables],
  };
}
