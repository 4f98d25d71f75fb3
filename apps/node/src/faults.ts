// The runtime fault switches (docs/fault-switches.md, the contract all four demo apps implement):
// which faults are on, with which settings, until when. POST /admin/faults turns one on or off, GET
// shows them; each switch turns itself off when its `for` runs out (a timer, and a check on every
// request), so a forgotten fault heals. Every change writes one `[FAULT]` log line and is published
// on the diagnostics channel FAULTS_CHANNEL, from which the telemetry bootstrap reports the gauge
// lgtmp.fault.active (the app itself imports nothing from OpenTelemetry).

import { channel } from 'node:diagnostics_channel';
import { formatDuration, parseDuration } from './durations.js';
import type { Logger } from './logger.js';

export const FAULT_KINDS = ['errors', 'latency', 'leak', 'cpu', 'dependency'] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

/** The routes a fault can target: the app's own work routes. */
export const FAULT_ROUTES = ['/hello', '/slow', '/alloc', '/chain'] as const;
export type FaultRoute = (typeof FAULT_ROUTES)[number];

/** Settings of each kind, durations in milliseconds. */
export interface FaultSettings {
  errors: { route: FaultRoute; ratio: number };
  latency: { route: FaultRoute; delay: number };
  leak: { cap_mib: number };
  cpu: { route: FaultRoute; work: number };
  dependency: { mode: 'error' | 'timeout'; timeout: number };
}

/** Published on FAULTS_CHANNEL after every change: for each kind, whether it is on. */
export const FAULTS_CHANNEL = 'lgtmp.faults';
export type FaultsMessage = Record<FaultKind, boolean>;

const DEFAULT_FOR_MS = 10 * 60_000;
const MAX_FOR_MS = 60 * 60_000;

interface Setting<T> {
  fallback: T;
  /** The accepted form, for the 400 answer. */
  accepted: string;
  read(raw: unknown): T | undefined;
  /** How GET shows it (durations as "2s"). */
  show?(value: T): unknown;
}

const route: Setting<FaultRoute> = {
  fallback: '/hello',
  accepted: `one of ${FAULT_ROUTES.join(', ')}`,
  read: (raw) => FAULT_ROUTES.find((r) => r === raw),
};

function duration(fallbackMs: number, maxMs: number): Setting<number> {
  return {
    fallback: fallbackMs,
    accepted: `a duration like "${formatDuration(fallbackMs)}" or a number of seconds, above 0 and at most "${formatDuration(maxMs)}"`,
    read: (raw) => {
      const ms = parseDuration(raw);
      return ms !== undefined && ms > 0 && ms <= maxMs ? ms : undefined;
    },
    show: formatDuration,
  };
}

const SETTINGS: { [K in FaultKind]: { [S in keyof FaultSettings[K]]: Setting<FaultSettings[K][S]> } } = {
  errors: {
    route,
    ratio: {
      fallback: 0.5,
      accepted: 'a number above 0 and at most 1',
      read: (raw) => (typeof raw === 'number' && raw > 0 && raw <= 1 ? raw : undefined),
    },
  },
  latency: { route, delay: duration(2000, 30_000) },
  leak: {
    cap_mib: {
      fallback: 256,
      accepted: 'an integer 1..1024',
      read: (raw) => (typeof raw === 'number' && Number.isInteger(raw) && raw >= 1 && raw <= 1024 ? raw : undefined),
    },
  },
  cpu: { route, work: duration(200, 2000) },
  dependency: {
    mode: {
      fallback: 'error',
      accepted: '"error" or "timeout"',
      read: (raw) => (raw === 'error' || raw === 'timeout' ? raw : undefined),
    },
    timeout: duration(1000, 30_000),
  },
};
const FOR = duration(DEFAULT_FOR_MS, MAX_FOR_MS);

export type FaultChange =
  { [K in FaultKind]: { kind: K; on: true; settings: FaultSettings[K]; forMs: number } }[FaultKind] | { kind: FaultKind; on: false };

export class FaultRequestError extends Error {}

const isKind = (x: unknown): x is FaultKind => (FAULT_KINDS as readonly unknown[]).includes(x);

/**
 * Reads a POST /admin/faults body: `{"fault": "<kind>", ...settings, "for": "10m"}` turns a kind on,
 * `{"fault": "<kind>", "on": false}` off. Throws FaultRequestError with one line naming the key and
 * the accepted form.
 */
