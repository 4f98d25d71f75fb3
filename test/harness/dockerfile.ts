// Replays an image's Dockerfile natively, for machines without a Docker engine. Every stage is built in the same
// folder, its root filesystem; a finished stage is moved aside, where only COPY --from reads it, so a path a stage
// wrote into its files (a virtualenv's scripts name their python) means the same folder in the next stage, as in
// Docker. COPY copies from the build context or an earlier stage, RUN runs with the local toolchain (sh -c) in the
// stage's WORKDIR, and the last stage yields the command, folder and environment the container would start with.
// The image's own folders (those WORKDIR and COPY name) are mapped into the stage folder wherever RUN, ENV or
// ENTRYPOINT name them. What this cannot show: the base images' own contents (their Node, Python or JDK
// version), USER (the replay runs as the current user: a RUN that only adds the image's user and group is
// skipped) and anything a RUN does elsewhere: a RUN naming another absolute path is refused, as is any
// instruction not handled below, by name.
import { chmodSync, cpSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, statSync } from 'node:fs';
import { dirname, isAbsolute, join, posix } from 'node:path';
import { run } from './cache.js';

interface Instruction { keyword: string; args: string; line: number }

/** Instructions with their arguments, continuation lines joined, comments and blank lines dropped. */
function parseDockerfile(text: string): Instruction[] {
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

/** COPY's arguments: its --from and --chmod flags, its sources and its destination. */
function parseCopy(args: string): { from?: string; chmod?: string; sources: string[]; dest: string } {
  const { flags: f, rest } = flags(args);
  const sources = rest.split(/\s+/);
  const dest = sources.pop()!;
  return { from: f['from'], chmod: f['chmod'], sources, dest };
}

/** ENV key=value pairs (values may be double-quoted). */
function parseEnv(args: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const m of args.matchAll(/([A-Za-z_][A-Za-z0-9_]*)=("((?:[^"\\]|\\.)*)"|\S*)/g)) {
    env[m[1]!] = m[3] !== undefined ? m[3].replace(/\\(.)/g, '$1') : m[2]!;
  }
  return env;
}

export interface ReplayedImage {
  /** What the container runs: ENTRYPOINT + CMD as the Dockerfile says, in the last stage's WORKDIR. */
  command: string[];
  /** The same, runnable here: an absolute program path points into the last stage's folder. */
  argv: string[];
  cwd: string;
  /** The last stage's ENV, runnable here: absolute paths to files of the image point into its folder. */
  env: Record<string, string>;
}

/** A RUN that only creates the image's user and group (for USER), e.g. `groupadd --system app && useradd ...`. */
const ADDS_USER_ONLY = /^\s*(groupadd|useradd|addgroup|adduser)\b[^;&|]*(&&\s*(groupadd|useradd|addgroup|adduser)\b[^;&|]*)*$/;

const ABSOLUTE_PATH = /(^|[\s:=,"'])(\/[^\s:;,"']+)/g;

/** `value` with every absolute path that exists in the stage folder `root` pointed into it. */
function mapExistingPaths(value: string, root: string): string {
  return value.replace(ABSOLUTE_PATH, (m, pre: string, p: string) => (existsSync(join(root, p)) ? `${pre}${join(root, p)}` : m));
}

/** The image's own folders: every WORKDIR, COPY destination (and its folder) and COPY --from source. */
function imageFolders(instructions: Instruction[]): string[] {
  const folders = new Set<string>();
  const add = (p: string): void => {
    if (isAbsolute(p)) folders.add(posix.normalize(p).replace(/\/$/, ''));
  };
  for (const ins of instructions) {
    if (ins.keyword === 'WORKDIR') add(ins.args);
    if (ins.keyword !== 'COPY') continue;
    const { from, sources, dest } = parseCopy(ins.args);
    add(dest);
    if (!dest.endsWith('/')) add(posix.dirname(dest));
    if (from !== undefined) sources.forEach(add);
  }
  folders.delete('');
  return [...folders];
}

/** `$NAME` and `${NAME}` replaced from `vars` (unset: empty), as Docker expands ENV values. */
function expandVars(value: string, vars: Record<string, string | undefined>): string {
  return value.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)/g, (_m, a?: string, b?: string) => vars[(a ?? b)!] ?? '');
}

/** BuildKit's automatic platform ARGs, for a build on and for this machine. */
function platformArgs(): Record<string, string> {
  const arch = process.arch === 'x64' ? 'amd64' : process.arch;
  return { TARGETOS: 'linux', TARGETARCH: arch, TARGETPLATFORM: `linux/${arch}`, BUILDOS: 'linux', BUILDARCH: arch, BUILDPLATFORM: `linux/${arch}` };
}

function globToRegExp(glob: string): RegExp {
  const escaped = glob.replace(/[.+^$()|{}\\]/g, (c) => `\\${c}`);
  return new RegExp(`^${escaped.replaceAll('*', '[^/]*').replaceAll('?', '[^/]')}$`);
}

