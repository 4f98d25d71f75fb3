// The node-demo-app's own tests (apps/node/test: routes, config, traffic generator, the span-profile processor),
// run as `npm test -w apps/node` (node:test, compiled by the app's own tsconfig.test.json).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { repoRoot, run } from './harness/cache.js';

test('node-demo-app: unit tests pass (npm test -w apps/node)', { timeout: 10 * 60_000 }, async () => {
  const env: NodeJS.ProcessEnv = { ...process.env, TRAFFIC_GENERATOR: 'off' };
  for (const k of Object.keys(env)) if (k.startsWith('OTEL_') || k.startsWith('PYROSCOPE_') || k === 'NODE_TEST_CONTEXT') delete env[k];
  const r = await run('npm', ['test', '--silent', '-w', 'apps/node'], { cwd: repoRoot, env, allowFailure: true, timeoutMs: 8 * 60_000 });
  const out = `${r.stdout}\n${r.stderr}`;
  assert.equal(r.code, 0, `npm test -w apps/node exited with ${r.code ?? r.signal}\n${out.slice(-20_000)}`);
  const pass = /^# pass (\d+)$/m.exec(r.stdout);
  assert.ok(pass && Number(pass[1]) > 0, `no passing test reported\n${out.slice(-5000)}`);
  assert.match(r.stdout, /^# fail 0$/m);
  // a skipped or todo test would otherwise count as a pass
  assert.match(r.stdout, /^# skipped 0$/m, `a test was skipped\n${out.slice(-5000)}`);
  assert.match(r.stdout, /^# todo 0$/m, `a test is marked todo\n${out.slice(-5000)}`);
});
