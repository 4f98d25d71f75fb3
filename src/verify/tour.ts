// `lgtmp tour <symptom>`: one engine for every row of the troubleshooting map (tour-symptoms.ts).
// It reads the symptom's measures, turns the fault on in one app, waits (with a countdown and a
// deadline) until the measures show it, walks the seed's path to the cause step by step, turns
// the fault off (unless --keep / --no-fix) and shows the recovery. Every number it prints comes
// from a query it ran.
import { apps, CHAIN, nextInChain } from '../facts.js';
import { hostPort } from '../project.js';
import type { VerifyContext } from './context.js';
import { SYMPTOMS, type Symptom } from './tour-symptoms.js';
import { errText, replayClock, type OnWait, type TourClock, type TourStep, type Walk } from './tour-steps.js';

export { dominatingSpan, selfTimes, type TourStep } from './tour-steps.js';

/** Each demo app's base URL: an override, else its host port from .env. */
export function appUrls(env: Record<string, string>, overrides: Record<string, string> = {}): Record<string, string> {
  return Object.fromEntries(
    apps.map((s) => [s.name, overrides[s.name] ?? `http://127.0.0.1:${hostPort(env, s.portKey)}`]),
  );
}

/**
 * How long after a request its span's profile can be queried: the app's profiler upload interval
 * (pyroscope-go and the Node bootstrap every 15 s, the Java agent and Python every 10 s, their
 * defaults in apps/*) plus Pyroscope's ingest (a few seconds; 10 s allowed).
 */
export const PROFILE_UPLOAD_MS: Record<string, number> = {
  'demo-app': 15_000,
  'java-demo-app': 10_000,
  'python-demo-app': 10_000,
  'node-demo-app': 15_000,
};
export const INGEST_MS = 10_000;
export const profileDelayMs = (svc: string) => (PROFILE_UPLOAD_MS[svc] ?? 15_000) + INGEST_MS;

export interface TourOptions {
  symptom: Symptom;
  svc: string;
  apps: Record<string, string>;
  ctx: VerifyContext;
  clock: TourClock;
  /** After the fix: how long to let data accumulate, also the window of the before / after measures. */
  waitMs: number;
  /** How long to wait for the fault to show in the measures and in each step's data. */
  deadlineMs: number;
  /** PromQL windows are at least this long (two metric exports: the apps export every 60 s). */
  minWindowMs: number;
  /** The fault's own expiry (`for`), so a tour that is interrupted heals by itself. */
  faultFor: string;
  keep: boolean;
  noFix: boolean;
  /** Overrides the service's profile delay (tests). */
  profileDelayMs?: number;
  onWait: OnWait;
  /** Each step as soon as it is done (the CLI prints it). */
  onStep: (n: number, step: TourStep) => void;
}

export interface TourReport {
  tour: string;
  service: string;
  question: string;
  seedPath: string;
  steps: TourStep[];
  measures: Array<{ label: string; before?: number; during?: number; after?: number }>;
  ok: boolean;
}

/** Which tours apply to a service, and why not. */
export function notApplicable(symptom: Symptom, svc: string): string | undefined {
  if (symptom.needsNext && !nextInChain(svc)) return `${svc} calls no next service on the chain, so it has no dependency to fail (try ${CHAIN.filter((s) => nextInChain(s)).join(', ')})`;
  return undefined;
}

