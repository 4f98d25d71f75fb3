// Provisioning settings Grafana accepts without a word but that break a link, each reported with
// the key, the file and the fix. Grafana v13.2.1 is the reference (GRAFANA_VERSION in .env):
// - traceQuery shifts: public/app/plugins/datasource/tempo/datasource.ts, makeTraceIdRequest
//   (start shift subtracted from the range start, end shift added to its end);
// - tracesToLogsV2 / tracesToMetrics shifts: public/app/features/explore/TraceView/createSpanLink.tsx,
//   getTimeRangeFromSpan (both added to the span's start / end);
// - ${__span.tags.X}: the same file's scopedVarsFromSpan (resource and span attributes by key; a
//   dotted X is read as a nested path, so `service.name` needs the ["service.name"] form) and
//   getVariableUsageInfo (a link with an undefined variable is not shown);
// - "$": pkg/services/provisioning/values (os.ExpandEnv over every string after splitting on $$).
import { grafanaIntervalMs } from './grafana-interval.js';
import { derivedFields, exemplarDestinations, traceQueryOf, tracesToLogs, tracesToMetrics, tracesToProfiles, type DatasourceSettings, type Provisioning } from './provisioning.js';
import type { LinkSpan } from './substitute.js';

export interface LintInput {
  provisioning: Provisioning;
  /** The provisioning file as written (the single-$ check needs the text before Grafana expands it). */
  raw?: { file: string; text: string };
  /** Profile type ids the apps send (what Pyroscope has). Undefined: not known, not checked. */
  sentProfileTypes?: string[];
  /** Spans of the services checked, for the ${__span.tags.X} the logs query reads. */
  spans?: Array<{ service: string; span: LinkSpan }>;
}

/** One finding: the offending key and a message that names the key, the file and the fix. */
export interface LintFinding {
  key: string;
  message: string;
}

const shiftOf = (v: string | undefined): number | undefined => {
  if (!v) return undefined;
  try {
    return grafanaIntervalMs(v);
  } catch {
    return Number.NaN;
  }
};

const unsigned = (v: string) => v.replace(/^-/, '');

function traceQueryShifts(ds: DatasourceSettings, file: string): LintFinding[] {
  const tq = traceQueryOf(ds);
  if (!tq?.timeShiftEnabled) return [];
  const out: LintFinding[] = [];
  const start = shiftOf(tq.spanStartTimeShift);
  const end = shiftOf(tq.spanEndTimeShift);
  if (start !== undefined && !(start >= 0)) {
    out.push({
      key: 'traceQuery.spanStartTimeShift',
      message: `${file}: datasource ${ds.uid} jsonData.traceQuery.spanStartTimeShift is "${tq.spanStartTimeShift}": Grafana SUBTRACTS it from the start of the range (makeTraceIdRequest), so trace-by-id asks Tempo for [from + ${unsigned(tq.spanStartTimeShift!)}, to + end shift] and a trace opened from a log line or an exemplar goes "not found" once Tempo flushes it to a block; fix: spanStartTimeShift: "${unsigned(tq.spanStartTimeShift!)}"`,
    });
  }
  if (end !== undefined && !(end >= 0)) {
    out.push({
      key: 'traceQuery.spanEndTimeShift',
      message: `${file}: datasource ${ds.uid} jsonData.traceQuery.spanEndTimeShift is "${tq.spanEndTimeShift}": Grafana ADDS it to the end of the range (makeTraceIdRequest), so a negative value cuts off the newest traces; fix: spanEndTimeShift: "${unsigned(tq.spanEndTimeShift!)}"`,
    });
  }
  return out;
}

function spanLinkShifts(ds: DatasourceSettings, file: string): LintFinding[] {
  const out: LintFinding[] = [];
  for (const [name, o] of [
    ['tracesToLogsV2', tracesToLogs(ds)],
    ['tracesToMetrics', tracesToMetrics(ds)],
  ] as const) {
    if (!o) continue;
    const start = shiftOf(o.spanStartTimeShift);
    const end = shiftOf(o.spanEndTimeShift);
    if (start !== undefined && !(start <= 0)) {
      out.push({
        key: `${name}.spanStartTimeShift`,
        message: `${file}: datasource ${ds.uid} jsonData.${name}.spanStartTimeShift is "${o.spanStartTimeShift}": Grafana ADDS it to the span's start (getTimeRangeFromSpan), so the window starts after the span did; fix: spanStartTimeShift: "-${unsigned(o.spanStartTimeShift!)}"`,
      });
    }
    if (end !== undefined && !(end >= 0)) {
      out.push({
        key: `${name}.spanEndTimeShift`,
        message: `${file}: datasource ${ds.uid} jsonData.${name}.spanEndTimeShift is "${o.spanEndTimeShift}": Grafana ADDS it to the span's end (getTimeRangeFromSpan), so the window ends before the span did; fix: spanEndTimeShift: "${unsigned(o.spanEndTimeShift!)}"`,
      });
    }
  }
  return out;
}

/** Every datasourceUid a datasource's links use, with the key that holds it. */
function uidRefs(ds: DatasourceSettings): Array<{ key: string; uid: unknown }> {
  const refs: Array<{ key: string; uid: unknown }> = [];
  for (const key of ['tracesToLogsV2', 'tracesToMetrics', 'tracesToProfiles', 'serviceMap']) {
    const v = ds.jsonData[key] as { datasourceUid?: unknown } | undefined;
    if (v && typeof v === 'object' && 'datasourceUid' in v) refs.push({ key: `${key}.datasourceUid`, uid: v.datasourceUid });
  }
  derivedFields(ds).forEach((f, i) => f.datasourceUid !== undefined && refs.push({ key: `derivedFields[${i}].datasourceUid`, uid: f.datasourceUid }));
  exemplarDestinations(ds).forEach((d, i) => d.datasourceUid !== undefined && refs.push({ key: `exemplarTraceIdDestinations[${i}].datasourceUid`, uid: d.datasourceUid }));
  return refs;
}

