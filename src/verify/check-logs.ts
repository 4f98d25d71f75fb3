// The log checks: a log line's trace id is a trace, "Logs for this span" returns the span's lines,
// the seed's LogQL.
import { clampToNow, findSlowSpan, getTrace, slowLogQuery } from './context.js';
import { Fail } from './fail.js';
import { entryLabel, logMessage, matcherOf, traceIdOf, type LogEntry } from './loki.js';
import * as links from './links.js';
import { derivedFields, tempoDerivedField, tracesToLogs } from './provisioning.js';
import { traceToLogsQuery } from './substitute.js';
import { rootSpan } from './tempo.js';
import { code, ds, eatenVariables, q, short, slowTraceMissing, type CheckFn } from './check-common.js';

// 2. logs -> trace

// The derived field is an internal link (Loki's getDerivedFields): clicking it opens the Tempo query
// `${__value.raw}` over the range the log query shows, which Tempo's makeTraceIdRequest shifts by
// traceQuery (getTrace in context.ts).
export const logsToTrace: CheckFn = async (ctx, svc, out) => {
  const loki = ds(ctx, ctx.uids.loki, 'Logs -> traces', 'loki');
  const df = tempoDerivedField(ctx.provisioning, loki);
  if (!df) {
    throw new Fail(
      `Loki datasource ${loki.uid}: ${derivedFields(loki).length} derived fields, none pointing to a Tempo datasource`,
      'no derived field links log lines to Tempo: add jsonData.derivedFields with matcherType label, matcherRegex trace_id, datasourceUid <tempo uid>',
    );
  }
  if (!df.url || !/\$\{?__value\.raw/.test(df.url)) {
    throw new Fail(
      `derived field ${q(df.name ?? '')} has url ${q(df.url ?? '')}`,
      'the derived field url must be ${__value.raw} (written $${__value.raw} in provisioning: Grafana expands a single $ as an environment variable)',
    );
  }
  const query = slowLogQuery(svc);
  out.link = links.lokiLink(ctx.grafana, loki.uid, query, ctx.window.startMs, ctx.window.endMs);
  const entries = await ctx.loki.queryRange(query, ctx.window, 10);
  if (entries.length === 0) {
    throw new Fail(`${query}: no log lines`, `no /slow request logs of ${svc} in Loki (see the seed-logql check for why)`);
  }
  const matcher = matcherOf(df);
  const ids: Array<{ id: string; entry: LogEntry }> = [];
  for (const e of entries) {
    const id = traceIdOf(df, e);
    if (id && !ids.some((x) => x.id === id)) ids.push({ id, entry: e });
  }
  if (ids.length === 0) {
    throw new Fail(
      `${entries.length} log lines, none with ${df.matcherType === 'label' ? `a label/structured metadata ${q(matcher)}` : `a match of /${matcher}/`}`,
      df.matcherType === 'label'
        ? `log records of ${svc} arrive without trace context: Loki stores an OTLP record's TraceId as structured metadata trace_id only if the app emits the log inside the request span (and limits_config.allow_structured_metadata is true)`
        : `the derived field regex ${q(matcher)} matches no log line`,
    );
  }
  for (const { id, entry } of ids) {
    const trace = await getTrace(ctx, id);
    if (trace) {
      const root = rootSpan(trace);
      out.link = links.traceLink(ctx.grafana, df.datasourceUid!, id, ctx.window.startMs, ctx.window.endMs);
      return `${code(query)}: log line "${short(logMessage(entry), 70)}" -> derived field ${q(df.name ?? matcher)} trace_id=${id} -> Tempo trace, ${trace.spans.length} spans (${root.serviceName}: ${root.name})`;
    }
  }
  throw new Fail(
    `trace ids of ${ids.length} log lines (e.g. ${ids[0]!.id}) not found in Tempo`,
    'the logs carry trace ids that Tempo does not have: traces not exported (or dropped by Alloy/Tempo), or logs and traces come from different SDK setups',
  );
};

// 3. trace -> logs

export const traceToLogs: CheckFn = async (ctx, svc, out) => {
  const tempo = ds(ctx, ctx.uids.tempo, 'Traces -> logs', 'tempo');
  const tl = tracesToLogs(tempo);
  if (!tl?.datasourceUid) {
    throw new Fail(`Tempo datasource ${tempo.uid}: no tracesToLogsV2.datasourceUid`, 'tracesToLogsV2 missing in provisioning: Grafana shows no "Logs for this span" link');
  }
  const lokiDs = ds(ctx, tl.datasourceUid, 'tracesToLogsV2', 'loki');
  const found = await findSlowSpan(ctx, svc);
  if (!found.pick) throw slowTraceMissing(svc, found.searched, found.fetched);
  const { span } = found.pick;
  const lq = traceToLogsQuery(span, tl);
  if (!lq) {
    throw new Fail(
      `span ${span.spanId} has none of the tracesToLogsV2 tags (${(tl.tags ?? []).map((t) => t.key).join(', ') || 'defaults'})`,
      'Grafana shows no logs link for this span: map a tag the spans have (e.g. service.name -> service_name), or use a custom query',
    );
  }
  out.link = links.lokiLink(ctx.grafana, lokiDs.uid, lq.query, lq.range.fromMs, lq.range.toMs);
  if (lq.undefinedVariables.length > 0) {
    const missing = lq.undefinedVariables.join(', ');
    throw new Fail(
      `query ${code(lq.query)}: ${missing} undefined for span ${span.spanId}`,
      /tags\.job/.test(missing)
        ? `the span has no "job" attribute, so Grafana hides the logs link: Alloy must copy service.name into the resource attribute job (otelcol.processor.transform)`
        : `the span lacks ${missing}, so Grafana hides the logs link`,
    );
  }
  if (tl.customQuery && eatenVariables(lq.query)) {
    throw new Fail(
      `provisioned query became ${code(lq.query)}`,
      'the query lost its ${...} variables: Grafana expanded them as environment variables; write $${__span.traceId} etc. in the provisioning file',
    );
  }
  const range = clampToNow(ctx, lq.range.fromMs, lq.range.toMs);
  const entries = await ctx.loki.queryRange(lq.query, range, 10);
  const own = entries.filter((e) => e.line.includes(span.traceId) || entryLabel(e, 'trace_id') === span.traceId);
  if (own.length === 0) {
    throw new Fail(
      `${code(lq.query)} over span ${tl.spanStartTimeShift ?? '0'}/${tl.spanEndTimeShift ?? '0'}: ${entries.length} lines, none of trace ${span.traceId}`,
      entries.length > 0
        ? 'the query returns lines of other traces: keep the lines with the trace id in the line or in the structured metadata trace_id (where logs bridges put it), as the provisioned | regexp "(?P<line_trace_id>${__span.traceId})" | trace_id="${__span.traceId}" or line_trace_id="${__span.traceId}" does'
        : `no log line of trace ${span.traceId} in that window: the app's logs carry the trace id neither in the line nor as the record's trace context (structured metadata trace_id), their job label differs from the span's job tag, or spanStartTimeShift/spanEndTimeShift are too narrow (default 0)`,
    );
  }
  return `span ${span.name} (${span.spanId}) -> ${code(lq.query)} -> ${own.length} line(s): "${short(logMessage(own[0]!), 70)}"`;
};

// 8. the seed's own queries

export const seedLogql: CheckFn = async (ctx, svc, out) => {
  const lokiUid = ctx.uids.loki;
  const qJob = `{job="${svc}"}`;
  const qErr = `{job="${svc}"} |= "error"`;
  const qSlow = slowLogQuery(svc);
  out.link = links.lokiLink(ctx.grafana, lokiUid, qSlow, ctx.window.startMs, ctx.window.endMs);
  const job = await ctx.loki.queryRange(qJob, ctx.window, 10);
  if (job.length === 0) {
    const labels = await ctx.loki.labels(ctx.window);
    if (!labels.includes('job')) {
      throw new Fail(
        `${qJob}: no lines; Loki labels: ${labels.join(', ') || 'none'}`,
        'no job label: Loki limits_config.otlp_config must index the resource attribute job (action: index_label), and Alloy must set job from service.name',
      );
    }
    const jobs = await ctx.loki.labelValues('job', ctx.window);
    throw new Fail(`${qJob}: no lines; job values: ${jobs.join(', ')}`, `no logs of ${svc}: the app isn't exporting logs over OTLP, or Alloy isn't forwarding them to Loki`);
  }
  const err = await ctx.loki.queryRange(qErr, ctx.window, 10);
  const slow = await ctx.loki.queryRange(qSlow, ctx.window, 10);
  if (slow.length === 0) {
    const jsonish = job.some((e) => e.line.trim().startsWith('{'));
    throw new Fail(
      `${qJob}: ${job.length} lines, ${qSlow}: none`,
      jsonish ? `no /slow requests of ${svc} in the window (traffic generator off?)` : `the log bodies of ${svc} aren't JSON with a "route" key, so ${code(qSlow)} matches nothing`,
    );
  }
  const n = (x: LogEntry[]) => `${x.length}${x.length >= 10 ? '+' : ''}`;
  return `${code(qJob)}: ${n(job)} lines; ${code(qErr)}: ${n(err)}${err.length === 0 ? ' (no error lines in the window)' : ''}; ${code(qSlow)}: ${n(slow)}`;
};

