// Node's CPU profile under the profile type the other three apps use.
//
// Grafana's "Profiles for this span" (the Tempo data source's tracesToProfiles) asks Pyroscope for ONE
// profile type for every service: process_cpu:cpu:nanoseconds:cpu:nanoseconds, what pyroscope-go, the Java
// agent and pyroscope-io upload. @pyroscope/nodejs has no such profile: its wall profiler (with
// collectCpuTime) uploads one pprof with three sample types (samples, wall, cpu) and period type wall, which
// Pyroscope files as wall:<type>:<unit>:wall:nanoseconds, so a Node span's "Profiles for this span" would
// open an empty flame graph.
//
// So each upload of the wall profiler is split in two before it is sent:
// - the wall-clock view (samples, wall): still wall:wall:nanoseconds:wall:nanoseconds;
// - the CPU time alone (sample type cpu, period type cpu, samples with no CPU time dropped). Pyroscope's
//   /ingest names a pprof without a `wall` sample type after its `cpu` sample type: process_cpu, so it
//   becomes process_cpu:cpu:nanoseconds:cpu:nanoseconds, span_id labels included.
// Nothing is counted twice: the cpu column leaves the wall upload.
//
// @pyroscope/nodejs (0.6.4, pinned) has no public hook for its uploads, so installProcessCpuUpload() wraps
// the exporter of the wall profiler it created. If that internal shape ever changes, the wrap is refused
// with a warning and the wall profiler uploads as before (wall only).

import { Profile, ValueType } from 'pprof-format';

const CPU = 'cpu';
const NANOSECONDS = 'nanoseconds';

/** What @pyroscope/nodejs hands its exporter after each profiling round (its ProfileExport). */
export interface ProfileExport {
  profile: Profile;
  sampleRate?: number;
  startedAt: Date;
  stoppedAt: Date;
}

export interface ProfileExporter {
  export(profileExport: ProfileExport): Promise<void>;
}

/**
 * Splits a wall profile with a `cpu` sample type into the wall-clock part (every other sample type, same
 * period type) and a CPU profile (only `cpu`, period type cpu/nanoseconds). A profile without `cpu` comes
 * back as `wall` alone. The input is modified (it becomes `wall`); `cpu` is an independent copy.
 */
export function splitCpuTime(profile: Profile): { wall: Profile; cpu?: Profile } {
  const strings = profile.stringTable.strings;
  const cpuIndex = profile.sampleType.findIndex((t) => strings[Number(t.type)] === CPU);
  if (cpuIndex < 0) return { wall: profile };

  const cpu = Profile.decode(profile.encode());
  cpu.sampleType = [cpu.sampleType[cpuIndex]!];
  cpu.sample = cpu.sample.filter((s) => Number(s.value[cpuIndex] ?? 0) > 0);
  for (const s of cpu.sample) s.value = [s.value[cpuIndex]!];
  cpu.periodType = new ValueType({ type: cpu.stringTable.dedup(CPU), unit: cpu.stringTable.dedup(NANOSECONDS) });
  cpu.defaultSampleType = 0;

  profile.sampleType.splice(cpuIndex, 1);
  for (const s of profile.sample) s.value.splice(cpuIndex, 1);
  return { wall: profile, cpu };
}

/** An exporter that sends each wall profile as its wall-clock part, then its CPU part. */
export class CpuSplittingExporter implements ProfileExporter {
  constructor(private readonly upload: ProfileExporter) {}

  async export(profileExport: ProfileExport): Promise<void> {
    const { wall, cpu } = splitCpuTime(profileExport.profile);
    await this.upload.export({ ...profileExport, profile: wall });
    if (cpu !== undefined && cpu.sample.length > 0) await this.upload.export({ ...profileExport, profile: cpu });
  }
}

/** The part of @pyroscope/nodejs's internal profiler object this module touches. */
interface ContinuousProfilerInternals {
  exporter?: unknown;
}

const isExporter = (x: unknown): x is ProfileExporter =>
  typeof x === 'object' && x !== null && typeof (x as { export?: unknown }).export === 'function';

/**
 * After Pyroscope.init(): route the wall profiler's uploads through CpuSplittingExporter.
 * Returns false (and changes nothing) when the installed @pyroscope/nodejs is not shaped as expected.
 */
export async function installProcessCpuUpload(): Promise<boolean> {
  // The package's exports map hides its internals; its ESM entry point's folder holds them.
  const internalsUrl = new URL('./utils/pyroscope-profiler.js', import.meta.resolve('@pyroscope/nodejs'));
  const internals = (await import(internalsUrl.href)) as { getProfiler?: () => { wallProfiler?: ContinuousProfilerInternals } };
  const wallProfiler = internals.getProfiler?.().wallProfiler;
  const current = wallProfiler?.exporter;
  if (wallProfiler === undefined || !isExporter(current)) return false;
  if (!(current instanceof CpuSplittingExporter)) wallProfiler.exporter = new CpuSplittingExporter(current);
  return true;
}
