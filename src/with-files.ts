// `lgtmp up --with <compose file>`: the user's own services, started with the stack as one Compose
// project, so they share its network and reach http://alloy:4318 (OTLP) and http://alloy:9999
// (profiles). Before anything starts, Compose's own loader (compose-go, `docker compose config`)
// must accept the files merged with ours, and no service may take the name of one of ours.
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { docker, composeArgs, type ContainerState } from './docker.js';
import { UserError } from './errors.js';
import { services } from './facts.js';

/** The services a compose file declares (after Compose has validated it). */
function declaredServices(file: string): string[] {
  const doc = parse(readFileSync(file, 'utf8')) as { services?: Record<string, unknown> } | null;
  return Object.keys(doc?.services ?? {});
}

/** Checks the --with files and answers the names of their services; nothing is started when they are refused. */
export async function checkWithFiles(files: readonly string[]): Promise<string[]> {
  if (files.length === 0) return [];
  const config = await docker(composeArgs(['config', '--quiet'], files));
  if (config.code !== 0) {
    throw new UserError(
      `Docker Compose refused the --with file(s) ${files.join(', ')}: ${config.stderr.trim().split('\n').join(' ')}. Nothing was started.`,
      'Fix the file (`docker compose -f <file> config` shows the same error); paths in it are relative to the lgtmp folder, as Compose resolves every -f file against the first one.',
    );
  }
  const ours = new Set(services.map((s) => s.name));
  const theirs: string[] = [];
  for (const file of files) {
    for (const name of declaredServices(file)) {
      if (ours.has(name)) {
        throw new UserError(
          `${file}: service "${name}" has the name of one of lgtmp's own services, and Compose would merge the two. Nothing was started.`,
          `Rename it; lgtmp's services are ${[...ours].join(', ')}.`,
        );
      }
      theirs.push(name);
    }
  }
  return theirs;
}

/** A --with service is ready when its container runs, and is healthy when it has a healthcheck. */
export function runsHealthy(state: ContainerState | undefined): boolean {
  return state?.state === 'running' && (state.health === '' || state.health === 'healthy');
}