export async function runTour(o: TourOptions): Promise<TourReport> {
  const { symptom: sy, svc, ctx, clock } = o;
  const url = o.apps[svc]!;
  const steps: TourStep[] = [];
  const measures = sy.measures.map((m) => ({ label: m.label, before: undefined as number | undefined, during: undefined as number | undefined, after: undefined as number | undefined }));
  const report: TourReport = { tour: sy.name, service: svc, question: sy.question, seedPath: sy.seedPath, steps, measures, ok: false };
  const add = (st: TourStep) => {
    steps.push(st);
    o.onStep(steps.length, st);
    return st.ok;
  };
  const read = async (i: number, windowMs: number): Promise<number | undefined> => {
    try {
      return await sy.measures[i]!.read(ctx, svc, sy.route, Math.max(windowMs, o.minWindowMs), clock.now());
    } catch {
      return undefined;
    }
  };
  const show = (i: number, v: number | undefined) => (v === undefined ? 'no data' : sy.measures[i]!.show(v));

  // 1. before, then the switch
  for (let i = 0; i < measures.length; i++) measures[i]!.before = await read(i, o.waitMs);
  const on = await sy.switch.on(svc, url, o.faultFor);
  const sinceMs = on.wasOn ? ctx.window.startMs : clock.now();
  if (!add({ title: `The switch: ${sy.switch.name} in ${svc}${on.wasOn ? ' (it was on already)' : ''}`, ok: on.ok, lines: on.lines })) return report;

  // 2. evidence: the first measure shows the fault, read only once a whole comparison window lies
  // after the switch (as "before" and "after" are): a window still made of the minutes before it
  // would otherwise pass on noise
  const walk: Walk = { ctx, svc, route: sy.route, sinceMs, clock, onWait: o.onWait, deadlineMs: clock.now() + o.deadlineMs, profileDelayMs: o.profileDelayMs ?? profileDelayMs(svc) };
  const m0 = sy.measures[0]!;
  // Every read spans at least minWindowMs, so the comparison window is the longer of the two.
  const windowMs = Math.max(o.waitMs, o.minWindowMs);
  const settledAt = sinceMs + windowMs;
  while (clock.now() < settledAt) {
    o.onWait(`data since the switch (${Math.round(windowMs / 1000)} s, the comparison window)`, settledAt - clock.now());
    await clock.sleep(Math.min(settledAt - clock.now(), 5000));
  }
  for (;;) {
    measures[0]!.during = await read(0, clock.now() - sinceMs);
    const d = measures[0]!.during;
    if (d !== undefined && sy.shows(measures[0]!.before, d)) break;
    const left = walk.deadlineMs - clock.now();
    if (left <= 0) break;
    o.onWait(`${m0.label} to show the fault (now ${show(0, d)}, before ${show(0, measures[0]!.before)})`, left);
    await clock.sleep(Math.min(left, 5000));
  }
  const d0 = measures[0]!.during;
  const shown = d0 !== undefined && sy.shows(measures[0]!.before, d0);
  add({
    title: `The symptom: ${m0.label}`,
    ok: shown,
    lines: [
      `before the switch: ${show(0, measures[0]!.before)}; since: ${show(0, d0)}`,
      ...(shown ? [] : [`the fault did not show before the deadline: is traffic reaching ${sy.route} (TRAFFIC_MIX), and is the app exporting metrics (\`lgtmp verify --check seed-promql --service ${svc}\`)?`]),
    ],
    link: m0.link(ctx, svc, sy.route, Math.min(sinceMs, clock.now() - o.waitMs), clock.now()),
  });

  // 3. the seed's path to the cause
  let told = shown;
  for (const step of sy.steps) {
    let st: TourStep;
    try {
      st = await step(walk);
    } catch (err) {
      st = { title: 'unexpected error', ok: false, lines: [errText(err)] };
    }
    if (!add(st)) {
      told = false;
      break;
    }
  }
  for (let i = 1; i < measures.length; i++) measures[i]!.during = await read(i, clock.now() - sinceMs);

  // 4. the fix and the recovery
  if (o.keep) {
    add({ title: `Kept on (--keep): ${sy.switch.name} in ${svc}`, ok: true, lines: [`turn it off: ${sy.switch.curlOff(url)}`] });
    report.ok = told;
    return report;
  }
  if (o.noFix) {
    // the story only: leave the app as the tour found it
    const restored = on.wasOn ? { ok: true, lines: [`left on, as it was before the tour; turn it off: ${sy.switch.curlOff(url)}`] } : await sy.switch.off({ [svc]: url }, svc);
    add({ title: `--no-fix: ${svc} as the tour found it`, ok: restored.ok, lines: restored.lines });
    report.ok = told && restored.ok;
    return report;
  }
  const off = await sy.switch.off(o.apps, svc);
  if (!add({ title: `The fix: ${sy.switch.name} off`, ok: off.ok, lines: off.lines })) return report;
  const fixedAt = clock.now();
  const doneAt = fixedAt + windowMs;
  while (clock.now() < doneAt) {
    o.onWait(`after-fix data (${Math.round(windowMs / 1000)} s, the comparison window)`, doneAt - clock.now());
    await clock.sleep(Math.min(doneAt - clock.now(), 5000));
  }
  for (let i = 0; i < measures.length; i++) measures[i]!.after = await read(i, clock.now() - fixedAt);
  const a0 = measures[0]!.after;
  const recovered = a0 !== undefined && d0 !== undefined && a0 < d0;
  add({
    title: `Recovery (${Math.round(o.waitMs / 1000)} s after the fix)`,
    ok: recovered,
    lines: measures.map((m, i) => `${m.label}: before ${show(i, m.before)} -> with the fault ${show(i, m.during)} -> after the fix ${show(i, m.after)}`),
    link: m0.link(ctx, svc, sy.route, sinceMs - o.waitMs, clock.now()),
  });
  report.ok = told && recovered;
  return report;
}

/** The slow tour's story on the context's data, as `lgtmp verify`'s recordings hold it (no switch, no fix). */
export async function tellStory(
  ctx: VerifyContext,
  svc: string,
  o: { clock?: TourClock; onWait?: OnWait; profileDelayMs?: number; deadlineMs?: number } = {},
): Promise<{ steps: TourStep[]; ok: boolean }> {
  const clock = o.clock ?? replayClock(ctx.nowMs);
  const walk: Walk = {
    ctx,
    svc,
    route: SYMPTOMS.slow.route,
    sinceMs: ctx.window.startMs,
    clock,
    onWait: o.onWait ?? (() => {}),
    deadlineMs: clock.now() + (o.deadlineMs ?? 0),
    profileDelayMs: o.profileDelayMs ?? profileDelayMs(svc),
  };
  const steps: TourStep[] = [];
  for (const step of SYMPTOMS.slow.steps) {
    const st = await step(walk);
    steps.push(st);
    if (!st.ok) return { steps, ok: false };
  }
  return { steps, ok: true };
}
