// Toolchain cache outside the repository: $LGTMP_CACHE_DIR, else $XDG_CACHE_HOME/lgtmp, else ~/.cache/lgtmp.
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, linkSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, resolve, relative } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

/** The harness's users find the repository root here too. */
export { repoRoot } from '../../src/project.js';

export function cacheRoot(): string {
  if (process.env.LGTMP_CACHE_DIR) return resolve(process.env.LGTMP_CACHE_DIR);
  if (process.env.XDG_CACHE_HOME) return join(resolve(process.env.XDG_CACHE_HOME), 'lgtmp');
  return join(homedir(), '.cache', 'lgtmp');
}

/** Path inside the cache dir; the directory is created. */
export function cacheDir(...parts: string[]): string {
  const dir = join(cacheRoot(), ...parts);
  mkdirSync(dir, { recursive: true });
  return dir;
}

/** sha256 (hex, first 16 chars) over the given files/directories (recursively, sorted, paths included). */
export function contentHash(paths: string[], opts: { base?: string; ignore?: (p: string) => boolean } = {}): string {
  const h = createHash('sha256');
  const walk = (p: string): void => {
    if (opts.ignore?.(p)) return;
    const st = statSync(p);
    if (st.isDirectory()) {
      for (const e of readdirSync(p).sort()) walk(join(p, e));
    } else if (st.isFile()) {
      h.update(opts.base ? relative(opts.base, p) : p);
      h.update('\0');
      h.update(readFileSync(p));
      h.update('\0');
    }
  };
  for (const p of paths) walk(p);
  return h.digest('hex').slice(0, 16);
}

/** stdoutBytes: stdout as written, for a command whose output is binary (stdout is its UTF-8 reading). */
export interface RunResult { code: number | null; signal: NodeJS.Signals | null; stdout: string; stdoutBytes: Buffer; stderr: string }

/** Run a command to completion, capturing output. Rejects (with the output) on non-zero exit unless allowFailure. */
export function run(command: string, args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv; allowFailure?: boolean; input?: string | Buffer; timeoutMs?: number } = {}): Promise<RunResult> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(command, args, { cwd: opts.cwd, env: opts.env ?? process.env, stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let timer: NodeJS.Timeout | undefined;
    if (opts.timeoutMs) timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs);
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.on('error', (e: NodeJS.ErrnoException) => {
      if (timer) clearTimeout(timer);
      reject(e.code === 'ENOENT' ? new Error(`'${command}' was not found on PATH (needed for: ${command} ${args.join(' ')})`) : e);
    });
    child.on('close', (code, signal) => {
      if (timer) clearTimeout(timer);
      const stdoutBytes = Buffer.concat(out);
      const r: RunResult = { code, signal, stdout: stdoutBytes.toString('utf8'), stdoutBytes, stderr: Buffer.concat(err).toString('utf8') };
      if ((code !== 0 || signal) && !opts.allowFailure) {
        reject(new Error(`${command} ${args.join(' ')} failed (exit ${code ?? signal})\n${tail(r.stdout + r.stderr, 4000)}`));
      } else resolvePromise(r);
    });
    if (opts.input !== undefined) child.stdin.end(opts.input);
    else child.stdin.end();
  });
}

export function tail(s: string, n: number): string {
  return s.length <= n ? s : '…' + s.slice(s.length - n);
}

/** `go version` output; a clear error naming `who` when the Go toolchain is missing or broken. */
export async function requireGo(who: string, minimum: string): Promise<string> {
  try {
    return (await run('go', ['version'], { timeoutMs: 60_000 })).stdout.trim();
  } catch (e) {
    throw new Error(
      `${who} needs the Go toolchain (go ${minimum} or newer on PATH): ${e instanceof Error ? e.message : String(e)}. ` +
        'Install Go from your distribution or golang.org/dl and make sure `go version` works.',
    );
  }
}

function pidAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false; // kill(0 or -n) would signal a process group
  try { process.kill(pid, 0); return true; } catch (e) { return (e as NodeJS.ErrnoException).code === 'EPERM'; }
}

/** The lock file's content; undefined when there is none, '' when it is not a readable lock file. */
function readLock(lock: string): string | undefined {
  try {
    return readFileSync(lock, 'utf8');
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'ENOENT' ? undefined : '';
  }
}

/**
 * Runs fn holding the cross-process lock `<path>.lock`, so that processes building the same cache entry share one
 * build: the others wait, then find the result. The lock file is created by link() from a file that already holds
 * the owner's pid and a random token, so it is never seen empty. A lock whose owner process is gone (a crashed or
 * killed build) is taken over. Owners are checked by pid: processes on this machine.
 */
export async function withCacheLock<T>(path: string, fn: () => Promise<T>): Promise<T> {
  const lock = `${path}.lock`;
  // The entry's folder may not exist yet on a fresh cache; the lock lives beside the entry.
  mkdirSync(dirname(path), { recursive: true });
  const token = `${process.pid} ${randomBytes(8).toString('hex')}`;
  const mine = `${lock}.${process.pid}-${randomBytes(4).toString('hex')}`;
  writeFileSync(mine, token);
  try {
    let announced = false;
    for (;;) {
      try {
        linkSync(mine, lock);
        break;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      }
      const held = readLock(lock);
      if (held === undefined) continue; // released meanwhile
      const owner = Number(held.split(' ')[0]);
      if (!pidAlive(owner)) {
        // Only the dead owner's lock goes: re-read right before removing, in case another waiter took over first.
        if (readLock(lock) === held) rmSync(lock, { recursive: true, force: true });
        continue;
      }
      if (!announced) console.error(`[cache] waiting for process ${owner}, which holds ${lock}`);
      announced = true;
      await sleep(500);
    }
  } finally {
    rmSync(mine, { force: true });
  }
  try {
    return await fn();
  } finally {
    if (readLock(lock) === token) rmSync(lock, { force: true });
  }
}

/**
 * Fill a directory atomically, once across processes: under withCacheLock, `fill(tmp)` writes into a temp dir
 * next to `target`, which is then renamed to `target`. A build that fails or is killed leaves nothing at
 * `target`; its temp dir is removed by the next builder (it holds the lock, so no one else writes there).
 */
export async function populateAtomically(target: string, fill: (tmpDir: string) => Promise<void>): Promise<string> {
  if (existsSync(target)) return target;
  return withCacheLock(target, async () => {
    if (existsSync(target)) return target; // built by the process we waited for
    const tmp = `${target}.tmp`;
    rmSync(tmp, { recursive: true, force: true });
    mkdirSync(tmp, { recursive: true });
    try {
      await fill(tmp);
      renameSync(tmp, target);
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
    return target;
  });
}
