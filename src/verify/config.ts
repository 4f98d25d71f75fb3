// The base URL of every backend, either direct (host ports from .env) or through Grafana's
// datasource proxy, the flags that choose them, and the time flags verify and tour share.
import { findService } from '../facts.js';
import { hostPort } from '../project.js';

export interface Endpoints {
  mode: 'grafana' | 'direct';
  grafana: string;
  loki: string;
  tempo: string;
  prometheus: string;
  pyroscope: string;
}

export interface EndpointFlags {
  direct?: boolean;
  grafanaUrl?: string;
  lokiUrl?: string;
  tempoUrl?: string;
  prometheusUrl?: string;
  pyroscopeUrl?: string;
}

export interface DatasourceUids {
  loki: string;
  tempo: string;
  prometheus: string;
  pyroscope: string;
}

/** The parseArgs options of the endpoint flags (verify and tour); endpointFlags reads their values. */
export const endpointOptions = {
  direct: { type: 'boolean' },
  'grafana-url': { type: 'string' },
  'loki-url': { type: 'string' },
  'tempo-url': { type: 'string' },
  'prometheus-url': { type: 'string' },
  'pyroscope-url': { type: 'string' },
} as const;

type EndpointValues = { direct?: boolean } & { [K in Exclude<keyof typeof endpointOptions, 'direct'>]?: string };

export function endpointFlags(values: EndpointValues): EndpointFlags {
  return {
    direct: values.direct ?? false,
    grafanaUrl: values['grafana-url'],
    lokiUrl: values['loki-url'],
    tempoUrl: values['tempo-url'],
    prometheusUrl: values['prometheus-url'],
    pyroscopeUrl: values['pyroscope-url'],
  };
}

/** A compose service on its host port from .env. */
const onHost = (env: Record<string, string>, service: string) => `http://127.0.0.1:${hostPort(env, findService(service)!.portKey)}`;

/** Grafana's base URL: --grafana-url, else its host port from .env. */
export function grafanaBase(flags: EndpointFlags, env: Record<string, string>): string {
  return (flags.grafanaUrl ?? onHost(env, 'grafana')).replace(/\/+$/, '');
}

/** Grafana's datasource proxy for one datasource uid. */
export function grafanaProxyUrl(grafana: string, uid: string): string {
  return `${grafana.replace(/\/+$/, '')}/api/datasources/proxy/uid/${encodeURIComponent(uid)}`;
}

/**
 * Base URLs. Direct: the host ports from .env (Mimir's Prometheus API lives under /prometheus).
 * Through Grafana: the datasource proxy of each provisioned uid (Pyroscope's client uses
 * /api/ds/query and the datasource's resources instead, see pyroscope.ts). A flag always wins.
 */
export function resolveEndpoints(flags: EndpointFlags, env: Record<string, string>, uids: DatasourceUids): Endpoints {
  const grafana = grafanaBase(flags, env);
  if (flags.direct) {
    return {
      mode: 'direct',
      grafana,
      loki: flags.lokiUrl ?? onHost(env, 'loki'),
      tempo: flags.tempoUrl ?? onHost(env, 'tempo'),
      prometheus: flags.prometheusUrl ?? `${onHost(env, 'mimir')}/prometheus`,
      pyroscope: flags.pyroscopeUrl ?? onHost(env, 'pyroscope'),
    };
  }
  return {
    mode: 'grafana',
    grafana,
    loki: flags.lokiUrl ?? grafanaProxyUrl(grafana, uids.loki),
    tempo: flags.tempoUrl ?? grafanaProxyUrl(grafana, uids.tempo),
    prometheus: flags.prometheusUrl ?? grafanaProxyUrl(grafana, uids.prometheus),
    pyroscope: flags.pyroscopeUrl ?? grafana,
  };
}

/** A point in time given as unix seconds, unix milliseconds or an ISO date. Returns milliseconds. */
export function parseTime(text: string): number {
  if (/^\d+(\.\d+)?$/.test(text)) {
    const n = Number(text);
    return n < 1e11 ? Math.round(n * 1000) : Math.round(n);
  }
  const t = Date.parse(text);
  if (Number.isNaN(t)) throw new Error(`not a time: "${text}" (unix seconds or ISO 8601)`);
  return t;
}
