// The profile checks: "Profiles for this span" gives the request's flame graph, the seed's profile
// types per service.
import { clampToNow, findInSlowTraces, findSlowSpan, SLOW_ROUTE, type VerifyContext } from './context.js';
import { Fail } from './fail.js';
import * as links from './links.js';
import { tracesToProfiles, type TraceToProfilesOptions } from './provisioning.js';
import { inclusiveShare, parseProfileTypeId, REGEX_WORK, serviceSelector, topSelfFrames, type FlameGraph, type ProfileType } from './pyroscope.js';
import { traceToProfilesQuery, type ProfileLinkQuery } from './substitute.js';
import { PROFILE_ID_TAG, profiledSpanOf, type Span, type Trace } from './tempo.js';
import { ds, describeTop, formatValue, pct, short, slowTraceMissing, type CheckFn, type Out } from './check-common.js';

// 5. trace -> profiles

/** The provisioned tracesToProfiles settings, or a Fail naming what is missing. */
export function profileSettings(ctx: VerifyContext): { tp: TraceToProfilesOptions; pyroUid: string } {
  const tempo = ds(ctx, ctx.uids.tempo, 'Traces -> profiles', 'tempo');
  const tp = tracesToProfiles(tempo);
  if (!tp?.datasourceUid) {
    throw new Fail(`Tempo datasource ${tempo.uid}: no tracesToProfiles.datasourceUid`, 'tracesToProfiles missing in provisioning: Grafana shows no "Profiles for this span" button');
  }
  const pyroDs = ds(ctx, tp.datasourceUid, 'tracesToProfiles');
  if (pyroDs.type !== 'grafana-pyroscope-datasource') {
    throw new Fail(`datasource ${pyroDs.uid} has type ${pyroDs.type}`, 'Grafana links spans to profiles only for a datasource of type grafana-pyroscope-datasource');
  }
  if (!tp.profileTypeId) {
    throw new Fail(
      `Tempo datasource ${tempo.uid}: tracesToProfiles has no profileTypeId`,
      'tracesToProfiles.profileTypeId missing in provisioning: Grafana asks Pyroscope for an empty profile type and the span flame graph stays empty (set e.g. process_cpu:cpu:nanoseconds:cpu:nanoseconds)',
    );
  }
  return { tp, pyroUid: pyroDs.uid };
}

/** "Profiles for this span" for one span: the provisioned Pyroscope query, its link and its flame graph. */
async function spanFlameGraph(ctx: VerifyContext, span: Span, out: Out): Promise<{ fg: FlameGraph; pq: ProfileLinkQuery; what: string }> {
  const { tp, pyroUid } = profileSettings(ctx);
  const pq = traceToProfilesQuery(span, tp);
  out.link = links.profileLink(ctx.grafana, pyroUid, pq, pq.range.fromMs, pq.range.toMs);
  if (pq.undefinedVariables.length > 0) {
    throw new Fail(`profile query: ${pq.undefinedVariables.join(', ')} undefined for span ${span.spanId}`, 'none of the tracesToProfiles tags is on the span: map service.name -> service_name');
  }
  const range = clampToNow(ctx, pq.range.fromMs, pq.range.toMs);
  const fg = await ctx.pyro.flameGraph({ profileTypeId: pq.profileTypeId, labelSelector: pq.labelSelector, spanSelector: pq.spanSelector, startMs: range.startMs, endMs: range.endMs, maxNodes: 64 });
  return { fg, pq, what: `span ${span.name} pyroscope.profile.id=${pq.spanSelector[0]} ${pq.labelSelector} ${pq.profileTypeId}` };
}

/**
 * "Profiles for this span" on the span a person opens in this /slow trace of `svc`: its SERVER span of
 * /slow with pyroscope.profile.id (never a client span). A trace that starts at the service's own
 * CLIENT span (its traffic generator's call) gets its own cause.
 */
