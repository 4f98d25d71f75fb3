// What every check of `lgtmp verify` shares: the check's shape, the services, and the helpers that
// word evidence and find the provisioned datasources.
import { apps, CHAIN } from '../facts.js';
import { slowQuery, type VerifyContext } from './context.js';
import { Fail } from './fail.js';
import { findDatasource, type DatasourceSettings } from './provisioning.js';
import { topSelfFrames, type FlameGraph } from './pyroscope.js';

/** The demo apps: the services the demo checks run for (any other service gets byo/'s checks). */
export const SERVICES: readonly string[] = apps.map((s) => s.name);

/** The /chain call graph of the demo: node -> go -> java -> python. Keyed by client. */
export const EDGES: Record<string, string> = Object.fromEntries(CHAIN.slice(0, -1).map((client, i) => [client, CHAIN[i + 1]!]));

export interface Out {
  link: string;
}

export type CheckFn = (ctx: VerifyContext, svc: string, out: Out) => Promise<string>;

export interface CheckDef {
  name: string;
  /** 'stack': runs once for the whole stack (service STACK), not per service. */
  scope?: 'stack';
  appliesTo?: (svc: string) => boolean;
  run: CheckFn;
}

/** The service column of a check that is about the stack, not one service. */
export const STACK = 'stack';

// ---------------------------------------------------------------------------------------------
// helpers

export const q = JSON.stringify;
/** A query as people type it, in backticks. */
export const code = (s: string) => `\`${s}\``;
export const short = (s: string, n = 90) => (s.length > n ? s.slice(0, n - 1) + '…' : s);
export const pct = (x: number) => `${Math.round(x * 100)}%`;

export function ds(ctx: VerifyContext, uid: string | undefined, what: string, type?: string): DatasourceSettings {
  const d = findDatasource(ctx.provisioning, uid);
  if (!d) throw new Fail(`no datasource uid=${uid ?? '(unset)'} in ${ctx.provisioning.source}`, `${what}: the datasource it points at is not provisioned`);
  if (type && d.type !== type) throw new Fail(`datasource ${d.uid} has type ${d.type}`, `${what} needs a datasource of type ${type}`);
  return d;
}

/** Provisioned text that lost its ${...} to Grafana's environment expansion (a single $ instead of $$). */
export function eatenVariables(text: string): boolean {
  return /=""|\|= ""|\(""\)|\{\}/.test(text);
}

export function formatValue(v: number, profileTypeId: string): string {
  const unit = profileTypeId.split(':')[2] ?? '';
  if (unit === 'nanoseconds') return `${(v / 1e9).toFixed(2)} s`;
  if (unit === 'bytes') return v >= 1 << 20 ? `${(v / (1 << 20)).toFixed(1)} MiB` : `${(v / 1024).toFixed(1)} KiB`;
  return String(v);
}

export function describeTop(fg: FlameGraph, profileTypeId: string, n = 3): string {
  const top = topSelfFrames(fg, n);
  return `total ${formatValue(fg.total, profileTypeId)}; top self frames: ${top.map((t) => `${short(t.frame, 60)} ${pct(t.share)}`).join(', ') || 'none'}`;
}

export const slowTraceMissing = (svc: string, searched: number, fetched: number) =>
  new Fail(
    searched === 0 ? `no /slow trace of ${svc} in Tempo (${code(slowQuery(svc))})` : `none of ${fetched} /slow trace ids of ${svc} could be fetched from Tempo`,
    searched === 0
      ? `no /slow requests traced for ${svc}: is the app running with its traffic generator on (TRAFFIC_GENERATOR=on), exporting traces through Alloy to Tempo?`
      : 'Tempo lists the traces in search but /api/v2/traces/<id> returns nothing: Tempo ingestion or storage problem',
  );

