// App images without Docker: the Dockerfiles of the four apps replayed natively (test/harness/dockerfile.ts),
// so each image's build context, recipe, final contents, ENV and start command are what is tested, with the
// local toolchains instead of the base images'. Each app then runs as its container would start it and sends
// a /slow span and that span's CPU profile to the in-process receivers.
import assert from 'node:assert/strict';
import { existsSync, writeFileSync } from 'node:fs';
import { dirname, isAbsolute, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { goApp, goAppDir, goEnv, goVersion } from './apps/go.js';
import { javaApp, javaAppDir, javaCommand } from './apps/java.js';
import { nodeApp, nodeAppDir } from './apps/node.js';
import { pythonApp, pythonAppDir } from './apps/python.js';
import { SPAN_PROFILE_TYPE, testEnv, type AppSpec, type LaunchRequest } from './harness/app-spec.js';
import { tail } from './harness/cache.js';
import { replayDockerfile, type ReplayedImage } from './harness/dockerfile.js';
import { freePort, launchApp, makeTempDir, removeTempDir, waitFor, type LaunchedApp } from './harness/launcher.js';
import { servesRoute, SPAN_KIND_SERVER, startOtlpReceiver, type OtlpReceiver } from './harness/otlp-receiver.js';
import { startProfileReceiver, type ProfileReceiver } from './harness/profile-receiver.js';

interface ImageCase {
  spec: AppSpec;
  context: string;
  /** The environment RUN commands get: the toolchain the image's build stage has. */
  buildEnv(): Promise<NodeJS.ProcessEnv>;
  command: string[];
  /** What compose.yaml sets on top of the image's ENV, pointed at the receivers; default: the tests' usual settings. */
  composeEnv?(o: LaunchRequest): Record<string, string>;
  /** Paths relative to the final stage's WORKDIR that must (true) or must not (false) be in the image. */
  files: Record<string, boolean>;
}

/** The test process's environment minus what would configure an app or npm behind the image's back. */
function hostEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const k of Object.keys(env)) if (/^(OTEL_|PYROSCOPE_|npm_|NODE_TEST_CONTEXT$|NODE_OPTIONS$)/.test(k)) delete env[k];
  return env;
}

/** PATH with the JVM the tests run Java on first: the image's JRE is Temurin 21 (see javaCommand). */
function pathWithJava21(): string {
  const java = javaCommand();
  const path = process.env.PATH ?? '';
  return isAbsolute(java) ? `${dirname(java)}:${path}` : path;
}

const cases: ImageCase[] = [
  {
    spec: nodeApp,
    context: nodeAppDir(),
    buildEnv: async () => hostEnv(),
    command: ['node', '--import', './dist/telemetry/bootstrap.js', 'dist/server.js'],
    files: { 'dist/server.js': true, 'dist/telemetry/bootstrap.js': true, 'node_modules/@pyroscope/nodejs': true, 'node_modules/pprof-format': true, src: false, 'node_modules/typescript': false },
  },
  {
    spec: goApp,
    context: goAppDir(),
    buildEnv: async () => {
      await goVersion(); // a clear error when Go is missing
      return { ...hostEnv(), ...goEnv() };
    },
    command: ['/usr/local/bin/demo-app'],
    files: { 'usr/local/bin/demo-app': true, src: false },
  },
  {
    spec: javaApp,
    context: javaAppDir(),
    buildEnv: async () => ({ ...hostEnv(), PATH: pathWithJava21() }),
    command: ['/app/docker-entrypoint.sh'],
    composeEnv: (o) => {
      // the seed's spelling of the profiler's address, which the entrypoint maps to PYROSCOPE_SERVER_ADDRESS
      const { PYROSCOPE_SERVER_ADDRESS: pyroscope, ...env } = testEnv(javaApp.service, o);
      return { ...env, OTEL_PYROSCOPE_SERVER_ADDRESS: pyroscope!, PATH: pathWithJava21() };
    },
    files: { 'java-demo-app.jar': true, 'opentelemetry-javaagent.jar': true, 'pyroscope-otel.jar': true, 'docker-entrypoint.sh': true, 'pom.xml': false },
  },
  {
    spec: pythonApp,
    context: pythonAppDir(),
    buildEnv: async () => hostEnv(),
    command: ['opentelemetry-instrument', 'python', 'app.py'],
    files: { 'app.py': true, '../opt/venv/bin/opentelemetry-instrument': true, 'requirements.txt': false, 'lgtmp-pyroscope': false },
  },
];

