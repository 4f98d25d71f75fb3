// node-demo-app (apps/node): Express 5 in TypeScript, started as users start it,
// `node --import ./dist/telemetry/bootstrap.js dist/server.js`. The bootstrap (OpenTelemetry Node SDK with
// auto-instrumentations-node, @pyroscope/nodejs and our span-profile processor) is the only telemetry code;
// src/ of the app imports neither OpenTelemetry nor Pyroscope.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { SDK_WITHOUT_EXEMPLARS } from '../../src/verify/checks.js';
import { appStart, loadAppImage, type AppImage } from '../harness/app-env.js';
import { launchOptions, type AppSpec } from '../harness/app-spec.js';
import { contentHash, repoRoot, run } from '../harness/cache.js';

export const NODE_SERVICE = 'node-demo-app';

export function nodeAppDir(): string {
  return join(repoRoot, 'apps', 'node');
}

const STAMP = '.build-hash';

/** `npm run build -w apps/node` (tsc into apps/node/dist), skipped when sources and config are unchanged. */
export async function buildNodeApp(): Promise<void> {
  const appDir = nodeAppDir();
  // The app's dependencies come from the root `npm ci` (apps/node is an npm workspace).
  const req = createRequire(join(appDir, 'package.json'));
  for (const dep of ['express', 'pino', '@pyroscope/nodejs', '@opentelemetry/sdk-node', '@opentelemetry/auto-instrumentations-node', 'typescript']) {
    try {
      req.resolve(dep === 'typescript' ? 'typescript/package.json' : dep);
    } catch {
      throw new Error(`node-demo-app: dependency ${dep} is not installed; run \`npm ci\` at the repository root (it installs the apps/node workspace too).`);
    }
  }
  const hash = contentHash(
    [join(appDir, 'src'), join(appDir, 'package.json'), join(appDir, 'tsconfig.json'), join(appDir, 'tsconfig.base.json')],
    { base: appDir },
  );
  const stampFile = join(appDir, 'dist', STAMP);
  if (existsSync(stampFile) && readFileSync(stampFile, 'utf8') === hash && existsSync(join(appDir, 'dist', 'telemetry', 'bootstrap.js'))) return;
  await run('npm', ['run', 'build', '--silent', '-w', 'apps/node'], { cwd: repoRoot, timeoutMs: 5 * 60_000 });
  writeFileSync(stampFile, hash);
}

let image: AppImage | undefined;

export const nodeApp: AppSpec = {
  service: NODE_SERVICE,
  language: 'node',
  async prepare() {
    await buildNodeApp();
    image = await loadAppImage(NODE_SERVICE);
  },
  // The image's CMD, `node --import ./dist/telemetry/bootstrap.js dist/server.js` in its WORKDIR (this Node.js
  // first on PATH), with its ENV and compose's environment (test/harness/app-env.ts).
  launch(o) {
    if (!image) throw new Error('nodeApp.launch() before prepare()');
    const start = appStart(image, o, {
      paths: { '/app': nodeAppDir() },
      toolDirs: [dirname(process.execPath)],
      // /alloc keeps its default burst size (~50 MiB): the leak test measures growth against it
      testSettings: { PYROSCOPE_FLUSH_INTERVAL_MS: '3000' },
    });
    return launchOptions(NODE_SERVICE, o, { ...start, timeoutMs: 60_000 });
  },
  // `node dist/server.js`, without the bootstrap.
  uninstrumented(o) {
    return { ...nodeApp.launch(o), args: ['dist/server.js'] };
  },
  // One match of the bounded seed sample (12 characters before '@') takes ~0.6-1 ms on V8 here: 1500 iterations
  // ~1-1.5 s. No child span: the app is zero-code (no OpenTelemetry import), like the Python one.
  slow: {
    query: '?iterations=1500',
    // @pyroscope/nodejs names frames `<file>:<function>:<line>`, e.g. `./dist/slow.js:checkEmail:40`
    appFrame: /(^|:)checkEmail(:|$)/,
    // V8 runs the regex as compiled Irregexp code, entered through the RegExp builtins
    regexFrame: /RegExp|regexp|(^|:)test(:|$)/,
  },
  alloc: { appFrame: /(^|:)allocateMemoryBurst(:|$)/ },
  // @opentelemetry/sdk-metrics 2.x has exemplar classes but never samples them, and the OTLP
  // serializer drops them (opentelemetry-js #2594, #5147): metrics -> traces for Node.js goes
  // through Tempo's span-metric exemplars instead.
  noExemplars: SDK_WITHOUT_EXEMPLARS[NODE_SERVICE],
};
