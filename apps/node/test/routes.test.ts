import assert from 'node:assert/strict';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { startTestServer, waitUntil, type TestServer } from './helpers.js';

async function get(url: string, init?: RequestInit): Promise<{ status: number; type: string; text: string; json: () => unknown }> {
  const res = await fetch(url, init);
  const text = await res.text();
  return { status: res.status, type: res.headers.get('content-type') ?? '', text, json: () => JSON.parse(text) };
}

describe('node-demo-app routes', () => {
  let srv: TestServer;
  before(async () => {
    srv = await startTestServer();
  });
  after(async () => {
    await srv.close();
  });

  it('GET /hello answers Hello World', async () => {
    const r = await get(`${srv.base}/hello`);
    assert.equal(r.status, 200);
    assert.equal(r.text, 'Hello World');
  });

  it('GET /healthz answers {"status":"ok"}', async () => {
    const r = await get(`${srv.base}/healthz`);
    assert.equal(r.status, 200);
    assert.deepEqual(r.json(), { status: 'ok' });
  });

  it('GET /slow runs checkEmail the asked number of times', async () => {
    const r = await get(`${srv.base}/slow?iterations=3`);
    assert.equal(r.status, 200);
    const body = r.json() as Record<string, unknown>;
    assert.equal(body.iterations, 3);
    assert.equal(body.mode, 'bad');
    assert.equal(body.valid, 0);
  });

  it('GET /slow rejects bad iterations with 400 JSON', async () => {
    for (const q of ['0', '100001', 'abc', '-1', '1.5', '', '99999999999']) {
      const r = await get(`${srv.base}/slow?iterations=${q}`);
      assert.equal(r.status, 400, `iterations=${q}`);
      assert.match(r.type, /json/);
      assert.match(String((r.json() as { error: string }).error), /iterations/);
    }
    const twice = await get(`${srv.base}/slow?iterations=1&iterations=2`);
    assert.equal(twice.status, 400);
  });

  it('GET /alloc keeps at most ALLOC_MAX_BATCHES bursts', async () => {
    let body: Record<string, unknown> = {};
    for (let i = 0; i < 3; i++) body = (await get(`${srv.base}/alloc`)).json() as Record<string, unknown>;
    assert.equal(body.retained_batches, 2);
    assert.equal(body.max_batches, 2);
    assert.equal(body.chunks, 4);
    assert.equal(body.batch_bytes, 4 * 16 * 1024);
  });

  it('?fail=true gives 500 on any route, unknown routes 404 JSON', async () => {
    for (const path of ['/hello', '/slow', '/alloc', '/chain', '/healthz']) {
      const r = await get(`${srv.base}${path}?fail=true`);
      assert.equal(r.status, 500, path);
      assert.match(r.type, /json/);
    }
    // as in the Go app: an unknown route is 404 whatever its query
    assert.equal((await get(`${srv.base}/nope?fail=true`)).status, 404);
    const missing = await get(`${srv.base}/does-not-exist`);
    assert.equal(missing.status, 404);
    assert.deepEqual(missing.json(), { error: 'not found', method: 'GET', path: '/does-not-exist' });
    const wrongMethod = await get(`${srv.base}/hello`, { method: 'DELETE' });
    assert.equal(wrongMethod.status, 404);
  });

  it('POST /admin/regex switches the regex mode; bad modes are 400', async () => {
    assert.deepEqual((await get(`${srv.base}/admin/regex?mode=fixed`, { method: 'POST' })).json(), { mode: 'fixed' });
    assert.equal(srv.state.regexMode, 'fixed');
    const slow = (await get(`${srv.base}/slow?iterations=5000`)).json() as Record<string, unknown>;
    assert.equal(slow.mode, 'fixed');
    assert.equal(slow.valid, 0, 'the fixed check rejects the sample too');
    assert.deepEqual((await get(`${srv.base}/admin/regex`)).json(), { mode: 'fixed' });
    const bad = await get(`${srv.base}/admin/regex?mode=worse`, { method: 'POST' });
    assert.equal(bad.status, 400);
    assert.equal((await get(`${srv.base}/admin/regex`, { method: 'POST' })).status, 400);
    assert.deepEqual((await get(`${srv.base}/admin/regex?mode=bad`, { method: 'POST' })).json(), { mode: 'bad' });
  });

  it('GET /chain without NEXT_SERVICE_URL ends the chain here', async () => {
    const r = await get(`${srv.base}/chain`);
    assert.equal(r.status, 200);
    const body = r.json() as Record<string, unknown>;
    assert.equal(body.next, null);
    assert.equal(body.service, 'node-demo-app');
  });

  it('never crashes on odd input', async () => {
    for (const path of ['/slow?iterations[a]=1', '/%E0%A4%A', '/hello?fail=true&fail=true', '/admin/regex?mode[]=bad']) {
      const r = await get(`${srv.base}${path}`, path.startsWith('/admin') ? { method: 'POST' } : undefined);
      assert.ok(r.status >= 400 && r.status < 500 || r.status === 200, `${path} -> ${r.status}`);
    }
    const body = await get(`${srv.base}/admin/regex?mode=bad`, { method: 'POST', body: '{not json', headers: { 'content-type': 'application/json' } });
    assert.equal(body.status, 200);
    assert.equal((await get(`${srv.base}/healthz`)).status, 200);
  });

  it('writes one JSON request log per request with the seed keys', async () => {
    const before = srv.logs.lines.length;
    await get(`${srv.base}/hello`);
    await get(`${srv.base}/hello?fail=true`);
    await waitUntil('two request log lines', () => srv.logs.lines.length >= before + 2);
    const lines = srv.logs.lines.slice(before);
    assert.equal(lines.length, 2);
    const [ok, err] = lines.map((l) => l.msg as Record<string, unknown>);
    assert.ok(ok && err);
    assert.deepEqual(Object.keys(ok), ['msg', 'route', 'method', 'status', 'duration_ms', 'trace_id', 'span_id']);
    assert.equal(ok.route, '/hello');
    assert.equal(ok.method, 'GET');
    assert.equal(ok.status, 200);
    assert.equal(typeof ok.duration_ms, 'number');
    assert.match(String(ok.msg), /^\[OK\] route=\/hello method=GET status=200 duration_ms=\d+ trace_id= span_id=$/);
    assert.equal(err.status, 500);
    assert.equal(err.level, 'error');
    assert.match(String(err.msg), /^\[ERROR\] route=\/hello method=GET status=500 /);
    assert.equal(lines[1]?.level, 50, 'pino level error for 5xx');
  });

  it('renders trace ids into the request log when a log-correlation mixin provides them', async () => {
    const { createLogger, logRequest } = await import('../src/logger.js');
    const { LogCapture } = await import('./helpers.js');
    const { pino } = await import('pino');
    const capture = new LogCapture();
    const logger = createLogger(capture);
    // exactly what @opentelemetry/instrumentation-pino does: install a mixin returning the active span's ids
    (logger as unknown as Record<symbol, unknown>)[pino.symbols.mixinSym] = () => ({
      trace_id: '0af7651916cd43dd8448eb211c80319c',
      span_id: 'b7ad6b7169203331',
      trace_flags: '01',
    });
    const child = logger;
    logRequest(child, { route: '/slow', method: 'GET', status: 200, duration_ms: 7262 });
    await waitUntil('the request log line', () => capture.lines.length === 1);
    const body = capture.lines[0]?.msg as Record<string, unknown>;
    assert.equal(body.msg, '[OK] route=/slow method=GET status=200 duration_ms=7262 trace_id=0af7651916cd43dd8448eb211c80319c span_id=b7ad6b7169203331');
    assert.equal(body.trace_id, '0af7651916cd43dd8448eb211c80319c');
  });
});

