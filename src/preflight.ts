import { createServer } from 'node:net';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { docker } from './docker.js';
import { UserError } from './errors.js';

const run = promisify(execFile);

/**
 * Docker Engine and Compose v2, checked before any command that talks to them. `up` says on top of the
 * error that nothing was started.
 */
export async function checkDocker(): Promise<{ engine: string; compose: string }> {
  return { engine: await checkEngine(), compose: await checkCompose() };
}

/** Docker Engine must answer; the client alone is not enough. */
export async function checkEngine(): Promise<string> {
  const result = await docker(['version', '--format', '{{.Server.Version}}']);
  const version = result.stdout.trim();
  if (result.code === 0 && version !== '') return version;
  const why = result.stderr.trim().split('\n').find((l) => l.trim() !== '') ?? 'no answer from the Docker Engine';
  const permission = /permission denied/i.test(result.stderr);
  throw new UserError(
    `The Docker client is installed but the Docker Engine did not answer (${why}).`,
    permission
      ? 'Add your user to the docker group (`sudo usermod -aG docker $USER`, then log in again), or run with sudo.'
      : 'Start Docker Engine (Linux: `sudo systemctl start docker`; macOS/Windows: open Docker Desktop), then run the command again.',
  );
}

/** Compose v2 is the `docker compose` plugin; v1 (`docker-compose`, Python) cannot read this compose file. */
export async function checkCompose(): Promise<string> {
  const result = await docker(['compose', 'version', '--short']);
  const version = result.stdout.trim().replace(/^v/, '');
  if (result.code === 0 && /^\d+\./.test(version)) {
    const major = Number(version.split('.')[0]);
    if (major >= 2) return version;
  }
  const v1 = await hasComposeV1();
  throw new UserError(
    v1
      ? 'Only Docker Compose v1 (`docker-compose`) is installed; lgtmp needs Compose v2 (`docker compose`).'
      : 'Docker Compose v2 (`docker compose`) is not installed.',
    'Install the Compose v2 plugin: https://docs.docker.com/compose/install/ (Docker Desktop already has it).',
  );
}

async function hasComposeV1(): Promise<boolean> {
  try {
    await run('docker-compose', ['--version']);
    return true;
  } catch {
    return false;
  }
}

/** True when nothing listens on 127.0.0.1:port (we bind every host port there). */
export function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen({ port, host: '127.0.0.1', exclusive: true }, () => server.close(() => resolve(true)));
  });
}

/** Who holds a port, as far as `ss` or `lsof` can tell (either may be missing or need root). */
export async function portHolder(port: number): Promise<string | undefined> {
  try {
    const { stdout } = await run('ss', ['-H', '-ltnp', `sport = :${port}`]);
    const name = /users:\(\("([^"]+)",pid=(\d+)/.exec(stdout);
    if (name) return `${name[1]} (pid ${name[2]})`;
  } catch {
    /* fall through to lsof */
  }
  try {
    const { stdout } = await run('lsof', ['-nP', `-iTCP:${port}`, '-sTCP:LISTEN']);
    const line = stdout.split('\n')[1];
    if (line) {
      const [command, pid] = line.split(/\s+/);
      return `${command} (pid ${pid})`;
    }
  } catch {
    /* unknown */
  }
  return undefined;
}

export interface PortClaim {
  service: string;
  envKey: string;
  port: number;
}

export async function checkPorts(claims: PortClaim[]): Promise<void> {
  const busy: string[] = [];
  for (const claim of claims) {
    if (await portIsFree(claim.port)) continue;
    const holder = await portHolder(claim.port);
    busy.push(`port ${claim.port} (${claim.service}, ${claim.envKey})${holder ? ` is used by ${holder}` : ' is already in use'}`);
  }
  if (busy.length > 0) {
    throw new UserError(
      `Cannot start: ${busy.join('; ')}. Nothing was started.`,
      'Stop what uses the port, or give lgtmp another one by changing that key in .env.',
    );
  }
}
