import { join } from 'node:path';
import { readProvisioningFile, tracesToProfiles } from '../../src/verify/provisioning.js';
import { repoRoot } from './cache.js';
import type { LaunchOptions } from './launcher.js';

/** The one profile type Grafana's "Profiles for this span" asks Pyroscope for, for every service (our provisioning). */
export const SPAN_PROFILE_TYPE = ((): string => {
  const provisioning = readProvisioningFile(join(repoRoot, 'stack', 'grafana', 'provisioning', 'datasources', 'datasources.yaml'));
  const tempo = provisioning.datasources.find((d) => d.type === 'tempo');
  const id = tempo && tracesToProfiles(tempo)?.profileTypeId;
  if (!id) throw new Error('the provisioned Tempo datasource has no tracesToProfiles.profileTypeId');
  return id;
})();

/**
 * Where an app is told to listen and to send its telemetry, plus extra environment (which wins over the spec's).
 * deployed: with the settings compose.yaml gives it (traffic generator on, default upload intervals), without the
 * tests' own (see TEST_SETTINGS in app-env.ts).
 */
export interface LaunchRequest { port: number; otlpUrl: string; pyroscopeUrl: string; nextServiceUrl?: string; env?: Record<string, string>; deployed?: boolean }

/** One demo app, as the shared integration test (test/apps.test.ts) drives it. */
export interface AppSpec {
  service: string; // 'demo-app' | 'java-demo-app' | 'python-demo-app' | 'node-demo-app'
  language: 'go' | 'java' | 'python' | 'node';
  /** Build/install into the cache (idempotent, cached); throws a clear error naming a missing toolchain. */
  prepare(): Promise<void>;
  /**
   * How a user would start it (agent / opentelemetry-instrument / node --import bootstrap / SDK binary), with the
   * traffic generator off and short export intervals.
   */
  launch(o: LaunchRequest): LaunchOptions;
  /** The same app started without any instrumentation (benchmarks compare it with launch()). */
  uninstrumented(o: LaunchRequest): LaunchOptions;
  slow: { query: string; childSpan?: string; appFrame: RegExp; regexFrame: RegExp };
  /**
   * profileType (optional): the sampleType that holds the allocation samples; by default any allocation type
   * (alloc_*, inuse_*, space, objects).
   */
  alloc: { appFrame: RegExp; profileType?: string };
  /** Set (to the reason) when the app's OpenTelemetry SDK records no exemplars: the exemplar check is then skipped, saying why. */
  noExemplars?: string;
}

/** The launch of an app started by `command` in `cwd`: healthy when /healthz answers; o.env wins over `env`. */
export function launchOptions(
  service: string,
  o: LaunchRequest,
  start: { command: string; args: string[]; cwd: string; env: Record<string, string>; timeoutMs: number },
): LaunchOptions {
  return { name: service, ...start, env: { ...start.env, ...(o.env ?? {}) }, healthUrl: `http://127.0.0.1:${o.port}/healthz` };
}
