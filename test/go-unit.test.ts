// demo-app's own Go tests (apps/go: handlers, request log format, regex path in both modes, alloc cap, traffic
// generator bounds, bad input, unreachable backends), run with `go test ./...`; and the built binary's graceful
// shutdown, which must flush every signal on SIGTERM; examples/go under go vet and gofmt.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { run } from './harness/cache.js';
import { freePort, launchApp } from './harness/launcher.js';
import { startOtlpReceiver } from './harness/otlp-receiver.js';
import { startProfileReceiver } from './harness/profile-receiver.js';
import { GO_SERVICE, goApp, goAppDir, goEnv, goVersion } from './apps/go.js';
import { examplesRoot } from './harness/example.js';

test('demo-app (Go): go vet and go test ./... pass', { timeout: 20 * 60_000 }, async () => {
  await goVersion(); // clear error when Go is missing
  const env = goEnv();
  for (const k of Object.keys(env)) if (k.startsWith('OTEL_') || k.startsWith('PYROSCOPE_') || k.startsWith('TRAFFIC_')) delete env[k];
  const vet = await run('go', ['vet', './...'], { cwd: goAppDir(), env, allowFailure: true, timeoutMs: 10 * 60_000 });
  assert.equal(vet.code, 0, `go vet exited with ${vet.code ?? vet.signal}\n${vet.stdout}\n${vet.stderr}`);
  const r = await run('go', ['test', '-count=1', '-v', './...'], { cwd: goAppDir(), env, allowFailure: true, timeoutMs: 15 * 60_000 });
  const out = `${r.stdout}\n${r.stderr}`;
  assert.equal(r.code, 0, `go test exited with ${r.code ?? r.signal}\n${out}`);
  assert.match(r.stdout, /^ok\s+demo-app\s/m, out);
  assert.doesNotMatch(r.stdout, /^(--- FAIL|FAIL)/m, out);
  assert.doesNotMatch(r.stdout, /^--- SKIP/m, `a Go test was skipped:\n${out}`);
  const passed = (r.stdout.match(/^--- PASS/gm) ?? []).length;
  assert.ok(passed >= 20, `expected at least 20 Go tests to pass, saw ${passed}\n${out}`);
});

test('demo-app (Go): SIGTERM flushes spans, logs, metrics and profiles before exit', { timeout: 20 * 60_000 }, async () => {
  await goApp.prepare();
  const otlp = await startOtlpReceiver();
  const prof = await startProfileReceiver();
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  // Export intervals far longer than the test: whatever arrives was sent by the shutdown flush.
  const spec = goApp.launch({
    port, otlpUrl: otlp.url, pyroscopeUrl: prof.url,
    env: { OTEL_BSP_SCHEDULE_DELAY: '600000', OTEL_BLRP_SCHEDULE_DELAY: '600000', OTEL_METRIC_EXPORT_INTERVAL: '600000', PYROSCOPE_UPLOAD_RATE: '60s' },
  });
  const app = await launchApp(spec);
  try {
    for (const p of ['/hello', '/slow?iterations=2000', '/hello?fail=true']) await (await fetch(base + p)).text();
    assert.equal(otlp.spans().length, 0, 'nothing exported before shutdown (long intervals)');
    const t0 = Date.now();
    await app.stop();
    const took = Date.now() - t0;
    const out = app.output();
    assert.ok(took < 9000, `stopped within the grace period (${took} ms)\n${out}`);
    assert.match(out, /msg=stopped/, `graceful shutdown ran to its end\n${out}`);
    const mine = otlp.spans().filter((s) => s.resource['service.name'] === GO_SERVICE);
    for (const name of ['GET /hello', 'GET /slow', 'slow_business_logic']) assert.ok(mine.some((s) => s.name === name), `span ${name} flushed: ${mine.map((s) => s.name).join(', ')}\n${otlp.summary()}`);
    const routes = otlp.logs().map((l) => { try { return (JSON.parse(String(l.body)) as { route?: string }).route; } catch { return undefined; } });
    assert.ok(routes.includes('/slow') && routes.includes('/hello'), `request logs flushed: ${routes.join(', ')}`);
    const hist = otlp.metrics().find((m) => m.name === 'http.server.request.duration');
    assert.ok(hist && hist.type === 'histogram' && hist.unit === 's', `request duration histogram flushed\n${otlp.summary()}`);
    assert.ok(otlp.metrics().some((m) => m.name === 'process.memory.usage'), 'process memory metric flushed');
    assert.ok(prof.profiles().some((p) => p.service === GO_SERVICE && p.sampleType === 'cpu'), `CPU profile flushed\n${prof.summary()}`);
  } finally {
    await app.stop();
    await otlp.close();
    await prof.close();
  }
});

test('examples/go: go vet passes and gofmt has nothing to change (a user copies it)', { timeout: 20 * 60_000 }, async () => {
  await goVersion();
  const dir = join(examplesRoot, 'go');
  const vet = await run('go', ['vet', './...'], { cwd: dir, env: goEnv(), allowFailure: true, timeoutMs: 10 * 60_000 });
  assert.equal(vet.code, 0, `go vet exited with ${vet.code ?? vet.signal}\n${vet.stdout}\n${vet.stderr}`);
  const fmt = await run('gofmt', ['-l', '.'], { cwd: dir, allowFailure: true, timeoutMs: 60_000 });
  assert.deepEqual([fmt.code, fmt.stdout.trim()], [0, ''], `gofmt -l lists files to reformat\n${fmt.stderr}`);
});
