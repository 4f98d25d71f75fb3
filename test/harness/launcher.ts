// Start an app as a user would, in its own process group; wait for health; kill the whole tree on stop.
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { constants, tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

export interface LaunchedApp {
  pid: number;
  output(): string;
  stop(): Promise<void>;
}

export interface LaunchOptions {
  name: string;
  command: string;
  args: string[];
  cwd: string;
  env: Record<string, string>;
  healthUrl: string;
  timeoutMs?: number;
}

const MAX_OUTPUT = 4 * 1024 * 1024;
const live = new Set<number>();
const tempDirs = new Set<string>();

process.on('exit', () => {
  // Last resort: never leave app process groups or temp dirs behind when the test process exits. The groups go
  // first: they may still be writing into the temp dirs.
  for (const pgid of live) {
    try { process.kill(-pgid, 'SIGKILL'); } catch { /* gone */ }
  }
  for (const dir of tempDirs) {
    try { rmSync(dir, { recursive: true, force: true, maxRetries: 3 }); } catch { /* best effort */ }
  }
});
// A signal (Ctrl-C reaches the test process too; node --test forwards SIGTERM) would end the process without the
// 'exit' event: exit instead, with the usual 128 + signal number, so the hook above runs.
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.once(sig, () => process.exit(128 + constants.signals[sig]));
}

/** A new directory under the OS temp dir, removed by removeTempDir() or, at the latest, when the process exits. */
export function makeTempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  tempDirs.add(dir);
  return dir;
}

export function removeTempDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
  tempDirs.delete(dir);
}

/** Is any non-zombie process left in the process group? */
export function groupAlive(pgid: number): boolean {
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    try { process.kill(-pgid, 0); return true; } catch { return false; }
  }
  for (const e of entries) {
    if (!/^\d+$/.test(e)) continue;
    let stat: string;
    try { stat = readFileSync(`/proc/${e}/stat`, 'utf8'); } catch { continue; }
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // rest: state ppid pgrp ...
    if (Number(rest[2]) === pgid && rest[0] !== 'Z' && rest[0] !== 'X') return true;
  }
  return false;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      if (addr === null || typeof addr === 'string') { srv.close(); reject(new Error('no port')); return; }
      const port = addr.port;
      srv.close(() => resolve(port));
    });
  });
}

export async function waitFor<T>(what: string, probe: () => T | undefined | Promise<T | undefined>, timeoutMs = 30_000, intervalMs = 250): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const v = await probe();
      if (v !== undefined && v !== null && (v as unknown) !== false) return v;
    } catch (e) {
      lastError = e;
    }
    if (Date.now() >= deadline) {
      const detail = lastError === undefined ? '' : ` (last error: ${lastError instanceof Error ? lastError.message : String(lastError)})`;
      throw new Error(`timed out waiting for ${what} after ${timeoutMs} ms${detail}`);
    }
    await sleep(Math.min(intervalMs, Math.max(1, deadline - Date.now())));
  }
}

export async function launchApp(o: LaunchOptions): Promise<LaunchedApp> {
  const timeoutMs = o.timeoutMs ?? 120_000;
  const chunks: string[] = [];
  let size = 0;
  const append = (b: Buffer): void => {
    const s = b.toString('utf8');
    chunks.push(s);
    size += s.length;
    while (size > MAX_OUTPUT && chunks.length > 1) size -= chunks.shift()!.length;
  };
  const output = (): string => chunks.join('');

  const child = spawn(o.command, o.args, {
    cwd: o.cwd,
    env: { ...process.env, ...o.env },
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout.on('data', append);
  child.stderr.on('data', append);
  let exited: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  let spawnError: Error | undefined;
  const exitPromise = new Promise<void>((resolve) => {
    child.on('exit', (code, signal) => { exited = { code, signal }; resolve(); });
    child.on('error', (e) => { spawnError = e; exited = { code: null, signal: null }; resolve(); });
  });
  const pid = child.pid;
  if (pid !== undefined) live.add(pid);

  let stopped: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopped ??= (async () => {
      if (pid === undefined) return;
      try { process.kill(-pid, 'SIGTERM'); } catch { /* already gone */ }
      const deadline = Date.now() + 10_000;
      while (Date.now() < deadline && (exited === undefined || groupAlive(pid))) await sleep(100);
      if (exited === undefined || groupAlive(pid)) {
        try { process.kill(-pid, 'SIGKILL'); } catch { /* gone */ }
        const d2 = Date.now() + 5_000;
        while (Date.now() < d2 && (exited === undefined || groupAlive(pid))) await sleep(100);
      }
      await Promise.race([exitPromise, sleep(1000)]);
      live.delete(pid);
    })();
    return stopped;
  };

  const describe = (why: string): Error => {
    const tailText = output().slice(-8000);
    return new Error(`${o.name}: ${why}\ncommand: ${o.command} ${o.args.join(' ')}\ncwd: ${o.cwd}\n--- output (tail) ---\n${tailText}\n--- end output ---`);
  };

  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (spawnError) throw describe(`could not start: ${spawnError.message}`);
    if (exited) {
      await stop();
      throw describe(`exited before becoming healthy (code ${exited.code}, signal ${exited.signal})`);
    }
    try {
      const res = await fetch(o.healthUrl, { signal: AbortSignal.timeout(2000) });
      await res.arrayBuffer();
      if (res.ok) break;
    } catch { /* not up yet */ }
    if (Date.now() > deadline) {
      await stop();
      throw describe(`did not answer ${o.healthUrl} with 2xx within ${timeoutMs} ms`);
    }
    await sleep(250);
  }
  return { pid: pid!, output, stop };
}