/** The context files a COPY source names: itself, or the matches of a wildcard in its last path segment. */
function copySources(context: string, src: string): string[] {
  if (!/[*?[]/.test(src)) return [src];
  const dir = posix.dirname(src);
  if (/[*?[]/.test(dir) || src.includes('[')) throw new Error(`only * and ? in the last segment of a COPY source are replayed: ${src}`);
  const re = globToRegExp(posix.basename(src));
  return readdirSync(join(context, dir)).filter((f) => re.test(f)).map((f) => posix.join(dir, f));
}

/**
 * Replays `dockerfile` with `context` as build context into `root`. `runEnv`: the environment RUN commands get
 * (the image's ENV wins). Throws on an instruction the replay cannot reproduce.
 */
export async function replayDockerfile(dockerfile: string, context: string, root: string, runEnv: NodeJS.ProcessEnv): Promise<ReplayedImage> {
  const instructions = parseDockerfile(readFileSync(dockerfile, 'utf8'));
  const folders = imageFolders(instructions);
  /** Finished stages' folders, by name (or index). */
  const stages: Record<string, string> = {};
  const imageRoot = join(root, 'fs');
  let stage: { name: string; root: string; workdir: string; args: Record<string, string>; env: Record<string, string>; entrypoint: string[]; cmd: string[] } | undefined;
  const mapped = (p: string): string => join(stage!.root, isAbsolute(p) ? p : posix.join(stage!.workdir, p));
  const where = (ins: Instruction): string => `${dockerfile}:${ins.line} ${ins.keyword} ${ins.args}`;

  for (const ins of instructions) {
    if (ins.keyword === 'ARG' && stage === undefined) continue; // only parameterises FROM
    if (ins.keyword === 'FROM') {
      if (stage !== undefined) {
        stages[stage.name] = join(root, 'stages', stage.name);
        mkdirSync(dirname(stages[stage.name]!), { recursive: true });
        renameSync(imageRoot, stages[stage.name]!);
      }
      const name = /\bAS\s+(\S+)\s*$/i.exec(ins.args)?.[1] ?? String(Object.keys(stages).length);
      mkdirSync(imageRoot, { recursive: true });
      stage = { name, root: imageRoot, workdir: '/', args: {}, env: {}, entrypoint: [], cmd: [] };
      continue;
    }
    if (stage === undefined) throw new Error(`${where(ins)}: before any FROM`);
    switch (ins.keyword) {
      case 'ARG': {
        // in a stage: visible to its RUN commands (not to the image), from BuildKit or the default
        const [, key, value] = /^([A-Za-z_][A-Za-z0-9_]*)(?:=(.*))?$/.exec(ins.args) ?? [];
        if (key === undefined) throw new Error(`${where(ins)}: not replayed`);
        stage.args[key] = platformArgs()[key] ?? value ?? '';
        break;
      }
      case 'WORKDIR':
        stage.workdir = posix.resolve(stage.workdir, ins.args);
        mkdirSync(mapped(stage.workdir), { recursive: true });
        break;
      case 'ENV':
        for (const [k, v] of Object.entries(parseEnv(ins.args))) stage.env[k] = expandVars(v, { ...runEnv, ...stage.env });
        break;
      case 'COPY': {
        const { from, chmod, sources: named, dest } = parseCopy(ins.args);
        if (from !== undefined && stages[from] === undefined) throw new Error(`${where(ins)}: no earlier stage ${from}`);
        const sources = from === undefined ? named.flatMap((p) => copySources(context, p)) : named;
        for (const src of sources) {
          const source = from === undefined ? join(context, src) : join(stages[from]!, src);
          if (!existsSync(source)) throw new Error(`${where(ins)}: ${src} does not exist in ${from === undefined ? 'the build context' : `stage ${from}`}`);
          // a file into a folder (dest/ or several sources) keeps its name; a folder's contents go to dest
          const fileIntoFolder = !statSync(source).isDirectory() && (dest.endsWith('/') || sources.length > 1);
          const target = fileIntoFolder ? join(mapped(dest), posix.basename(src)) : mapped(dest);
          mkdirSync(dirname(target), { recursive: true });
          cpSync(source, target, { recursive: true });
          if (chmod !== undefined) chmodSync(target, parseInt(chmod, 8));
        }
        break;
      }
      case 'RUN': {
        const { rest } = flags(ins.args);
        if (ADDS_USER_ONLY.test(rest)) break;
        const inImage = (p: string): boolean => folders.some((f) => p === f || p.startsWith(`${f}/`));
        const outside = [...rest.matchAll(ABSOLUTE_PATH)].map((m) => m[2]!).find((p) => !inImage(p));
        if (outside !== undefined) throw new Error(`${where(ins)}: ${outside} is outside the image's folders (${folders.join(', ')}): not replayed`);
        const command = rest.replace(ABSOLUTE_PATH, (_m, pre: string, p: string) => `${pre}${join(stage!.root, p)}`);
        const r = await run('sh', ['-c', command], { cwd: mapped(stage.workdir), env: { ...runEnv, ...stage.args, ...stage.env }, allowFailure: true, timeoutMs: 10 * 60_000 });
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
  const command = [...stage.entrypoint, ...stage.cmd];
  const argv = command.map((a, i) => (i === 0 && isAbsolute(a) ? join(stage!.root, a) : a));
  const env = Object.fromEntries(Object.entries(stage.env).map(([k, v]) => [k, mapExistingPaths(v, stage!.root)]));
  return { command, argv, cwd: mapped(stage.workdir), env };
}