export async function traceProfile(ctx: VerifyContext, svc: string, trace: Trace, out: Out): Promise<string> {
  const { server, clientRoot } = profiledSpanOf(trace, svc, SLOW_ROUTE);
  if (!server && clientRoot) {
    const { fg, what } = await spanFlameGraph(ctx, clientRoot, out);
    throw new Fail(
      `trace ${trace.traceId}: root ${what} (a CLIENT span): ${fg.total > 0 ? `total ${fg.total}` : 'empty flame graph'}; no SERVER span of ${SLOW_ROUTE} with ${PROFILE_ID_TAG}`,
      `the trace starts at ${svc}'s own outgoing call (its traffic generator's HTTP client, traced and profiled as a local root): that thread only waits for the answer, so its flame graph shows none of the request's work, and the SERVER span of ${SLOW_ROUTE} below it has no ${PROFILE_ID_TAG}. Generated requests must start at the app's SERVER span, as a real caller's do (don't trace the generator's client)`,
    );
  }
  if (!server) {
    throw new Fail(
      `trace ${trace.traceId}: no SERVER span of ${svc} for ${SLOW_ROUTE} with attribute ${PROFILE_ID_TAG}`,
      `the span-profiles integration isn't active in ${svc} (Go: otelpyroscope.NewTracerProvider; Java: Pyroscope OTel extension; Python: PyroscopeSpanProcessor; Node: span_id labels)`,
    );
  }
  const { fg, pq, what } = await spanFlameGraph(ctx, server, out);
  if (fg.total <= 0) {
    const types = await ctx.pyro.profileTypes(ctx.window.startMs, ctx.window.endMs);
    if (!types.some((t) => t.id === pq.profileTypeId)) {
      throw new Fail(
        `${what}: empty flame graph`,
        `Pyroscope has no profile type ${pq.profileTypeId} (it has: ${types.map((t) => t.id).join(', ') || 'none'}): fix tracesToProfiles.profileTypeId`,
      );
    }
    const services = await ctx.pyro.labelValues('service_name', ctx.window.startMs, ctx.window.endMs);
    if (!services.includes(svc)) {
      throw new Fail(
        `${what}: empty flame graph`,
        `Pyroscope has no profiles of ${svc} (it has: ${services.join(', ') || 'none'}): the profiler isn't pushing to PYROSCOPE_SERVER_ADDRESS, or its application name differs from service.name`,
      );
    }
    const all = await ctx.pyro.flameGraph({ profileTypeId: pq.profileTypeId, labelSelector: pq.labelSelector, startMs: ctx.window.startMs, endMs: ctx.window.endMs, maxNodes: 64 });
    if (all.total <= 0) {
      throw new Fail(
        `${what}: empty flame graph`,
        `${svc} sends no ${pq.profileTypeId} profiles at all (other types only): tracesToProfiles has one profileTypeId for every service, so this service's spans link to an empty flame graph`,
      );
    }
    throw new Fail(
      `${what}: empty flame graph`,
      `Pyroscope has no samples labelled span_id=${pq.spanSelector[0]}: the profiler doesn't label samples with the span id, or the newest profiles aren't queryable yet (the first take minutes on a fresh Pyroscope)`,
    );
  }
  const top = topSelfFrames(fg, 3);
  const share = inclusiveShare(fg, REGEX_WORK);
  const evidence = `${what}: ${describeTop(fg, pq.profileTypeId)}; regex work ${pct(share)}`;
  if (!(top[0] && REGEX_WORK.test(top[0].frame)) && share < 0.5) {
    throw new Fail(evidence, `the span's flame graph isn't dominated by the regex work (checkEmail/regex engine): is REGEX_MODE=fixed on ${svc}, or do its samples lack the span_id label?`);
  }
  return evidence;
}

export const traceToProfiles: CheckFn = async (ctx, svc, out) => {
  profileSettings(ctx);
  // the newest /slow trace with a span to follow: a profiled SERVER span, else a profiled CLIENT root (its own cause)
  const found = await findInSlowTraces(ctx, svc, (t) => profiledSpanOf(t, svc, SLOW_ROUTE).server);
  const pick = found.pick ?? (await findInSlowTraces(ctx, svc, (t) => profiledSpanOf(t, svc, SLOW_ROUTE).clientRoot)).pick ?? (await findSlowSpan(ctx, svc)).pick;
  if (!pick) throw slowTraceMissing(svc, found.searched, found.fetched);
  return traceProfile(ctx, svc, pick.trace, out);
};

