// The python-demo-app's own route tests (pytest, apps/python/tests), run WITHOUT OpenTelemetry in the venv that the
// app-integration test uses too.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { run } from './harness/cache.js';
import { ensurePythonVenv, pythonAppDir } from './apps/python.js';

test('python-demo-app: pytest route tests pass (no instrumentation)', { timeout: 20 * 60_000 }, async () => {
  const venv = await ensurePythonVenv();
  const env: NodeJS.ProcessEnv = { ...process.env, PYTHONDONTWRITEBYTECODE: '1', TRAFFIC_GENERATOR: 'off' };
  for (const k of Object.keys(env)) if (k.startsWith('OTEL_') || k === 'PYTHONPATH') delete env[k];
  const r = await run(join(venv, 'bin', 'python'), ['-m', 'pytest', '-q', '-p', 'no:cacheprovider', 'tests'], {
    cwd: pythonAppDir(),
    env,
    allowFailure: true,
    timeoutMs: 10 * 60_000,
  });
  assert.equal(r.code, 0, `pytest exited with ${r.code ?? r.signal}\n${r.stdout}\n${r.stderr}`);
  assert.match(r.stdout, /\d+ passed/);
  assert.doesNotMatch(r.stdout, /\d+ (failed|error)/);
  // a skipped (or expected-to-fail) test would otherwise count as a pass
  assert.doesNotMatch(r.stdout, /\d+ (skipped|xfailed|xpassed)/, `pytest reported skipped or expected-to-fail tests:\n${r.stdout}`);
});
