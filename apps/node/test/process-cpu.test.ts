import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import { gunzipSync } from 'node:zlib';
import Pyroscope from '@pyroscope/nodejs';
import { Profile, StringTable } from 'pprof-format';
import { CpuSplittingExporter, installProcessCpuUpload, splitCpuTime, type ProfileExport } from '../src/telemetry/process-cpu.js';

/** A wall profile as @pyroscope/nodejs's wall profiler makes it with collectCpuTime: samples, wall, cpu. */
function wallProfile(samples: { values: [number, number, number]; spanId?: string }[]): Profile {
  const st = new StringTable();
  const vt = (type: string, unit: string) => ({ type: st.dedup(type), unit: st.dedup(unit) });
  const fn = { id: 1, name: st.dedup('checkEmail') };
  return new Profile({
    sampleType: [vt('sample', 'count'), vt('wall', 'nanoseconds'), vt('cpu', 'nanoseconds')],
    periodType: vt('wall', 'nanoseconds'),
    period: 10_000_000,
    function: [fn],
    location: [{ id: 1, line: [{ functionId: 1, line: 40 }] }],
    sample: samples.map((s) => ({
      locationId: [1],
      value: s.values,
      label: s.spanId ? [{ key: st.dedup('span_id'), str: st.dedup(s.spanId) }] : [],
    })),
    stringTable: st,
  });
}

const names = (p: Profile, ids: (number | bigint)[]): string[] => ids.map((i) => p.stringTable.strings[Number(i)] ?? '?');
const sampleTypes = (p: Profile): string[] => names(p, p.sampleType.map((t) => t.type));
const periodType = (p: Profile): string => names(p, [p.periodType!.type, p.periodType!.unit]).join('/');
const values = (p: Profile): number[][] => p.sample.map((s) => s.value.map(Number));

/** Pyroscope's naming of a pprof sent to /ingest: `wall` if it has a wall sample type, else process_cpu for cpu. */
function pyroscopeTypeIds(p: Profile): string[] {
  const types = sampleTypes(p);
  const name = types.includes('wall') ? 'wall' : types.some((t) => t.includes('cpu')) ? 'process_cpu' : '?';
  const period = names(p, [p.periodType!.type, p.periodType!.unit]).join(':');
  return p.sampleType.map((t) => `${name}:${names(p, [t.type, t.unit]).join(':')}:${period}`);
}

describe('splitCpuTime', () => {
  it('moves the cpu column into its own profile with period type cpu; the wall profile keeps the rest', () => {
    const profile = wallProfile([
      { values: [1, 10_000_000, 9_000_000], spanId: 'a1' },
      { values: [1, 10_000_000, 0] }, // waiting: wall time, no CPU
      { values: [2, 20_000_000, 5_000_000], spanId: 'b2' },
    ]);
    const { wall, cpu } = splitCpuTime(profile);
    assert.ok(cpu);
    assert.deepEqual(sampleTypes(wall), ['sample', 'wall']);
    assert.equal(periodType(wall), 'wall/nanoseconds');
    assert.deepEqual(values(wall), [[1, 10_000_000], [1, 10_000_000], [2, 20_000_000]]);

    assert.deepEqual(sampleTypes(cpu), ['cpu']);
    assert.equal(periodType(cpu), 'cpu/nanoseconds');
    assert.deepEqual(values(cpu), [[9_000_000], [5_000_000]], 'samples without CPU time are dropped');
    assert.deepEqual(cpu.sample.map((s) => names(cpu, s.label.map((l) => l.str))), [['a1'], ['b2']], 'span labels stay on the CPU samples');
    assert.deepEqual(names(cpu, cpu.sample.map((s) => cpu.function[Number(cpu.location[Number(s.locationId[0]) - 1]!.line[0]!.functionId) - 1]!.name)), ['checkEmail', 'checkEmail']);
    // The type Grafana's tracesToProfiles asks for, as Pyroscope names the upload.
    assert.deepEqual(pyroscopeTypeIds(cpu), ['process_cpu:cpu:nanoseconds:cpu:nanoseconds']);
    assert.deepEqual(pyroscopeTypeIds(wall), ['wall:sample:count:wall:nanoseconds', 'wall:wall:nanoseconds:wall:nanoseconds']);
  });

  it('leaves a profile without CPU time as it is', () => {
    const profile = wallProfile([{ values: [1, 10_000_000, 3] }]);
    profile.sampleType.pop();
    for (const s of profile.sample) s.value.pop();
    const { wall, cpu } = splitCpuTime(profile);
    assert.equal(cpu, undefined);
    assert.equal(wall, profile);
    assert.deepEqual(sampleTypes(wall), ['sample', 'wall']);
  });

  it('CpuSplittingExporter sends the wall part, then the CPU part, with the same time range', async () => {
    const sent: ProfileExport[] = [];
    const exporter = new CpuSplittingExporter({ export: async (e) => void sent.push(e) });
    const startedAt = new Date(1000);
    const stoppedAt = new Date(2000);
    await exporter.export({ profile: wallProfile([{ values: [1, 5, 4] }]), startedAt, stoppedAt, sampleRate: 100 });
    assert.deepEqual(sent.map((e) => sampleTypes(e.profile)), [['sample', 'wall'], ['cpu']]);
    assert.ok(sent.every((e) => e.startedAt === startedAt && e.stoppedAt === stoppedAt && e.sampleRate === 100));
  });
});

