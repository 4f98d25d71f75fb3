// Decoding of the Pyroscope Java agent's default upload (JFR + LabelsSnapshot) through tools/jfr-decode,
// a small Java program using the JDK's jdk.jfr.consumer and the agent's own LabelsSnapshot class.
// It is compiled once into the cache (keyed by source hash and agent version) and kept running.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cacheDir, contentHash, populateAtomically, repoRoot, run } from './cache.js';
import { makeTempDir, removeTempDir } from './launcher.js';
import { mavenJar } from './protos.js';

/** The Pyroscope Java agent whose LabelsSnapshot class decodes the `labels` part. */
export const PYROSCOPE_AGENT_VERSION = '2.9.2';

export interface JfrSamples {
  event: string;
  profiles: { sampleType: string; unit: string; perSample: boolean; samples: { stack: string[]; value: number; labels: Record<string, string> }[] }[];
}

let buildPromise: Promise<{ classes: string; agentJar: string }> | undefined;

export function ensureJfrDecoder(): Promise<{ classes: string; agentJar: string }> {
  buildPromise ??= (async () => {
    const src = join(repoRoot, 'tools', 'jfr-decode', 'JfrDecode.java');
    const agentJar = await mavenJar('io.pyroscope', 'agent', PYROSCOPE_AGENT_VERSION);
    const key = `${contentHash([src])}-agent${PYROSCOPE_AGENT_VERSION}`;
    const classes = join(cacheDir('jfr-decode'), key);
    await populateAtomically(classes, async (tmp) => {
      await run('javac', ['-nowarn', '-cp', agentJar, '-d', tmp, src]);
    });
    return { classes, agentJar };
  })();
  buildPromise.catch(() => { buildPromise = undefined; });
  return buildPromise;
}

export class JfrDecoder {
  private proc: ChildProcessWithoutNullStreams | undefined;
  private pending: { resolve: (v: string) => void; reject: (e: Error) => void }[] = [];
  private buf = '';
  private stderr = '';
  /** Where decode() writes its inputs for the decoder; made by start(), so a receiver that never sees JFR makes none. */
  private work = '';
  private seq = 0;

  private async start(): Promise<ChildProcessWithoutNullStreams> {
    if (this.proc) return this.proc;
    const { classes, agentJar } = await ensureJfrDecoder();
    if (this.proc) return this.proc;
    this.work ||= makeTempDir('lgtmp-jfr-');
    const proc = spawn('java', ['-XX:+UseSerialGC', '-XX:TieredStopAtLevel=1', '-Xmx512m', '-cp', `${classes}:${agentJar}`, 'JfrDecode'], { stdio: ['pipe', 'pipe', 'pipe'] });
    proc.stdout.setEncoding('utf8');
    proc.stdout.on('data', (s: string) => {
      this.buf += s;
      let i: number;
      while ((i = this.buf.indexOf('\n')) >= 0) {
        const line = this.buf.slice(0, i);
        this.buf = this.buf.slice(i + 1);
        this.pending.shift()?.resolve(line);
      }
    });
    proc.stderr.on('data', (b: Buffer) => { this.stderr = (this.stderr + b.toString('utf8')).slice(-4000); });
    const fail = (why: string): void => {
      for (const p of this.pending.splice(0)) p.reject(new Error(`JFR decoder ${why}: ${this.stderr}`));
      this.proc = undefined;
    };
    proc.on('exit', (code) => fail(`exited (${code})`));
    proc.on('error', (e) => fail(`failed to start: ${e.message}`));
    this.proc = proc;
    return proc;
  }

  async decode(jfr: Buffer, labels: Buffer | undefined): Promise<JfrSamples> {
    const proc = await this.start();
    const n = ++this.seq;
    const jfrPath = join(this.work, `${n}.jfr`);
    const labelsPath = labels && labels.length ? join(this.work, `${n}.labels`) : '';
    writeFileSync(jfrPath, jfr);
    if (labelsPath) writeFileSync(labelsPath, labels!);
    try {
      const line = await new Promise<string>((resolve, reject) => {
        this.pending.push({ resolve, reject });
        proc.stdin.write(`${jfrPath}\t${labelsPath}\n`);
      });
      const parsed = JSON.parse(line) as JfrSamples & { error?: string };
      if (parsed.error) throw new Error(`JFR decoding failed: ${parsed.error}`);
      return parsed;
    } finally {
      rmSync(jfrPath, { force: true });
      if (labelsPath) rmSync(labelsPath, { force: true });
    }
  }

  async close(): Promise<void> {
    const p = this.proc;
    this.proc = undefined;
    if (p) {
      p.stdin.end();
      await new Promise<void>((resolve) => {
        const t = setTimeout(() => { p.kill('SIGKILL'); resolve(); }, 3000);
        p.once('exit', () => { clearTimeout(t); resolve(); });
      });
    }
    if (this.work) removeTempDir(this.work);
    this.work = '';
  }
}

