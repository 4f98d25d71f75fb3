// Toolchain cache outside the repository: $LGTMP_CACHE_DIR, else $XDG_CACHE_HOME/lgtmp, else ~/.cache/lgtmp.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, readdirSync, statSync, renameSync, rmSync, existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve, relative } from 'node:path';

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

export interface RunResult { code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }

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
      const r: RunResult = { code, signal, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') };
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

/**
 * Fill a directory atomically: `fill(tmp)` writes into a temp dir next to `target`, which is then renamed to
 * `target`. If another process won the race, its result is kept.
 */
export async function populateAtomically(target: string, fill: (tmpDir: string) => Promise<void>): Promise<string> {
  if (existsSync(target)) return target;
  const tmp = `${target}.tmp-${process.pid}-${Date.now()}`;
  mkdirSync(tmp, { recursive: true });
  try {
    await fill(tmp);
    try {
      renameSync(tmp, target);
    } catch (e) {
      if (!existsSync(target)) throw e;
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  return target;
}

