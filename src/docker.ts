import { spawn, type ChildProcess } from 'node:child_process';
import { composeFile, envFile, repoRoot } from './project.js';
import { UserError } from './errors.js';

export interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
}

const dockerDownload = 'https://docs.docker.com/engine/install/ (Linux) or Docker Desktop (macOS, Windows)';

/**
 * Every compose call names the project's file (then the user's `up --with` files) and its .env,
 * whatever the working directory.
 */
export function composeArgs(args: string[], withFiles: readonly string[] = []): string[] {
  return ['compose', '--project-directory', repoRoot, '-f', composeFile, ...withFiles.flatMap((f) => ['-f', f]), '--env-file', envFile, ...args];
}

function missingDocker(): UserError {
  return new UserError(
    'Docker was not found on this machine: lgtmp runs the stack with Docker Engine and Compose v2.',
    `Install Docker: ${dockerDownload}. Then run \`npm start\` again.`,
  );
}

/** Runs docker and collects its output. */
export function docker(args: string[], onSpawn?: (child: ChildProcess) => void): Promise<CommandResult> {
  return new Promise((resolve, reject) => {
    const child = spawn('docker', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    onSpawn?.(child);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', (err: NodeJS.ErrnoException) => reject(err.code === 'ENOENT' ? missingDocker() : err));
    child.on('close', (code, signal) => resolve({ code: code ?? (signal ? 130 : 1), stdout, stderr }));
  });
}

/** Runs docker with the terminal attached (build output, `logs -f`). */
export function dockerAttached(args: string[], onSpawn?: (child: ChildProcess) => void): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn('docker', args, { stdio: 'inherit' });
    onSpawn?.(child);
    child.on('error', (err: NodeJS.ErrnoException) => reject(err.code === 'ENOENT' ? missingDocker() : err));
    child.on('close', (code, signal) => resolve(code ?? (signal ? 130 : 1)));
  });
}

export interface ContainerState {
  service: string;
  state: string; // running, exited, restarting, created...
  health: string; // healthy, unhealthy, starting, or '' without a healthcheck
  exitCode: number;
}

/** `docker compose ps --all --format json`: one JSON object per line (newer Compose) or one array (older v2). */
export function parsePs(stdout: string): ContainerState[] {
  const text = stdout.trim();
  if (text === '') return [];
  const rows: unknown[] = text.startsWith('[') ? (JSON.parse(text) as unknown[]) : text.split('\n').map((l) => JSON.parse(l) as unknown);
  return rows.map((row) => {
    const r = row as Record<string, unknown>;
    return {
      service: String(r.Service ?? ''),
      state: String(r.State ?? ''),
      health: String(r.Health ?? ''),
      exitCode: Number(r.ExitCode ?? 0),
    };
  });
}

export async function composePs(): Promise<ContainerState[]> {
  // the project's containers, those of `up --with` services included (Compose lists orphans too)
  const result = await docker(composeArgs(['ps', '--all', '--format', 'json']));
  if (result.code !== 0) throw new UserError(`docker compose ps failed: ${result.stderr.trim()}`);
  return parsePs(result.stdout);
}

export async function composeLogsTail(service: string, lines: number, withFiles: readonly string[] = []): Promise<string> {
  const result = await docker(composeArgs(['logs', '--no-color', '--tail', String(lines), service], withFiles));
  return (result.stdout + result.stderr).trimEnd();
}
