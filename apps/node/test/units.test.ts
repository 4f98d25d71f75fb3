import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import { allocateMemoryBurst, RetainedMemory } from '../src/alloc.js';
import { DEFAULT_SLOW_ITERATIONS, loadConfig, parseTrafficMix } from '../src/config.js';
import { BAD_EMAIL_REGEX, checkEmail, FIXED_EMAIL_REGEX, runSlowWork, SEED_SAMPLE, SLOW_SAMPLE } from '../src/slow.js';
import { routeRotation, startTrafficGenerator, TRAFFIC_USER_AGENT } from '../src/traffic.js';
import { waitUntil } from './helpers.js';

describe('slow: the seed regex on V8', () => {
  it('keeps the seed regex and sample, bounding only the local part', () => {
    assert.equal(BAD_EMAIL_REGEX.source, String.raw`^(\w+([-.][A-Za-z0-9]+)*){3,18}@\w+([-.][A-Za-z0-9]+)*\.\w+([-.][A-Za-z0-9]+)*$`);
    assert.equal(SEED_SAMPLE, 'rosamariachoccelahuaaranda70@gmail.comnnbbb.bbNG.bbb.n¿.?n');
    assert.equal(SLOW_SAMPLE, 'rosamariacho@gmail.comnnbbb.bbNG.bbb.n¿.?n');
  });

  it('bad and fixed checks agree on good and bad addresses', () => {
    for (const [email, ok] of [
      ['rosa.maria@gmail.com', true],
      ['abc@example.org', true],
      [SLOW_SAMPLE, false],
      ['no-at-sign.example.com', false],
      ['a@b', false],
    ] as const) {
      assert.equal(checkEmail(email, 'bad'), ok, `bad: ${email}`);
      assert.equal(checkEmail(email, 'fixed'), ok, `fixed: ${email}`);
    }
  });

  it('runs the bad check `iterations` times; the fixed one rejects even the full seed sample', { timeout: 60_000 }, () => {
    assert.deepEqual({ ...runSlowWork(20, 'bad'), durationMs: 0 }, { iterations: 20, mode: 'bad', valid: 0, durationMs: 0 });
    // On the full 28-character local part the bad regex backtracks for minutes; the linear one answers at once
    // (the test's timeout catches a regression; how fast each is belongs to the benchmark).
    assert.equal(FIXED_EMAIL_REGEX.test(SEED_SAMPLE), false);
  });
});

describe('alloc', () => {
  it('allocates chunks of about chunkKiB, every element written', () => {
    const batch = allocateMemoryBurst(3, 8);
    assert.equal(batch.length, 3);
    assert.equal(batch[0]?.length, 1024);
    assert.equal(batch[2]?.[1023], (2 + 1023) & 0xff);
  });

  it('retains at most maxBatches, dropping the oldest', () => {
    const r = new RetainedMemory(2);
    r.add([[1]]);
    r.add([[2]]);
    r.add([[3]]);
    assert.equal(r.count, 2);
  });
});

describe('config', () => {
  it('has the contract defaults', () => {
    const c = loadConfig({});
    assert.equal(c.port, 18083);
    assert.equal(c.serviceName, 'node-demo-app');
    assert.equal(c.nextServiceUrl, undefined);
    assert.equal(c.regexMode, 'bad');
    assert.equal(c.slowIterations, DEFAULT_SLOW_ITERATIONS);
    assert.deepEqual(c.alloc, { maxBatches: 20, chunks: 200, chunkKiB: 256 });
    assert.equal(c.traffic.enabled, true);
    assert.equal(c.traffic.rps, 1);
    assert.equal(c.traffic.concurrency, 2);
    assert.deepEqual(c.traffic.mix.map((r) => [r.name, r.weight]), [['slow', 1], ['hello', 27], ['alloc', 1], ['fail', 1]]);
  });

  it('reads the environment and ignores bad values', () => {
    const c = loadConfig({ PORT: '9999', REGEX_MODE: 'FIXED', TRAFFIC_GENERATOR: 'off', TRAFFIC_MIX: 'chain=1,fail=2', SLOW_ITERATIONS: '7', NEXT_SERVICE_URL: 'http://demo-app:8080/' });
    assert.equal(c.port, 9999);
    assert.equal(c.regexMode, 'fixed');
    assert.equal(c.traffic.enabled, false);
    assert.deepEqual(c.traffic.mix.map((r) => r.path), ['/chain', '/hello?fail=true']);
    assert.equal(c.slowIterations, 7);
    assert.equal(c.nextServiceUrl, 'http://demo-app:8080');
    const bad = loadConfig({ PORT: 'x', SLOW_ITERATIONS: '0', TRAFFIC_MIX: 'nope=1', REGEX_MODE: 'weird', TRAFFIC_RPS: '-1', NEXT_SERVICE_URL: 'not a url' });
    assert.equal(bad.port, 18083);
    assert.equal(bad.slowIterations, DEFAULT_SLOW_ITERATIONS);
    assert.equal(bad.traffic.mix.length, 4);
    assert.equal(bad.regexMode, 'bad');
    assert.equal(bad.traffic.rps, 1);
    assert.equal(bad.nextServiceUrl, undefined);
  });

  it('falls back to the default, with a warning, for unparsable and out-of-range numbers (never clamps)', (t) => {
    const warnings: string[] = [];
    t.mock.method(process.stderr, 'write', (chunk: string | Uint8Array) => {
      warnings.push(String(chunk));
      return true;
    });
    const c = loadConfig({
      PORT: '70000',
      SLOW_ITERATIONS: '2.5',
      ALLOC_MAX_BATCHES: '10001',
      TRAFFIC_RPS: '5000',
      TRAFFIC_CONCURRENCY: 'NaN',
    });
    t.mock.restoreAll();
    assert.equal(c.port, 18083);
    assert.equal(c.slowIterations, DEFAULT_SLOW_ITERATIONS);
    assert.equal(c.alloc.maxBatches, 20);
    assert.equal(c.traffic.rps, 1);
    assert.equal(c.traffic.concurrency, 2);
    for (const name of ['PORT', 'SLOW_ITERATIONS', 'ALLOC_MAX_BATCHES', 'TRAFFIC_RPS', 'TRAFFIC_CONCURRENCY']) {
      assert.ok(warnings.some((w) => w.startsWith(`node-demo-app: ignoring ${name}=`)), `a warning for ${name}: ${warnings.join('')}`);
    }
    assert.match(warnings.join(''), /TRAFFIC_RPS="5000" \(want a number 0\.001\.\.1000\); using 1/);
  });

  it('parses TRAFFIC_MIX', () => {
    assert.equal(parseTrafficMix('slow=x'), undefined);
    assert.equal(parseTrafficMix('slow=0'), undefined);
    assert.deepEqual(parseTrafficMix(' hello = 2 , slow=0 ')?.map((r) => r.name), ['hello']);
  });
});

