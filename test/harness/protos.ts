// Official protocol definitions, fetched through package registries into the cache and loaded at runtime:
//  - OTLP: the .proto files inside the Maven Central artifact io.opentelemetry.proto:opentelemetry-proto.
//  - Pyroscope push API: push/v1/push.proto + types/v1/types.proto from the Go module github.com/grafana/pyroscope/api.
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { inflateRawSync } from 'node:zlib';
import protobuf from 'protobufjs';
import { cacheDir, populateAtomically, run } from './cache.js';

export const OTLP_PROTO_VERSION = '1.11.0-alpha';
export const PYROSCOPE_API_VERSION = 'v1.6.0';

/** Entries of a (non-zip64) zip/jar archive whose name passes the filter. */
export function readZipEntries(buf: Buffer, filter: (name: string) => boolean): Map<string, Buffer> {
  let eocd = -1;
  for (let i = buf.length - 22; i >= Math.max(0, buf.length - 65557); i--) {
    if (buf.readUInt32LE(i) === 0x06054b50) { eocd = i; break; }
  }
  if (eocd < 0) throw new Error('not a zip archive (no end of central directory)');
  const count = buf.readUInt16LE(eocd + 10);
  let p = buf.readUInt32LE(eocd + 16);
  const out = new Map<string, Buffer>();
  for (let n = 0; n < count; n++) {
    if (buf.readUInt32LE(p) !== 0x02014b50) throw new Error('corrupt zip central directory');
    const method = buf.readUInt16LE(p + 10);
    const csize = buf.readUInt32LE(p + 20);
    const nameLen = buf.readUInt16LE(p + 28);
    const extraLen = buf.readUInt16LE(p + 30);
    const commentLen = buf.readUInt16LE(p + 32);
    const local = buf.readUInt32LE(p + 42);
    const name = buf.subarray(p + 46, p + 46 + nameLen).toString('utf8');
    p += 46 + nameLen + extraLen + commentLen;
    if (name.endsWith('/') || !filter(name)) continue;
    if (buf.readUInt32LE(local) !== 0x04034b50) throw new Error(`corrupt zip local header for ${name}`);
    const start = local + 30 + buf.readUInt16LE(local + 26) + buf.readUInt16LE(local + 28);
    const data = buf.subarray(start, start + csize);
    if (method === 0) out.set(name, Buffer.from(data));
    else if (method === 8) out.set(name, inflateRawSync(data));
    else throw new Error(`unsupported zip compression method ${method} for ${name}`);
  }
  return out;
}

/** Fetch a jar from Maven Central with the ordinary client (mvn), reusing the local repository. */
export async function mavenJar(groupId: string, artifactId: string, version: string): Promise<string> {
  const m2 = join(homedir(), '.m2', 'repository', ...groupId.split('.'), artifactId, version, `${artifactId}-${version}.jar`);
  if (existsSync(m2)) return m2;
  const dir = cacheDir('maven-jars');
  const target = join(dir, `${artifactId}-${version}.jar`);
  if (existsSync(target)) return target;
  await run('mvn', ['-q', '-B', 'dependency:copy', `-Dartifact=${groupId}:${artifactId}:${version}:jar`, `-DoutputDirectory=${dir}`], { cwd: tmpdir() });
  if (!existsSync(target)) throw new Error(`mvn dependency:copy did not produce ${target}`);
  return target;
}

let otlpRootPromise: Promise<protobuf.Root> | undefined;

export async function otlpProtoDir(): Promise<string> {
  const target = join(cacheDir('protos'), `opentelemetry-proto-${OTLP_PROTO_VERSION}`);
  return populateAtomically(target, async (tmp) => {
    const jar = await mavenJar('io.opentelemetry.proto', 'opentelemetry-proto', OTLP_PROTO_VERSION);
    const files = readZipEntries(readFileSync(jar), (n) => n.endsWith('.proto'));
    if (![...files.keys()].some((n) => n.endsWith('collector/trace/v1/trace_service.proto'))) {
      throw new Error(`${jar} holds no OTLP .proto files`);
    }
    for (const [name, data] of files) {
      mkdirSync(dirname(join(tmp, name)), { recursive: true });
      writeFileSync(join(tmp, name), data);
    }
  });
}

/** protobufjs Root with the OTLP collector services (traces, logs, metrics) loaded from the official .proto files. */
export function otlpRoot(): Promise<protobuf.Root> {
  otlpRootPromise ??= (async () => {
    const base = await otlpProtoDir();
    const root = new protobuf.Root();
    root.resolvePath = (_origin, target) => (target.startsWith('/') ? target : join(base, target));
    root.loadSync([
      'opentelemetry/proto/collector/trace/v1/trace_service.proto',
      'opentelemetry/proto/collector/logs/v1/logs_service.proto',
      'opentelemetry/proto/collector/metrics/v1/metrics_service.proto',
    ]);
    root.resolveAll();
    return root;
  })();
  otlpRootPromise.catch(() => { otlpRootPromise = undefined; });
  return otlpRootPromise;
}

let pyroscopeRootPromise: Promise<protobuf.Root> | undefined;
const PYROSCOPE_FILES = ['types/v1/types.proto', 'push/v1/push.proto'];

export async function pyroscopeProtoDir(): Promise<string> {
  const target = join(cacheDir('protos'), `pyroscope-api-${PYROSCOPE_API_VERSION}`);
  return populateAtomically(target, async (tmp) => {
    const r = await run('go', ['mod', 'download', '-json', `github.com/grafana/pyroscope/api@${PYROSCOPE_API_VERSION}`], {
      cwd: tmpdir(), env: { ...process.env, GOFLAGS: '-mod=mod', GO111MODULE: 'on' },
    });
    const info = JSON.parse(r.stdout) as { Dir?: string; Error?: string };
    if (!info.Dir) throw new Error(`go mod download gave no Dir: ${info.Error ?? r.stdout}`);
    for (const f of [...PYROSCOPE_FILES, 'LICENSE']) {
      const src = join(info.Dir, f);
      if (!existsSync(src)) { if (f === 'LICENSE') continue; throw new Error(`${src} missing in the Go module`); }
      mkdirSync(dirname(join(tmp, f)), { recursive: true });
      copyFileSync(src, join(tmp, f));
    }
  });
}

/**
 * protobufjs Root with push.v1 and types.v1. The files import gnostic's OpenAPI annotations, which only carry
 * documentation options and do not change the wire format; that import is not followed.
 */
export function pyroscopeRoot(): Promise<protobuf.Root> {
  pyroscopeRootPromise ??= (async () => {
    const base = await pyroscopeProtoDir();
    const root = new protobuf.Root();
    for (const f of PYROSCOPE_FILES) {
      const parsed = protobuf.parse(readFileSync(join(base, f), 'utf8'), root);
      for (const imp of parsed.imports ?? []) {
        if (!imp.startsWith('gnostic/') && !PYROSCOPE_FILES.includes(imp)) throw new Error(`${f} imports ${imp}, not loaded`);
      }
    }
    root.resolveAll();
    return root;
  })();
  pyroscopeRootPromise.catch(() => { pyroscopeRootPromise = undefined; });
  return pyroscopeRootPromise;
}
