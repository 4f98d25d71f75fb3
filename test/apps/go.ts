// demo-app (apps/go): the seed's Go service, instrumented in code with the OpenTelemetry Go SDK and pyroscope-go
// (span profiles through otel-profiling-go). Started as users run it: the compiled binary with OTEL_* and
// PYROSCOPE_* environment variables. The binary is built once per source/toolchain into the cache:
// `cacheDir('go')/demo-app-<hash of apps/go sources + go version>/demo-app`.
import { createHash } from 'node:crypto';
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { appStart, loadAppImage, type AppImage } from '../harness/app-env.js';
import { launchOptions, type AppSpec } from '../harness/app-spec.js';
import { cacheDir, contentHash, populateAtomically, repoRoot, requireGo, run } from '../harness/cache.js';

export const GO_SERVICE = 'demo-app';

export function goAppDir(): string {
  return join(repoRoot, 'apps', 'go');
}

/** `go version` output; a clear error when the Go toolchain is missing. */
export function goVersion(): Promise<string> {
  return requireGo('demo-app (apps/go)', '1.26'); // the go directive of apps/go/go.mod
}

/** The environment for the go command: no GOFLAGS or GOOS/GOARCH leaking in from the caller. */
export function goEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, CGO_ENABLED: '0', GOTOOLCHAIN: 'local' };
  for (const k of ['GOFLAGS', 'GOOS', 'GOARCH']) delete env[k];
  return env;
}

/**
 * Builds the Go program in `srcDir` as `cacheDir('go')/<name>-<hash of its sources + go version>/<name>` if that exact
 * build is not there yet; returns its path.
 */
export async function buildGoBinary(srcDir: string, name: string): Promise<string> {
  const version = await goVersion();
  const hash = contentHash([srcDir], {
    base: srcDir,
    // only what goes into the binary: non-test Go sources, go.mod, go.sum (in any package directory)
    ignore: (p) => {
      if (statSync(p).isDirectory()) return /[/\\](testdata|\.[^/\\]*)$/.test(p);
      return !/(\.go|[/\\]go\.mod|[/\\]go\.sum)$/.test(p) || /_test\.go$/.test(p);
    },
  });
  const tag = createHash('sha256').update(version).digest('hex').slice(0, 8);
  const dir = join(cacheDir('go'), `${name}-${hash}-${tag}`);
  const bin = join(dir, name);
  if (existsSync(bin)) return bin;
  await populateAtomically(dir, async (tmp) => {
    await run('go', ['build', '-trimpath', '-buildvcs=false', '-o', join(tmp, name), '.'], { cwd: srcDir, env: goEnv(), timeoutMs: 15 * 60_000 });
  });
  if (!existsSync(bin)) throw new Error(`go build finished but ${bin} is missing`);
  return bin;
}

/** The demo-app binary, built into the cache when needed. */
export function ensureGoBinary(): Promise<string> {
  return buildGoBinary(goAppDir(), GO_SERVICE);
}

let binary: string | undefined;
let image: AppImage | undefined;

export const goApp: AppSpec = {
  service: GO_SERVICE,
  language: 'go',
  async prepare() {
    binary = await ensureGoBinary();
    image = await loadAppImage(GO_SERVICE);
  },
  // The image's ENTRYPOINT, the binary, with its ENV and compose's environment (test/harness/app-env.ts).
  launch(o) {
    if (!binary || !image) throw new Error('goApp.launch() before prepare()');
    const start = appStart(image, o, {
      paths: { '/usr/local/bin/demo-app': binary },
      cwd: goAppDir(), // the image sets no WORKDIR
      // pyroscope-go's default is 15 s; profiles arrive sooner in tests
      testSettings: { PYROSCOPE_UPLOAD_RATE: '3s' },
    });
    return launchOptions(GO_SERVICE, o, { ...start, timeoutMs: 30_000 });
  },
  // The SDK's own switch: no traces, metrics, OTLP logs or profiles (the request log still goes to stdout).
  uninstrumented(o) {
    return goApp.launch({ ...o, env: { ...o.env, OTEL_SDK_DISABLED: 'true' } });
  },
  // Go's regexp is linear: one match of the seed's sample is ~25-50 us here, so 30,000 iterations are ~1-1.5 s
  // (the app's default, 50,000, is ~1.2-2.5 s).
  slow: {
    query: '?iterations=30000',
    childSpan: 'slow_business_logic',
    appFrame: /^main\.checkEmail$/,
    regexFrame: /^regexp\./,
  },
  alloc: { appFrame: /^main\.allocateMemoryBurst$/ },
};
