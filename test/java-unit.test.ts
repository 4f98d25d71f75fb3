// java-demo-app's own tests (apps/java/app/src/test: routes, 400/404/405/500 JSON answers, the regex bound, the
// linear fix and the runtime mode switch, the alloc cap, the JSON request log, settings fallbacks, the traffic
// generator), run WITHOUT the javaagent by `mvn -q -B clean test` in apps/java. The clean drops surefire reports of
// earlier runs, which would otherwise be counted too; the integration test keeps its jars in the cache, not in target/.
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { run } from './harness/cache.js';
import { javaAppDir, withMavenInJavaApp } from './apps/java.js';

test('java-demo-app: mvn -q -B clean test passes (JUnit, no agent)', { timeout: 20 * 60_000 }, async () => {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const k of Object.keys(env)) {
    if (/^(OTEL_|PYROSCOPE_|TRAFFIC_|ALLOC_|SLOW_|REGEX_MODE$|NEXT_SERVICE_URL$|PORT$|JAVA_TOOL_OPTIONS$)/.test(k)) delete env[k];
  }
  // Under the lock, the run and the reading of its reports: another process's Maven build in apps/java would
  // change target/ in between.
  await withMavenInJavaApp(async () => {
    const r = await run('mvn', ['-q', '-B', 'clean', 'test'], { cwd: javaAppDir(), env, allowFailure: true, timeoutMs: 15 * 60_000 });
    const out = `${r.stdout}\n${r.stderr}`;
    assert.equal(r.code, 0, `mvn clean test exited with ${r.code ?? r.signal}\n${out.slice(-20000)}`);
    // Surefire's XML reports: count what ran, so a run that executed nothing (or skipped tests) fails here.
    const reports = join(javaAppDir(), 'app', 'target', 'surefire-reports');
    assert.ok(existsSync(reports), `no surefire reports in ${reports}`);
    let tests = 0, skipped = 0, failed = 0;
    for (const f of readdirSync(reports).filter((n) => n.startsWith('TEST-') && n.endsWith('.xml'))) {
      const head = /<testsuite\b[^>]*>/.exec(readFileSync(join(reports, f), 'utf8'))?.[0] ?? '';
      const attr = (name: string): number => Number(new RegExp(`\\b${name}="(\\d+)"`).exec(head)?.[1] ?? 0);
      tests += attr('tests');
      skipped += attr('skipped');
      failed += attr('failures') + attr('errors');
    }
    assert.equal(failed, 0, out);
    assert.equal(skipped, 0, 'a JUnit test was skipped');
    assert.ok(tests >= 15, `expected at least 15 JUnit tests, surefire counted ${tests}`);
  });
});