function danglingUids(p: Provisioning, ds: DatasourceSettings, file: string): LintFinding[] {
  const known = p.datasources.map((d) => d.uid);
  return uidRefs(ds)
    .filter((r) => typeof r.uid !== 'string' || !known.includes(r.uid))
    .map((r) => ({
      key: r.key,
      message: `${file}: datasource ${ds.uid} jsonData.${r.key} is "${String(r.uid)}", which names no provisioned datasource, so Grafana shows a broken link; fix: one of ${known.join(', ')}`,
    }));
}

function profileType(ds: DatasourceSettings, file: string, sent: string[] | undefined): LintFinding[] {
  const id = tracesToProfiles(ds)?.profileTypeId;
  if (!id || sent === undefined || sent.includes(id)) return [];
  return [
    {
      key: 'tracesToProfiles.profileTypeId',
      message: `${file}: datasource ${ds.uid} jsonData.tracesToProfiles.profileTypeId is "${id}", a type no app sends, so every "Profiles for this span" is an empty flame graph; fix: one the apps send (${sent.join(', ') || 'Pyroscope has none yet'})`,
    },
  ];
}

/** `${__span.tags.X}` and `${__span.tags["X"]}` in a query: X, and whether it was written with dots. */
export function spanTagVariables(query: string): Array<{ written: string; tag: string; dotted: boolean }> {
  const out: Array<{ written: string; tag: string; dotted: boolean }> = [];
  for (const m of query.matchAll(/\$\{__span\.tags(?:\.([^}:[\]]+)|\[\s*["']([^"']+)["']\s*\])(?::[^}]*)?\}/g)) {
    const tag = (m[1] ?? m[2])!;
    out.push({ written: m[0], tag, dotted: m[1] !== undefined && tag.includes('.') });
  }
  return out;
}

const hasTag = (s: LinkSpan, key: string) => s.attributes[key] !== undefined || s.resource[key] !== undefined;

function logsQueryTags(ds: DatasourceSettings, file: string, spans: LintInput['spans']): LintFinding[] {
  const tl = tracesToLogs(ds);
  if (!tl) return [];
  const out: LintFinding[] = [];
  const key = 'tracesToLogsV2.query';
  if (tl.customQuery && tl.query) {
    for (const v of spanTagVariables(tl.query)) {
      if (v.dotted) {
        out.push({ key, message: `${file}: datasource ${ds.uid} jsonData.${key} uses ${v.written}: Grafana reads the dots as a nested path, finds nothing and hides "Logs for this span"; fix: \${__span.tags["${v.tag}"]} (written $\${__span.tags["${v.tag}"]} in the file)` });
        continue;
      }
      const without = [...new Set((spans ?? []).filter((x) => !hasTag(x.span, v.tag)).map((x) => x.service))];
      if (without.length > 0) {
        out.push({
          key,
          message: `${file}: datasource ${ds.uid} jsonData.${key} uses ${v.written}, but spans of ${without.join(', ')} have no "${v.tag}" attribute, so Grafana hides "Logs for this span" on them; fix: give the spans that resource attribute (Alloy's transform copies service.name into job) or map a tag they have in tracesToLogsV2.tags and use \${__tags}`,
        });
      }
    }
  }
  if (!tl.customQuery || /\$\{?__tags/.test(tl.query ?? '')) {
    const tags = tl.tags ?? [];
    const untagged = [...new Set((spans ?? []).filter((x) => tags.length > 0 && !tags.some((t) => hasTag(x.span, t.key))).map((x) => x.service))];
    if (untagged.length > 0) {
      out.push({
        key: 'tracesToLogsV2.tags',
        message: `${file}: datasource ${ds.uid} jsonData.tracesToLogsV2.tags maps ${tags.map((t) => t.key).join(', ')}, none of which is on the spans of ${untagged.join(', ')}, so the logs query has no stream selector and Grafana shows no link; fix: map a tag the spans have, e.g. service.name -> service_name`,
      });
    }
  }
  return out;
}

/** Lines of the file where a single `$` precedes a Grafana variable (`$__x`, `${__x...}`): provisioning expands it to nothing. */
function singleDollar(raw: LintInput['raw']): LintFinding[] {
  if (!raw) return [];
  const out: LintFinding[] = [];
  raw.text.split('\n').forEach((line, i) => {
    if (/^\s*#/.test(line)) return;
    const parts = line.split('$$');
    if (!parts.some((p) => /\$\{?__/.test(p))) return;
    const key = /^\s*(?:-\s*)?([\w.]+):/.exec(line)?.[1] ?? 'value';
    out.push({
      key,
      message: `${raw.file}:${i + 1}: ${key} has a single "$" before a Grafana variable (${line.trim().slice(0, 80)}): Grafana's provisioning expands it as an environment variable, so it becomes empty; fix: write "$$" there`,
    });
  });
  return out;
}

export function lintProvisioning(input: LintInput): LintFinding[] {
  const file = input.provisioning.source;
  const findings: LintFinding[] = [];
  for (const ds of input.provisioning.datasources) {
    findings.push(...danglingUids(input.provisioning, ds, file));
    if (ds.type !== 'tempo') continue;
    findings.push(...traceQueryShifts(ds, file), ...spanLinkShifts(ds, file), ...profileType(ds, file, input.sentProfileTypes), ...logsQueryTags(ds, file, input.spans));
  }
  return [...findings, ...singleDollar(input.raw)];
}
