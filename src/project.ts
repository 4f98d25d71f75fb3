import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import type { ServiceFacts } from './facts.js';

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

/** A required .env value; a missing one means a broken checkout, so say which key. */
export function envValue(env: Record<string, string>, key: string): string {
  const value = env[key];
  if (value === undefined || value === '') throw new Error(`.env has no value for ${key}`);
  return value;
}

export function hostPort(env: Record<string, string>, key: string): number {
  return Number(envValue(env, key));
}

export function readyUrl(service: ServiceFacts, env: Record<string, string>): string {
  return `http://127.0.0.1:${hostPort(env, service.portKey)}${service.readyPath}`;
}

export function grafanaUrl(env: Record<string, string>): string {
  return `http://localhost:${hostPort(env, 'GRAFANA_PORT')}`;
}
