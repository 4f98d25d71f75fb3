// `lgtmp verify --services`: every service the stack has seen in the window, and where: Tempo
// (resource.service.name of spans), Loki (the job label Loki indexes for OTLP logs), Mimir (job of
// target_info, the series every OTLP metrics export creates; namespace/name when a namespace is
// set) and Pyroscope (service_name of profiles). A backend that does not answer is named, never
// taken for "no services".
import type { VerifyContext } from './context.js';
import { HttpError, UnreachableError } from './http.js';

export const BACKENDS = ['tempo', 'loki', 'mimir', 'pyroscope'] as const;
export type Backend = (typeof BACKENDS)[number];

export interface SeenService {
  service: string;
  in: Record<Backend, boolean>;
}

export interface SeenServices {
  services: SeenService[];
  /** Backends that could not be asked, with the reason. */
  unanswered: Array<{ backend: Backend; error: string }>;
}

export async function seenServices(ctx: VerifyContext): Promise<SeenServices> {
  const { startMs, endMs } = ctx.window;
  const ask: Record<Backend, () => Promise<string[]>> = {
    tempo: () => ctx.tempo.tagValues('resource.service.name', startMs, endMs),
    loki: () => ctx.loki.labelValues('job', ctx.window),
    mimir: async () => (await ctx.prom.query('target_info')).map((s) => s.metric['job'] ?? '').filter(Boolean),
    pyroscope: () => ctx.pyro.labelValues('service_name', startMs, endMs),
  };
  const byBackend = {} as Record<Backend, Set<string>>;
  const unanswered: SeenServices['unanswered'] = [];
  for (const backend of BACKENDS) {
    try {
      byBackend[backend] = new Set(await ask[backend]());
    } catch (err) {
      if (!(err instanceof UnreachableError || err instanceof HttpError)) throw err;
      byBackend[backend] = new Set();
      unanswered.push({ backend, error: err.message });
    }
  }
  const names = [...new Set(BACKENDS.flatMap((b) => [...byBackend[b]]))].sort();
  return {
    services: names.map((service) => ({ service, in: Object.fromEntries(BACKENDS.map((b) => [b, byBackend[b].has(service)])) as Record<Backend, boolean> })),
    unanswered,
  };
}

export function renderSeenServices(seen: SeenServices): string {
  const width = Math.max(7, ...seen.services.map((s) => s.service.length));
  const lines = [`${'SERVICE'.padEnd(width)}  ${BACKENDS.map((b) => b.toUpperCase().padEnd(9)).join(' ').trimEnd()}`];
  for (const s of seen.services) lines.push(`${s.service.padEnd(width)}  ${BACKENDS.map((b) => (s.in[b] ? 'yes' : '-').padEnd(9)).join(' ').trimEnd()}`);
  if (seen.services.length === 0) lines.push('(no service in the window)');
  for (const u of seen.unanswered) lines.push(`${u.backend} not asked: ${u.error}`);
  return lines.join('\n');
}
