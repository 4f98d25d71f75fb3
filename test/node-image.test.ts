// The node-demo-app image without Docker: apps/node/Dockerfile replayed natively (test/harness/dockerfile.ts),
// so its build context, its own package-lock.json, the production-only node_modules and the CMD are what is
// tested, with the local Node.js instead of the image's. The app then runs as the container would start it and
// sends a /slow span and that span's CPU profile to the in-process receivers.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { nodeAppDir } from './apps/node.js';
import { replayDockerfile, type ReplayedImage } from './harness/dockerfile.js';
import { freePort, launchApp, makeTempDir, removeTempDir, waitFor, type LaunchedApp } from './harness/launcher.js';
import { startOtlpReceiver, type OtlpReceiver } from './harness/otlp-receiver.js';
import { startProfileReceiver, type ProfileReceiver } from './harness/profile-receiver.js';
import { tail } from './harness/cache.js';

/** The environment of the test process minus what would configure the app or npm behind the image's back. */
function cleanEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const k of Object.keys(env)) if (/^(OTEL_|PYROSCOPE_|npm_|NODE_TEST_CONTEXT$|NODE_OPTIONS$)/.test(k)) delete env[k];
  return env;
}

describe('node-demo-app image (Dockerfile replayed without Docker)', { timeout: 15 * 60_000 }, () => {
  let dir = '';
  let image: ReplayedImage;
  let otlp: OtlpReceiver | undefined;
  let prof: ProfileReceiver | undefined;
  let app: LaunchedApp | undefined;
  let base = '';

  before(async () => {
    dir = makeTempDir('lgtmp-node-image-');
    image = await replayDockerfile(join(nodeAppDir(), 'Dockerfile'), nodeAppDir(), dir, cleanEnv());
  }, { timeout: 10 * 60_000 });
  after(async () => {
    await app?.stop();
    await prof?.close();
    await otlp?.close();
    removeTempDir(dir);
  });

  it('ships the compiled app and production dependencies only', () => {
    assert.deepEqual(image.command, ['node', '--import', './dist/telemetry/bootstrap.js', 'dist/server.js']);
    for (const f of ['dist/server.js', 'dist/telemetry/bootstrap.js', 'node_modules/@pyroscope/nodejs', 'node_modules/pprof-format', 'node_modules/express']) {
      assert.ok(existsSync(join(image.cwd, f)), `${f} in the image`);
    }
    for (const f of ['src', 'node_modules/typescript']) assert.ok(!existsSync(join(image.cwd, f)), `no ${f} in the image`);
    assert.equal(image.env['OTEL_SERVICE_NAME'], 'node-demo-app');
  });

  it('runs as the container starts it, and sends a /slow span with its CPU profile', { timeout: 4 * 60_000 }, async () => {
    otlp = await startOtlpReceiver();
    prof = await startProfileReceiver();
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    const [command, ...args] = image.command;
    app = await launchApp({
      name: 'node-demo-app (image)',
      command: command!,
      args,
      cwd: image.cwd,
      env: {
        ...image.env,
        // what compose.yaml adds, pointed at the receivers
        PORT: String(port),
        OTEL_EXPORTER_OTLP_ENDPOINT: otlp.url,
        PYROSCOPE_SERVER_ADDRESS: prof.url,
        PYROSCOPE_FLUSH_INTERVAL_MS: '3000',
        TRAFFIC_GENERATOR: 'off',
      },
      healthUrl: `${base}/healthz`,
      timeoutMs: 60_000,
    });
    const diag = (): string => `--- app output ---\n${tail(app!.output(), 4000)}\n${prof!.summary()}`;
    const res = await fetch(`${base}/slow?iterations=600`);
    assert.equal(res.status, 200, diag());
    const root = await waitFor('the /slow server span', () => otlp!.spans().find((s) => s.kind === 2 && s.attributes['pyroscope.profile.id'] !== undefined && /slow/.test(String(s.attributes['http.route'] ?? s.name))), 30_000);
    const cpu = await waitFor(`process_cpu samples labelled span_id=${root.spanId}`, () => {
      const samples = prof!.profiles()
        .filter((p) => p.service === 'node-demo-app' && p.profileTypeId === 'process_cpu:cpu:nanoseconds:cpu:nanoseconds')
        .flatMap((p) => p.samples.filter((s) => s.labels['span_id'] === root.spanId));
      return samples.length > 0 ? samples : undefined;
    }, 60_000).catch((e: Error) => assert.fail(`${e.message}\n${diag()}`));
    assert.ok(cpu.some((s) => s.stack.some((f) => /(^|:)checkEmail(:|$)/.test(f))), `checkEmail in the span's CPU samples\n${diag()}`);
  });
});
