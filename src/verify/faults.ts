// Client of the demo apps' runtime fault switches (docs/fault-switches.md): GET /admin/faults reads
// them, POST /admin/faults turns one on or off; the regex switch (/admin/regex) stays apart.
import { FAULT_KINDS, type FaultKind } from '../facts.js';
import { HttpError, requestJson } from './http.js';

export type { FaultKind };

/** One fault's settings as an app reports them while it is on. */
export type FaultState = Record<string, unknown> & { expires_at: string };

export interface FaultsDoc {
  faults: Record<FaultKind, FaultState | null>;
  regex_mode?: string;
}

/** A request body that turns a fault on: its kind, its settings, how long it lasts. */
export type FaultOn = { fault: FaultKind; for?: string } & Record<string, string | number>;

const who = (service: string) => ({ name: service, flag: '--app-url' });

/** The one line an app's 400 names (its {"error": ...}), else the HTTP error itself. */
function appError(err: unknown): Error {
  if (err instanceof HttpError && err.status === 400) {
    try {
      const body = JSON.parse(err.body) as { error?: unknown };
      if (typeof body.error === 'string') return new Error(`${err.backend} refused the switch: ${body.error}`);
    } catch {
      /* not JSON: keep the HTTP error */
    }
  }
  return err instanceof Error ? err : new Error(String(err));
}

export async function readFaults(service: string, url: string): Promise<FaultsDoc> {
  return requestJson<FaultsDoc>(who(service), url, '/admin/faults', { timeoutMs: 5000 });
}

export async function setFault(service: string, url: string, body: FaultOn | { fault: FaultKind; on: false }): Promise<FaultsDoc> {
  try {
    return await requestJson<FaultsDoc>(who(service), url, '/admin/faults', { method: 'POST', body, timeoutMs: 5000 });
  } catch (err) {
    throw appError(err);
  }
}

export const faultOff = (kind: FaultKind) => ({ fault: kind, on: false as const });

/** The curl a person types for the same switch (README's map prints these too). */
export function faultCurl(url: string, body: object): string {
  return `curl -X POST ${url.replace(/\/+$/, '')}/admin/faults -H 'content-type: application/json' -d '${JSON.stringify(body)}'`;
}

/** `regex_mode` and every fault that is on, in one line: what the app itself says. */
export function describeFaults(doc: FaultsDoc): string {
  const on = FAULT_KINDS.filter((k) => doc.faults?.[k]).map((k) => {
    const { expires_at, ...settings } = doc.faults[k]!;
    const s = Object.entries(settings).map(([key, v]) => `${key}=${String(v)}`).join(' ');
    return `${k} on (${s}${s ? ', ' : ''}until ${expires_at})`;
  });
  return [`regex_mode=${doc.regex_mode ?? '?'}`, ...(on.length ? on : ['no fault on'])].join('; ');
}
