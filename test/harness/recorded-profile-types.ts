// The profile type ids the real Pyroscope 2.2.1 filed each demo app's own uploads under: its Series answer for
// `{service_name="<service>"}`, recorded from the four apps as compose.yaml runs them
// (test/fixtures/recorded/pyroscope/apps-series-<service>.json).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from './cache.js';

interface SeriesRecording { version: string; response: { labelsSet: { labels: { name: string; value: string }[] }[] } }

export function recordedProfileTypes(service: string): { version: string; ids: string[] } {
  const file = join(repoRoot, 'test', 'fixtures', 'recorded', 'pyroscope', `apps-series-${service}.json`);
  const recording = JSON.parse(readFileSync(file, 'utf8')) as SeriesRecording;
  const ids = recording.response.labelsSet.map((s) => s.labels.find((l) => l.name === '__profile_type__')?.value ?? '');
  return { version: recording.version, ids: [...new Set(ids.filter(Boolean))].sort() };
}
