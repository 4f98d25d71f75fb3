import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';

/** The repository root: compiled code lives in dist/src, sources in src. */
export const repoRoot = fileURLToPath(new URL(import.meta.url.includes('/dist/') ? '../../' : '../', import.meta.url));

export const composeFile = join(repoRoot, 'compose.yaml');
/** LGTMP_ENV_FILE points the CLI (and compose) at another .env, e.g. in tests. */
export const envFile = process.env.LGTMP_ENV_FILE ?? join(repoRoot, '.env');

/** Parses a dotenv file: KEY=VALUE lines, # comments, optional quotes. */
export function parseEnv(text: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const eq = line.indexOf('=');
    if (eq < 1) continue;
    const key = line.slice(0, eq).trim();
    let value = line.slice(eq + 1).trim();
    if (/^(['"]).*\1$/.test(value)) value = value.slice(1, -1);
    env[key] = value;
  }
  return env;
}

export function readEnv(file = envFile): Record<string, string> {
  return parseEnv(readFileSync(file, 'utf8'));
}

export type ServiceKind = 'backend' | 'collector' | 'ui' | 'app';

/** One compose service as the CLI knows it: where it answers on the host, and how to tell it is ready. */
export interface ServiceInfo {
  name: string;
  kind: ServiceKind;
  /** .env key of the image version (stack components) */
  versionKey?: string;
  /** .env key of the host port the readiness URL uses */
  portKey: string;
  /** .env keys of every host port the service binds */
  portKeys: string[];
  readyPath: string;
}

export const services: readonly ServiceInfo[] = [
  { name: 'loki', kind: 'backend', versionKey: 'LOKI_VERSION', portKey: 'LOKI_PORT', portKeys: ['LOKI_PORT'], readyPath: '/ready' },
  { name: 'tempo', kind: 'backend', versionKey: 'TEMPO_VERSION', portKey: 'TEMPO_PORT', portKeys: ['TEMPO_PORT'], readyPath: '/ready' },
  { name: 'mimir', kind: 'backend', versionKey: 'MIMIR_VERSION', portKey: 'MIMIR_PORT', portKeys: ['MIMIR_PORT'], readyPath: '/ready' },
  { name: 'pyroscope', kind: 'backend', versionKey: 'PYROSCOPE_VERSION', portKey: 'PYROSCOPE_PORT', portKeys: ['PYROSCOPE_PORT'], readyPath: '/ready' },
  {
    name: 'alloy',
    kind: 'collector',
    versionKey: 'ALLOY_VERSION',
    portKey: 'ALLOY_UI_PORT',
    portKeys: ['ALLOY_UI_PORT', 'ALLOY_OTLP_GRPC_PORT', 'ALLOY_OTLP_HTTP_PORT', 'ALLOY_PROFILES_PORT'],
    readyPath: '/-/ready',
  },
  { name: 'grafana', kind: 'ui', versionKey: 'GRAFANA_VERSION', portKey: 'GRAFANA_PORT', portKeys: ['GRAFANA_PORT'], readyPath: '/api/health' },
  { name: 'demo-app', kind: 'app', portKey: 'GO_APP_PORT', portKeys: ['GO_APP_PORT'], readyPath: '/healthz' },
  { name: 'java-demo-app', kind: 'app', portKey: 'JAVA_APP_PORT', portKeys: ['JAVA_APP_PORT'], readyPath: '/healthz' },
  { name: 'python-demo-app', kind: 'app', portKey: 'PYTHON_APP_PORT', portKeys: ['PYTHON_APP_PORT'], readyPath: '/healthz' },
  { name: 'node-demo-app', kind: 'app', portKey: 'NODE_APP_PORT', portKeys: ['NODE_APP_PORT'], readyPath: '/healthz' },
];

export function findService(name: string): ServiceInfo | undefined {
  return services.find((s) => s.name === name);
}

/** A required .env value; a missing one means a broken checkout, so say which key. */
export function envValue(env: Record<string, string>, key: string): string {
  const value = env[key];
  if (value === undefined || value === '') throw new Error(`.env has no value for ${key}`);
  return value;
}

export function hostPort(env: Record<string, string>, key: string): number {
  return Number(envValue(env, key));
}

export function readyUrl(service: ServiceInfo, env: Record<string, string>): string {
  return `http://127.0.0.1:${hostPort(env, service.portKey)}${service.readyPath}`;
}

export function grafanaUrl(env: Record<string, string>): string {
  return `http://localhost:${hostPort(env, 'GRAFANA_PORT')}`;
}