export function parseFaultChange(body: string | undefined, hasNextService: boolean): FaultChange {
  let doc: unknown;
  try {
    doc = JSON.parse(body ?? '');
  } catch {
    doc = undefined;
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) {
    throw new FaultRequestError('the body must be a JSON object like {"fault": "errors", "ratio": 0.5, "for": "10m"}');
  }
  const fields = doc as Record<string, unknown>;
  const kind = fields['fault'];
  if (!isKind(kind)) throw new FaultRequestError(`fault must be one of ${FAULT_KINDS.join(', ')}`);
  const on = fields['on'] ?? true;
  if (typeof on !== 'boolean') throw new FaultRequestError('on must be true or false');
  if (!on) {
    const extra = Object.keys(fields).find((k) => k !== 'fault' && k !== 'on');
    if (extra !== undefined) throw new FaultRequestError(`unknown key ${extra}: turning a fault off takes only "fault" and "on": false`);
    return { kind, on: false };
  }
  if (kind === 'dependency' && !hasNextService) {
    throw new FaultRequestError('fault dependency needs a next service, and this app has none (NEXT_SERVICE_URL is not set)');
  }
  const specs = SETTINGS[kind] as Record<string, Setting<unknown>>;
  for (const key of Object.keys(fields)) {
    if (key !== 'fault' && key !== 'on' && key !== 'for' && !(key in specs)) {
      throw new FaultRequestError(`unknown key ${key} for fault ${kind} (accepted: ${[...Object.keys(specs), 'for'].join(', ')})`);
    }
  }
  const read = <T>(key: string, spec: Setting<T>): T => {
    if (fields[key] === undefined) return spec.fallback;
    const value = spec.read(fields[key]);
    if (value === undefined) throw new FaultRequestError(`${key} must be ${spec.accepted}`);
    return value;
  };
  const settings = Object.fromEntries(Object.entries(specs).map(([key, spec]) => [key, read(key, spec)]));
  return { kind, on: true, settings, forMs: read('for', FOR) } as FaultChange;
}

interface ActiveFault {
  settings: Record<string, unknown>;
  forMs: number;
  expiresAt: number;
  timer: NodeJS.Timeout;
}

export type FaultListener = (kind: FaultKind, on: boolean) => void;

/** RFC 3339 in UTC, to the second. */
const rfc3339 = (ms: number): string => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');

export class FaultSwitches {
  private readonly active = new Map<FaultKind, ActiveFault>();
  private readonly listeners: FaultListener[] = [];
  private readonly published = channel(FAULTS_CHANNEL);

  constructor(
    private readonly logger: Logger,
    private readonly now: () => number = Date.now,
  ) {
    this.publish();
  }

  /** Called after a kind turns on or off (a request, or its expiry). */
  onChange(listener: FaultListener): void {
    this.listeners.push(listener);
  }

  apply(change: FaultChange): void {
    if (!change.on) {
      this.turnOff(change.kind, 'request');
      return;
    }
    const previous = this.active.get(change.kind);
    if (previous !== undefined) clearTimeout(previous.timer);
    const expiresAt = this.now() + change.forMs;
    const timer = setTimeout(() => this.turnOff(change.kind, 'expired'), change.forMs).unref();
    this.active.set(change.kind, { settings: change.settings, forMs: change.forMs, expiresAt, timer });
    const shown = this.shownSettings(change.kind, change.settings);
    const text = Object.entries(shown).map(([k, v]) => `${k}=${String(v)}`).join(' ');
    this.log({ msg: `[FAULT] ${change.kind} on ${text} for=${formatDuration(change.forMs)}`, fault: change.kind, state: 'on', ...shown, for: formatDuration(change.forMs), expires_at: rfc3339(expiresAt) });
    this.changed(change.kind, true);
  }

  /** The settings of `kind` while it is on (expiring it first if its time is up), else undefined. */
  get<K extends FaultKind>(kind: K): FaultSettings[K] | undefined {
    this.expireDue();
    return this.active.get(kind)?.settings as FaultSettings[K] | undefined;
  }

  /** Turns off every fault whose time is up. */
  expireDue(): void {
    const now = this.now();
    for (const [kind, fault] of this.active) if (fault.expiresAt <= now) this.turnOff(kind, 'expired');
  }

  /** The `faults` object of GET /admin/faults: every kind, null when off. */
  document(): Record<FaultKind, Record<string, unknown> | null> {
    this.expireDue();
    const doc = {} as Record<FaultKind, Record<string, unknown> | null>;
    for (const kind of FAULT_KINDS) {
      const fault = this.active.get(kind);
      doc[kind] = fault === undefined ? null : { ...this.shownSettings(kind, fault.settings), expires_at: rfc3339(fault.expiresAt) };
    }
    return doc;
  }

  /** Stops the expiry timers (the app is shutting down). */
  close(): void {
    for (const fault of this.active.values()) clearTimeout(fault.timer);
  }

  private turnOff(kind: FaultKind, reason: 'request' | 'expired'): void {
    const fault = this.active.get(kind);
    if (fault === undefined) return;
    clearTimeout(fault.timer);
    this.active.delete(kind);
    this.log({ msg: `[FAULT] ${kind} off (${reason})`, fault: kind, state: 'off', reason });
    this.changed(kind, false);
  }

  private shownSettings(kind: FaultKind, settings: Record<string, unknown>): Record<string, unknown> {
    const specs = SETTINGS[kind] as Record<string, Setting<unknown>>;
    return Object.fromEntries(Object.entries(settings).map(([key, value]) => [key, specs[key]?.show?.(value) ?? value]));
  }

  private log(body: Record<string, unknown>): void {
    this.logger.warn({ msg: { ...body, level: 'warn' } });
  }

  private changed(kind: FaultKind, on: boolean): void {
    this.publish();
    for (const listener of this.listeners) listener(kind, on);
  }

  private publish(): void {
    const message = Object.fromEntries(FAULT_KINDS.map((k) => [k, this.active.has(k)])) as FaultsMessage;
    this.published.publish(message);
  }
}
