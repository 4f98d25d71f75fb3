// Replays an image's Dockerfile natively, for machines without a Docker engine: each stage gets its own folder
// as its root filesystem, COPY copies from the build context or from another stage's folder, RUN runs with the
// local toolchain (sh -c) in the stage's WORKDIR, and the last stage yields the command, folder and environment
// the container would start with. What this cannot show: the base images' own contents (their Node, Python or
// JDK version), USER (the replay runs as the current user) and anything a RUN does outside its WORKDIR. So only
// Dockerfiles whose RUN commands stay inside the WORKDIR replay; any other instruction is refused, by name.
import { chmodSync, cpSync, existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, isAbsolute, join, posix } from 'node:path';
import { run } from './cache.js';

export interface Instruction { keyword: string; args: string; line: number }

/** Instructions with their arguments, continuation lines joined, comments and blank lines dropped. */
export function parseDockerfile(text: string): Instruction[] {
  const out: Instruction[] = [];
  let pending: { text: string; line: number } | undefined;
  text.split('\n').forEach((raw, i) => {
    const line = raw.trimEnd();
    if (pending === undefined && (line.trim() === '' || line.trimStart().startsWith('#'))) return;
    if (pending !== undefined && line.trimStart().startsWith('#')) return; // comment inside a continuation
    const continued = line.endsWith('\\');
    const part = continued ? line.slice(0, -1) : line;
    pending = pending === undefined ? { text: part.trim(), line: i + 1 } : { text: `${pending.text} ${part.trim()}`, line: pending.line };
    if (continued) return;
    const m = /^(\S+)\s*(.*)$/.exec(pending.text)!;
    out.push({ keyword: m[1]!.toUpperCase(), args: m[2]!.trim(), line: pending.line });
    pending = undefined;
  });
  return out;
}

/** `--name=value` flags in front of an instruction's arguments, and what follows them. */
function flags(args: string): { flags: Record<string, string>; rest: string } {
  const found: Record<string, string> = {};
  let rest = args;
  for (let m = /^--([\w-]+)=(\S+)\s*/.exec(rest); m; m = /^--([\w-]+)=(\S+)\s*/.exec(rest)) {
    found[m[1]!] = m[2]!;
    rest = rest.slice(m[0].length);
  }
  return { flags: found, rest };
}

/** ENV key=value pairs (values may be double-quoted). */
export function parseEnv(args: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const m of args.matchAll(/([A-Za-z_][A-Za-z0-9_]*)=("((?:[^"\\]|\\.)*)"|\S*)/g)) {
    env[m[1]!] = m[3] !== undefined ? m[3].replace(/\\(.)/g, '$1') : m[2]!;
  }
  return env;
}

export interface ReplayedImage {
  /** Root folder of each stage, by name (or index). */
  stages: Record<string, string>;
  /** What the container runs: ENTRYPOINT + CMD, in the last stage's WORKDIR, with its ENV. */
  command: string[];
  cwd: string;
  env: Record<string, string>;
}

/**
 * Replays `dockerfile` with `context` as build context into `root`. `runEnv`: the environment RUN commands get
 * (the image's ENV wins). Throws on an instruction the replay cannot reproduce.
 */
export async function replayDockerfile(dockerfile: string, context: string, root: string, runEnv: NodeJS.ProcessEnv): Promise<ReplayedImage> {
  const stages: Record<string, string> = {};
  let stage: { root: string; workdir: string; env: Record<string, string>; entrypoint: string[]; cmd: string[] } | undefined;
  const mapped = (p: string): string => join(stage!.root, isAbsolute(p) ? p : posix.join(stage!.workdir, p));
  const where = (ins: Instruction): string => `${dockerfile}:${ins.line} ${ins.keyword} ${ins.args}`;

  for (const ins of parseDockerfile(readFileSync(dockerfile, 'utf8'))) {
    if (ins.keyword === 'ARG' && stage === undefined) continue; // only parameterises FROM
    if (ins.keyword === 'FROM') {
      const name = /\bAS\s+(\S+)\s*$/i.exec(ins.args)?.[1] ?? String(Object.keys(stages).length);
      stages[name] = join(root, name);
      mkdirSync(stages[name], { recursive: true });
      stage = { root: stages[name], workdir: '/', env: {}, entrypoint: [], cmd: [] };
      continue;
    }
    if (stage === undefined) throw new Error(`${where(ins)}: before any FROM`);
    switch (ins.keyword) {
      case 'WORKDIR':
        stage.workdir = posix.resolve(stage.workdir, ins.args);
        mkdirSync(mapped(stage.workdir), { recursive: true });
        break;
      case 'ENV':
        Object.assign(stage.env, parseEnv(ins.args));
        break;
      case 'COPY': {
        const { flags: f, rest } = flags(ins.args);
        const parts = rest.split(/\s+/);
        const dest = parts.pop()!;
        const from = f['from'];
        if (from !== undefined && stages[from] === undefined) throw new Error(`${where(ins)}: no earlier stage ${from}`);
        for (const src of parts) {
          if (/[*?[]/.test(src)) throw new Error(`${where(ins)}: wildcards are not replayed`);
          const source = from === undefined ? join(context, src) : join(stages[from]!, src);
          if (!existsSync(source)) throw new Error(`${where(ins)}: ${src} does not exist in ${from === undefined ? 'the build context' : `stage ${from}`}`);
          const intoDir = dest.endsWith('/') || parts.length > 1 || statSync(source).isDirectory();
          const target = intoDir && !statSync(source).isDirectory() ? join(mapped(dest), posix.basename(src)) : mapped(dest);
          mkdirSync(dirname(target), { recursive: true });
          cpSync(source, target, { recursive: true });
          if (f['chmod'] !== undefined) chmodSync(target, parseInt(f['chmod'], 8));
        }
        break;
      }
      case 'RUN': {
        const { rest } = flags(ins.args);
        if (/(^|[\s=:"'])\/[A-Za-z]/.test(rest)) throw new Error(`${where(ins)}: an absolute path in RUN would leave the replayed stage`);
        const r = await run('sh', ['-c', rest], { cwd: mapped(stage.workdir), env: { ...runEnv, ...stage.env }, allowFailure: true, timeoutMs: 10 * 60_000 });
        if (r.code !== 0) throw new Error(`${where(ins)} failed (exit ${r.code ?? r.signal})\n${(r.stdout + r.stderr).slice(-4000)}`);
        break;
      }
      case 'ENTRYPOINT':
      case 'CMD': {
        const argv = JSON.parse(ins.args) as unknown;
        if (!Array.isArray(argv) || !argv.every((a) => typeof a === 'string')) throw new Error(`${where(ins)}: only the exec (JSON array) form is replayed`);
        if (ins.keyword === 'CMD') stage.cmd = argv;
        else stage.entrypoint = argv;
        break;
      }
      case 'USER':
      case 'EXPOSE':
        break; // the replay runs as the current user; ports are the caller's
      default:
        throw new Error(`${where(ins)}: not replayed`);
    }
  }
  if (stage === undefined) throw new Error(`${dockerfile}: no FROM`);
  return { stages, command: [...stage.entrypoint, ...stage.cmd], cwd: mapped(stage.workdir), env: stage.env };
}