describe('traffic generator', () => {
  it('takes routes in the proportions of their weights, each cycle the same, the rare ones spread out', () => {
    const next = routeRotation(parseTrafficMix('slow=2,hello=5,fail=1') ?? []);
    const cycle = (): string => Array.from({ length: 8 }, () => next().name.charAt(0)).join('');
    const first = cycle();
    assert.deepEqual([...first].sort().join(''), 'fhhhhhss');
    assert.equal(cycle(), first);
    assert.equal(cycle(), first);
    assert.doesNotMatch(first, /ss/, `the two /slow of a cycle are not back to back: ${first}`);
  });

  it('calls the app, never more than `concurrency` at once, and stops', async (t) => {
    let inFlight = 0;
    let maxInFlight = 0;
    const agents = new Set<string>();
    const paths: string[] = [];
    const server = createServer((req, res) => {
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      agents.add(String(req.headers['user-agent']));
      paths.push(req.url ?? '');
      setTimeout(() => {
        inFlight--;
        res.end('ok');
      }, 30);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    // also when an assertion fails: an open server would keep the test process alive
    t.after(() => {
      server.closeAllConnections();
      server.close();
    });
    const baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const gen = startTrafficGenerator({
      baseUrl,
      rps: 200,
      concurrency: 2,
      mix: parseTrafficMix('hello=1,chain=1') ?? [],
      startDelayMs: 0,
    });
    await waitUntil('5 requests sent', () => gen.sent >= 5);
    await gen.stop();
    const sent = gen.sent;
    const maxInFlightOfGen = maxInFlight;
    // Proof of "no request after stop()" without a sleep: a second generator at the same rate sends 5
    // requests (so the first one's interval would have fired several times), and the first sent none.
    const control = startTrafficGenerator({ baseUrl, rps: 200, concurrency: 2, mix: parseTrafficMix('alloc=1') ?? [], startDelayMs: 0 });
    await waitUntil('5 requests of the control generator received', () => paths.filter((p) => p === '/alloc').length >= 5);
    await control.stop();
    assert.equal(gen.sent, sent, 'no request after stop()');
    // A request sent just before stop() may still reach the server afterwards, but none beyond those counted.
    assert.ok(paths.filter((p) => p !== '/alloc').length <= sent, `the server saw at most the ${sent} requests sent before stop()`);
    assert.ok(sent >= 5, `sent ${sent}`);
    assert.ok(maxInFlightOfGen <= 2, `max in flight ${maxInFlightOfGen}`);
    assert.deepEqual([...agents], [TRAFFIC_USER_AGENT]);
    assert.ok(paths.every((p) => ['/hello', '/chain', '/alloc'].includes(p)), paths.join(' '));
  });
});

describe('Docker build inputs', () => {
  it('package-lock.json (used by the Dockerfile) matches package.json', async () => {
    const { readFileSync } = await import('node:fs');
    const { fileURLToPath } = await import('node:url');
    const appDir = fileURLToPath(new URL('../../', import.meta.url)); // dist-test/test/ -> apps/node/
    const pkg = JSON.parse(readFileSync(`${appDir}package.json`, 'utf8')) as Record<string, Record<string, string>>;
    const lock = JSON.parse(readFileSync(`${appDir}package-lock.json`, 'utf8')) as { packages: Record<string, Record<string, unknown>> };
    const root = lock.packages[''] ?? {};
    assert.deepEqual(root.dependencies, pkg.dependencies, 'run `npm run lock:docker -w apps/node` after changing dependencies');
    assert.deepEqual(root.devDependencies, pkg.devDependencies, 'run `npm run lock:docker -w apps/node` after changing dependencies');
    for (const [name, version] of Object.entries({ ...pkg.dependencies, ...pkg.devDependencies })) {
      assert.match(version, /^\d+\.\d+\.\d+$/, `${name} is pinned to an exact version`);
      assert.equal(lock.packages[`node_modules/${name}`]?.version, version, `${name} locked at ${version}`);
    }
  });
});
