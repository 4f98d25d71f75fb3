// The fault switches of docs/fault-switches.md as the app tests drive them: GET/POST /admin/faults.
import type { FaultKind } from '../../src/facts.js';

export interface FaultsDoc { faults: Record<FaultKind, Record<string, unknown> | null>; regex_mode: string }
export interface FaultReply { status: number; text: string; json: unknown }

async function call(base: string, init?: RequestInit): Promise<FaultReply> {
  const res = await fetch(`${base}/admin/faults`, { ...init, signal: AbortSignal.timeout(30_000) });
  const text = await res.text();
  let json: unknown;
  try { json = JSON.parse(text); } catch { /* not JSON */ }
  return { status: res.status, text, json };
}

/** POST /admin/faults with `body` (a string is sent as is, anything else as JSON). */
export function postFault(base: string, body: unknown): Promise<FaultReply> {
  return call(base, { method: 'POST', headers: { 'content-type': 'application/json' }, body: typeof body === 'string' ? body : JSON.stringify(body) });
}

export function faultsRequest(base: string, method: string): Promise<FaultReply> {
  return call(base, { method });
}

/** GET /admin/faults, which must answer 200 with the document. */
export async function getFaults(base: string): Promise<FaultsDoc> {
  const r = await call(base);
  if (r.status !== 200) throw new Error(`GET /admin/faults answered ${r.status}: ${r.text}`);
  return r.json as FaultsDoc;
}

/** POST that must succeed: the answer is the document. */
export async function setFault(base: string, body: Record<string, unknown>): Promise<FaultsDoc> {
  const r = await postFault(base, body);
  if (r.status !== 200) throw new Error(`POST /admin/faults ${JSON.stringify(body)} answered ${r.status}: ${r.text}`);
  return r.json as FaultsDoc;
}
