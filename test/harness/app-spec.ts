import type { launchApp } from './launcher.js';

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
  launch(o: { port: number; otlpUrl: string; pyroscopeUrl: string; nextServiceUrl?: string; env?: Record<string, string> }): Parameters<typeof launchApp>[0];
  slow: { query: string; childSpan?: string; appFrame: RegExp; regexFrame: RegExp };
  /**
   * profileType (optional): the sampleType that holds the allocation samples; by default any allocation type
   * (alloc_*, inuse_*, space, objects).
   */
  alloc: { appFrame: RegExp; profileType?: string };
  /** Set (to the reason) when the app's OpenTelemetry SDK records no exemplars: the exemplar check is then skipped, saying why. */
  noExemplars?: string;
  /** sampleType to look at for /slow (e.g. 'cpu' or 'wall'). */
  cpuProfileType: string;
}