/** Profile types the seed shows for its Go app (by name and sample type); the other apps need a CPU profile. */
const SEED_TYPES: Record<string, Array<{ name: string; sampleType: string }>> = {
  'demo-app': [
    { name: 'process_cpu', sampleType: 'cpu' },
    { name: 'memory', sampleType: 'alloc_space' },
    { name: 'memory', sampleType: 'inuse_space' },
  ],
};
const CPU_TYPE = { name: 'process_cpu', sampleType: 'cpu' };

/**
 * The seed's profile types for a service, chosen among the ids the service itself sends: two apps
 * can send the same name and sample type under different ids (Go's heap memory:inuse_space:…:space:bytes,
 * Node's memory:inuse_space:…:inuse_space:bytes), so a choice among every service's types is wrong.
 */
export function seedProfileTypes(svc: string, ownIds: string[]): Array<{ wanted: string; type?: ProfileType }> {
  const own = ownIds.map(parseProfileTypeId);
  return (SEED_TYPES[svc] ?? [CPU_TYPE]).map((w) => ({ wanted: `${w.name}:${w.sampleType}`, type: own.find((t) => t.name === w.name && t.sampleType === w.sampleType) }));
}

/** A service's flame graph of one profile type over the window: its total, a summary (type, total, top frame) and its link. */
async function windowProfile(ctx: VerifyContext, selector: string, t: ProfileType): Promise<{ total: number; summary: string; link: string }> {
  const fg = await ctx.pyro.flameGraph({ profileTypeId: t.id, labelSelector: selector, startMs: ctx.window.startMs, endMs: ctx.window.endMs, maxNodes: 64 });
  const top = topSelfFrames(fg, 1)[0];
  return {
    total: fg.total,
    summary: `${t.id} ${formatValue(fg.total, t.id)}${top ? `, top ${short(top.frame, 40)} ${pct(top.share)}` : ''}`,
    link: links.profileLink(ctx.grafana, ctx.uids.pyroscope, { profileTypeId: t.id, labelSelector: selector }, ctx.window.startMs, ctx.window.endMs),
  };
}

export const seedProfiles: CheckFn = async (ctx, svc, out) => {
  const selector = serviceSelector(svc);
  const own = await ctx.pyro.profileTypesOf(svc, ctx.window.startMs, ctx.window.endMs);
  if (own.length === 0) {
    const services = await ctx.pyro.labelValues('service_name', ctx.window.startMs, ctx.window.endMs);
    throw new Fail(
      `Pyroscope has no series ${selector} (service_name values: ${services.join(', ') || 'none'})`,
      `no profiles of ${svc}: the profiler isn't pushing to PYROSCOPE_SERVER_ADDRESS, or its application name differs from the service name`,
    );
  }
  const chosen = seedProfileTypes(svc, own);
  const missing = chosen.filter((c) => !c.type);
  if (missing.length > 0) {
    throw new Fail(
      `no ${missing.map((m) => m.wanted).join(', ')} profile type among ${svc}'s own (it sends: ${own.join(', ')})`,
      missing.some((m) => m.wanted.startsWith('memory'))
        ? `${svc} pushes no ${missing.map((m) => m.wanted.split(':')[1]).join('/')} profiles: enable the alloc/inuse profile types in its Pyroscope SDK config`
        : `${svc} pushes no CPU profiles: start the profiler with CPU profiling on`,
    );
  }
  const parts: string[] = [];
  for (const { type } of chosen) {
    const p = await windowProfile(ctx, selector, type!);
    if (p.total <= 0) throw new Fail(`${type!.id}${selector}: empty flame graph`, `${svc} has no ${type!.sampleType} samples in the window`);
    if (parts.length === 0) out.link = p.link;
    parts.push(p.summary);
  }
  return parts.join('; ');
};

