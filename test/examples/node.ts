// examples/node (my-node-app): Express with pino, the OpenTelemetry Node SDK with auto-instrumentations-node loaded by
// `node --import`, @pyroscope/nodejs with the span-profile processor. Installed as its image installs it: `npm ci`
// from its own package-lock.json into the cache, then `tsc`; started as the image's CMD in its WORKDIR.
import { copyFileSync, cpSync, existsSync, symlinkSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { hint } from '../../src/verify/byo/hints.js';
import { cacheDir, contentHash, populateAtomically, run } from '../harness/cache.js';
import { examplesRoot, type ExampleSpec } from '../harness/example.js';

const source = join(examplesRoot, 'node');
let appDir: string | undefined;

/** node_modules from the example's own lockfile, once per lockfile: `cacheDir('examples')/node-deps-<hash>`. */
async function installDependencies(): Promise<string> {
  const manifests = ['package.json', 'package-lock.json'].map((f) => join(source, f));
  const dir = join(cacheDir('examples'), `node-deps-${contentHash(manifests, { base: source })}`);
  return populateAtomically(dir, async (tmp) => {
    for (const f of manifests) copyFileSync(f, join(tmp, f.slice(source.length + 1)));
    await run('npm', ['ci', '--ignore-scripts', '--no-audit', '--no-fund', '--workspaces=false'], { cwd: tmp, timeoutMs: 10 * 60_000 });
  });
}

/** The image's /app: package.json, node_modules and the compiled dist/, once per source: `node-app-<hash>`. */
async function build(): Promise<string> {
  const deps = await installDependencies();
  const inputs = ['package.json', 'package-lock.json', 'tsconfig.json', 'src'].map((f) => join(source, f));
  const dir = join(cacheDir('examples'), `node-app-${contentHash(inputs, { base: source })}`);
  return populateAtomically(dir, async (tmp) => {
    for (const f of ['package.json', 'tsconfig.json']) copyFileSync(join(source, f), join(tmp, f));
    cpSync(join(source, 'src'), join(tmp, 'src'), { recursive: true });
    symlinkSync(join(deps, 'node_modules'), join(tmp, 'node_modules'));
    await run(process.execPath, [join(tmp, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', tmp], { cwd: tmp, timeoutMs: 5 * 60_000 });
    if (!existsSync(join(tmp, 'dist', 'telemetry.js'))) throw new Error('examples/node: tsc wrote no dist/telemetry.js');
  });
}

export const example: ExampleSpec = {
  folder: 'node',
  async prepare() {
    appDir = await build();
  },
  layout(image) {
    if (!appDir) throw new Error('examples/node: layout() before prepare()');
    // The image's WORKDIR holds the app; this Node.js stands in for the base image's.
    return { paths: { [image.image.WorkingDir]: appDir }, toolDirs: [dirname(process.execPath)], testSettings: { PYROSCOPE_FLUSH_INTERVAL_MS: '3000' } };
  },
  startTimeoutMs: 60_000,
  // Trial division below 1,000,000: ~1 s here (under load).
  // telemetry.ts shuts the SDK down and stops the profiler (which uploads what it holds) on SIGTERM.
  sigtermFlush: { env: { PYROSCOPE_FLUSH_INTERVAL_MS: '600000' } },
  work: { route: '/work', path: '/work?n=1000000', badPath: '/work?n=lots', childSpan: 'countPrimes', frame: /(^|:)countPrimes(:|$)/ },
  // The reason verify gives for Node.js (opentelemetry-js #2594).
  noExemplars: hint('exemplars', 'nodejs'),
  // The span-profile pieces the guide says to copy from the demo app.
  copies: {
    'examples/node/src/pyroscope-span-processor.ts': 'apps/node/src/telemetry/pyroscope-span-processor.ts',
    'examples/node/src/process-cpu.ts': 'apps/node/src/telemetry/process-cpu.ts',
  },
};
