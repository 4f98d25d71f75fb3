// examples/go (my-go-app): net/http with otelhttp, the OpenTelemetry Go SDK, slog through the otelslog bridge,
// pyroscope-go with otel-profiling-go. Built into the cache with the host's Go (test/apps/go.ts), started as its
// image's ENTRYPOINT.
import { join } from 'node:path';
import { buildGoBinary } from '../apps/go.js';
import { examplesRoot, type ExampleSpec } from '../harness/example.js';

let binary: string | undefined;

export const example: ExampleSpec = {
  folder: 'go',
  async prepare() {
    binary = await buildGoBinary(join(examplesRoot, 'go'), 'example-go');
  },
  layout(image) {
    const entrypoint = image.image.Entrypoint?.[0];
    if (!binary || !entrypoint) throw new Error('examples/go: layout() before prepare(), or an image without ENTRYPOINT');
    // pyroscope-go uploads every 15 s (it has no setting for it in the environment): the profile checks wait for it.
    return { paths: { [entrypoint]: binary }, cwd: join(examplesRoot, 'go') };
  },
  startTimeoutMs: 30_000,
  // Trial division below 1,000,000: ~1 s here (under load).
  // main.go shuts the server down, then every provider and the profiler (pyroscope-go has no upload-rate setting).
  sigtermFlush: { env: {} },
  work: { route: '/work', path: '/work?n=1000000', badPath: '/work?n=lots', childSpan: 'countPrimes', frame: /^main\.countPrimes$/ },
};
