// How much memory each demo app holds at /alloc's plateau, the figure README's memory advice rests on.
// Each app runs natively and instrumented (as in its image), with its own /alloc defaults (the tests'
// smaller ALLOC_* settings removed); /alloc is called until the app answers that it keeps its maximum
// of batches, then `churnCalls` more times (each drops the oldest batch for a new one), and the
// process's peak resident set (VmHWM) is read, next to the mem_limit compose.yaml gives the app.
// The runtimes get the bounds they have in their containers, where they read the cgroup limit: the
// JVM the image's -XX:MaxRAMPercentage of the compose limit (-XX:MaxRAM), the Go app the soft limit
// apps/go/memlimit.go sets from the cgroup limit (85% of it, as GOMEMLIMIT). Python and Node have
// no such bound. Prints figures; asserts nothing.
//
//   npm run bench:memory
//   LGTMP_APPS=go npm run bench:memory
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { columns } from '../../src/columns.js';
import { composeFile, repoRoot } from '../../src/project.js';
import { selectedApps } from '../apps/index.js';
import { run } from '../harness/cache.js';
import { goTool } from '../harness/go-tool.js';
import { freePort, launchApp } from '../harness/launcher.js';
import { startOtlpReceiver } from '../harness/otlp-receiver.js';
import { startProfileReceiver } from '../harness/profile-receiver.js';

const MiB = 1024 * 1024;
const churnCalls = 5;
const maxCalls = 200;

/** VmRSS and VmHWM (peak) of a process, in MiB (Linux). */
function memory(pid: number): { rss: number; peak: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
  return { rss: kib('VmRSS') / 1024, peak: kib('VmHWM') / 1024 };
}

/** The JVM options of the Java image (its ENV JAVA_OPTS), read from the Dockerfile. */
function imageJavaOpts(): string {
  const opts = /JAVA_OPTS="([^"]*)"/.exec(readFileSync(join(repoRoot, 'apps/java/Dockerfile'), 'utf8'))?.[1];
  if (!opts) throw new Error('apps/java/Dockerfile sets no JAVA_OPTS');
  return opts;
}

async function main(): Promise<void> {
  const project = JSON.parse((await run(await goTool('compose-validate'), [composeFile])).stdout) as { services: Record<string, { mem_limit?: string }> };
  const otlp = await startOtlpReceiver();
  const profiles = await startProfileReceiver();
  const rows: string[][] = [['service', '/alloc calls', 'kept MiB', 'RSS after MiB', 'peak RSS MiB', 'compose mem_limit MiB']];
  try {
    for (const spec of selectedApps()) {
      await spec.prepare();
      const limit = Number(project.services[spec.service]?.mem_limit);
      const port = await freePort();
      const env: Record<string, string | undefined> = { ALLOC_MAX_BATCHES: undefined, ALLOC_CHUNKS: undefined, ALLOC_CHUNK_KIB: undefined };
      if (spec.language === 'java') env.JDK_JAVA_OPTIONS = `-XX:MaxRAM=${limit} ${imageJavaOpts()}`;
      if (spec.language === 'go') env.GOMEMLIMIT = String(Math.floor(limit * 0.85));
      // a shared machine can take minutes to start the JVM
      const app = await launchApp({ ...spec.launch({ port, otlpUrl: otlp.url, pyroscopeUrl: profiles.url, env: env as Record<string, string> }), timeoutMs: 600_000 });
      try {
        let calls = 0;
        let full = 0;
        let kept = 0;
        while (calls < maxCalls && full <= churnCalls) {
          const res = await fetch(`http://127.0.0.1:${port}/alloc`);
          if (!res.ok) throw new Error(`${spec.service} /alloc: HTTP ${res.status}`);
          // Python says retained_bytes_approx, the others retained_bytes
          const answer = (await res.json()) as { retained_batches: number; max_batches: number; retained_bytes?: number; retained_bytes_approx?: number };
          calls++;
          kept = (answer.retained_bytes ?? answer.retained_bytes_approx ?? NaN) / MiB;
          if (answer.retained_batches >= answer.max_batches) full++;
        }
        const m = memory(app.pid);
        rows.push([spec.service, `${calls}${full <= churnCalls ? ' (never full)' : ''}`, kept.toFixed(0), m.rss.toFixed(0), m.peak.toFixed(0), (limit / MiB).toFixed(0)]);
      } finally {
        await app.stop();
      }
    }
  } finally {
    await otlp.close();
    await profiles.close();
  }
  console.log(columns(rows));
}

await main();