for (const c of cases) {
  describe(`${c.spec.service} image (${c.context.slice(c.context.lastIndexOf('apps/'))}/Dockerfile replayed without Docker)`, { timeout: 20 * 60_000 }, () => {
    let dir = '';
    let image: ReplayedImage;
    let otlp: OtlpReceiver | undefined;
    let prof: ProfileReceiver | undefined;
    let app: LaunchedApp | undefined;

    before(async () => {
      dir = makeTempDir('lgtmp-image-');
      image = await replayDockerfile(join(c.context, 'Dockerfile'), c.context, dir, await c.buildEnv());
    }, { timeout: 15 * 60_000 });
    after(async () => {
      await app?.stop();
      await prof?.close();
      await otlp?.close();
      removeTempDir(dir);
    });

    it('holds what the app needs to run, and no build leftovers', () => {
      assert.deepEqual(image.command, c.command);
      for (const [f, present] of Object.entries(c.files)) assert.equal(existsSync(join(image.cwd, f)), present, `${f} ${present ? 'in' : 'not in'} the image`);
      assert.equal(image.env['OTEL_SERVICE_NAME'], c.spec.service);
    });

    it('runs as the container starts it, and sends a /slow span with its CPU profile', { timeout: 4 * 60_000 }, async () => {
      otlp = await startOtlpReceiver();
      prof = await startProfileReceiver();
      const port = await freePort();
      const base = `http://127.0.0.1:${port}`;
      const [command, ...args] = image.argv;
      app = await launchApp({
        name: `${c.spec.service} (image)`,
        command: command!,
        args,
        cwd: image.cwd,
        env: { ...image.env, ...(c.composeEnv ?? ((o) => testEnv(c.spec.service, o)))({ port, otlpUrl: otlp.url, pyroscopeUrl: prof.url }) },
        healthUrl: `${base}/healthz`,
        timeoutMs: 180_000,
      });
      const diag = (): string => `--- app output ---\n${tail(app!.output(), 4000)}\n${prof!.summary()}`;
      const res = await fetch(`${base}/slow${c.spec.slow.query}`);
      assert.equal(res.status, 200, diag());
      const root = await waitFor('the /slow server span with pyroscope.profile.id', () =>
        otlp!.spans().find((s) => s.kind === SPAN_KIND_SERVER && servesRoute(s, '/slow') && s.attributes['pyroscope.profile.id'] !== undefined), 30_000);
      const cpu = await waitFor(`${SPAN_PROFILE_TYPE} samples labelled span_id=${root.spanId}`, () => {
        const samples = prof!.spanSamples(c.spec.service, SPAN_PROFILE_TYPE, root.spanId);
        return samples.length > 0 ? samples : undefined;
      }, 60_000).catch((e: Error) => assert.fail(`${e.message}\n${diag()}`));
      assert.ok(cpu.some((s) => s.stack.some((f) => c.spec.slow.appFrame.test(f))), `${c.spec.slow.appFrame} in the span's CPU samples\n${diag()}`);
    });
  });
}

describe('a Dockerfile the replay cannot reproduce is refused, by instruction', () => {
  it('a RUN that writes outside the image\'s folders', async () => {
    const dir = makeTempDir('lgtmp-image-');
    try {
      writeFileSync(join(dir, 'Dockerfile'), 'FROM scratch AS build\nWORKDIR /src\nRUN touch /etc/replayed\n');
      await assert.rejects(replayDockerfile(join(dir, 'Dockerfile'), dir, join(dir, 'root'), hostEnv()), /Dockerfile:3 RUN touch \/etc\/replayed: \/etc\/replayed is outside the image's folders \(\/src\): not replayed/);
    } finally {
      removeTempDir(dir);
    }
  });
});