describe('installProcessCpuUpload with the real @pyroscope/nodejs', () => {
  it('the profiler uploads a process_cpu profile whose samples carry the span labels, next to its wall profile', { timeout: 60_000 }, async () => {
    const uploads: { query: URLSearchParams; profile: Profile }[] = [];
    const server: Server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks);
        uploads.push({ query: new URL(req.url ?? '/', 'http://x').searchParams, profile: Profile.decode(body[0] === 0x1f ? gunzipSync(body) : body) });
        res.writeHead(200).end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = server.address() as AddressInfo;
      Pyroscope.init({ appName: 'process-cpu-test', serverAddress: `http://127.0.0.1:${port}`, flushIntervalMs: 60_000, wall: { collectCpuTime: true } });
      assert.equal(await installProcessCpuUpload(), true, 'the wall profiler exporter was found and wrapped');
      Pyroscope.startWallProfiling();
      Pyroscope.setLabels({ span_id: 'feedfacecafebeef' });
      // 300 ms of CPU time (not of wall time: on a busy machine the thread may get only part of it)
      const cpuBefore = process.cpuUsage();
      const cpuMs = (): number => { const u = process.cpuUsage(cpuBefore); return (u.user + u.system) / 1000; };
      let x = 0;
      while (cpuMs() < 300) for (let i = 0; i < 1000; i++) x += Math.sqrt(x + 1); // on CPU, under the label
      Pyroscope.setLabels({});
      await Pyroscope.stopWallProfiling(); // uploads the last profile
      assert.ok(x > 0);

      const byType = new Map(uploads.map((u) => [pyroscopeTypeIds(u.profile).join(' '), u]));
      assert.deepEqual([...byType.keys()].sort(), [
        'process_cpu:cpu:nanoseconds:cpu:nanoseconds',
        'wall:samples:count:wall:nanoseconds wall:wall:nanoseconds:wall:nanoseconds',
      ]);
      const cpu = byType.get('process_cpu:cpu:nanoseconds:cpu:nanoseconds')!;
      assert.match(cpu.query.get('name') ?? '', /^process-cpu-test\{/, 'same application name as the wall upload');
      const labelled = cpu.profile.sample.filter((s) => s.label.some((l) => cpu.profile.stringTable.strings[Number(l.str)] === 'feedfacecafebeef'));
      const cpuNs = labelled.reduce((a, s) => a + Number(s.value[0]), 0);
      assert.ok(cpuNs >= 100_000_000, `at least 100 ms of the 300 ms of CPU time spent is labelled with the span (got ${cpuNs} ns)`);
    } finally {
      server.close();
    }
  });
});