describe('GET /chain with NEXT_SERVICE_URL', () => {
  it('calls <next>/chain, then answers', async () => {
    const seen: { url: string; headers: IncomingHttpHeaders }[] = [];
    const next = createServer((req, res) => {
      seen.push({ url: req.url ?? '', headers: req.headers });
      res.setHeader('content-type', 'application/json');
      res.end('{"route":"/chain"}');
    });
    await new Promise<void>((r) => next.listen(0, '127.0.0.1', r));
    const nextUrl = `http://127.0.0.1:${(next.address() as AddressInfo).port}`;
    const srv = await startTestServer({ NEXT_SERVICE_URL: `${nextUrl}/` });
    try {
      const r = await get(`${srv.base}/chain`);
      assert.equal(r.status, 200);
      assert.deepEqual((r.json() as { next: unknown }).next, { url: `${nextUrl}/chain`, status: 200 });
      assert.equal(seen.length, 1);
      assert.equal(seen[0]?.url, '/chain');
    } finally {
      await srv.close();
      next.close();
    }
  });

  it('answers 502 when the next service is down or fails', async () => {
    const srv = await startTestServer({ NEXT_SERVICE_URL: 'http://127.0.0.1:9' });
    try {
      const r = await get(`${srv.base}/chain`);
      assert.equal(r.status, 502);
      assert.match(r.type, /json/);
    } finally {
      await srv.close();
    }
  });
});
