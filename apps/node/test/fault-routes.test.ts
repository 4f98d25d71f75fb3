import assert from 'node:assert/strict';
import { tracingChannel } from 'node:diagnostics_channel';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { INJECTED_LATENCY_SPAN } from '../src/fault-effects.js';
import { startTestServer, waitUntil, type TestServer } from './helpers.js';

interface Reply { status: number; headers: Headers; body: Record<string, unknown> }

async function call(url: string, init?: RequestInit): Promise<Reply> {
  const res = await fetch(url, init);
  return { status: res.status, headers: res.headers, body: (await res.json()) as Record<string, unknown> };
}

const post = (base: string, body: unknown): Promise<Reply> =>
  call(`${base}/admin/faults`, { method: 'POST', body: typeof body === 'string' ? body : JSON.stringify(body), headers: { 'content-type': 'application/json' } });

const ALL_OFF = { errors: null, latency: null, leak: null, cpu: null, dependency: null };

/** The request log bodies written since `from`, for `route`. */
const requestLogs = (srv: TestServer, from: number, route: string) =>
  srv.logs.lines.slice(from).map((l) => l.msg as Record<string, unknown>).filter((m) => m.route === route);

describe('/admin/faults', () => {
  let srv: TestServer;
  before(async () => {
    srv = await startTestServer();
  });
  after(async () => {
    await srv.close();
  });

  it('GET shows every kind off and the regex mode', async () => {
    const r = await call(`${srv.base}/admin/faults`);
    assert.equal(r.status, 200);
    assert.deepEqual(r.body, { faults: ALL_OFF, regex_mode: 'bad' });
  });

  it('POST answers bad input with 400 and one line, and changes nothing', async () => {
    await post(srv.base, { fault: 'cpu', route: '/slow', work: '10ms' });
    const before = await call(`${srv.base}/admin/faults`);
    const bad: [unknown, RegExp][] = [
      ['{"fault": ', /JSON object/],
      ['fault=errors', /JSON object/],
      [{ fault: 'earthquake' }, /^fault must be one of/],
      [{ fault: 'errors', ratio: 2 }, /^ratio must be/],
      [{ fault: 'errors', route: '/nowhere' }, /^route must be one of/],
      [{ fault: 'cpu', work: '200ms', colour: 1 }, /^unknown key colour/],
      [{ fault: 'cpu', on: false, route: '/hello' }, /^unknown key route/],
      [{ fault: 'dependency' }, /needs a next service/],
    ];
    for (const [body, message] of bad) {
      const r = await post(srv.base, body);
      assert.equal(r.status, 400, JSON.stringify(body));
      assert.deepEqual(Object.keys(r.body), ['error']);
      assert.match(String(r.body.error), message, JSON.stringify(body));
    }
    assert.deepEqual((await call(`${srv.base}/admin/faults`)).body, before.body, 'nothing changed');
    await post(srv.base, { fault: 'cpu', on: false });
  });

  it('other methods are 405 with Allow', async () => {
    for (const method of ['PUT', 'DELETE', 'PATCH']) {
      const r = await call(`${srv.base}/admin/faults`, { method });
      assert.equal(r.status, 405, method);
      assert.equal(r.headers.get('allow'), 'GET, POST');
    }
  });

  it('errors: the route answers 500 with an [ERROR] log, other routes do not, and off heals it', async () => {
    const on = await post(srv.base, { fault: 'errors', route: '/hello', ratio: 1, for: '1m' });
    assert.equal(on.status, 200);
    const shown = (on.body.faults as Record<string, Record<string, unknown>>).errors;
    assert.deepEqual({ ...shown, expires_at: undefined }, { route: '/hello', ratio: 1, expires_at: undefined });
    assert.match(String(shown?.expires_at), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    const from = srv.logs.lines.length;
    assert.equal((await call(`${srv.base}/hello`)).status, 500);
    assert.equal((await fetch(`${srv.base}/slow?iterations=1`)).status, 200);
    await waitUntil('the /hello request log', () => requestLogs(srv, from, '/hello').length === 1);
    const [log] = requestLogs(srv, from, '/hello');
    assert.equal(log?.level, 'error');
    assert.match(String(log?.msg), /^\[ERROR\] route=\/hello method=GET status=500 /);
    const off = await post(srv.base, { fault: 'errors', on: false });
    assert.deepEqual(off.body.faults, ALL_OFF);
    assert.equal((await fetch(`${srv.base}/hello`)).status, 200);
  });

  it('latency: each request on the route waits inside the injected_latency channel, others do not', async () => {
    const delays: unknown[] = [];
    const channel = tracingChannel(INJECTED_LATENCY_SPAN);
    const onStart = (ctx: unknown): void => void delays.push((ctx as { delay_ms: number }).delay_ms);
    channel.start.subscribe(onStart);
    try {
      await post(srv.base, { fault: 'latency', route: '/alloc', delay: '20ms' });
      const from = srv.logs.lines.length;
      assert.equal((await fetch(`${srv.base}/alloc`)).status, 200);
      assert.equal((await fetch(`${srv.base}/hello`)).status, 200);
      assert.deepEqual(delays, [20]);
      await waitUntil('the /alloc request log', () => requestLogs(srv, from, '/alloc').length === 1);
      assert.ok(Number(requestLogs(srv, from, '/alloc')[0]?.duration_ms) >= 20, 'the delay is part of the request');
    } finally {
      channel.start.unsubscribe(onStart);
      await post(srv.base, { fault: 'latency', on: false });
    }
  });

  it('cpu: each request on the route spins for `work` before answering', async () => {
    await post(srv.base, { fault: 'cpu', route: '/hello', work: '30ms' });
    try {
      const from = srv.logs.lines.length;
      assert.equal((await fetch(`${srv.base}/hello`)).status, 200);
      await waitUntil('the /hello request log', () => requestLogs(srv, from, '/hello').length === 1);
      assert.ok(Number(requestLogs(srv, from, '/hello')[0]?.duration_ms) >= 30, JSON.stringify(requestLogs(srv, from, '/hello')));
    } finally {
      await post(srv.base, { fault: 'cpu', on: false });
    }
  });

  it('leak: /alloc keeps every burst past ALLOC_MAX_BATCHES up to the cap, says when full, and off frees it', async () => {
    // bursts of 4 x 16 KiB = 64 KiB: 16 fit in 1 MiB
    await post(srv.base, { fault: 'leak', cap_mib: 1 });
    let leak: Record<string, unknown> = {};
    for (let i = 0; i < 17; i++) leak = (await call(`${srv.base}/alloc`)).body.leak as Record<string, unknown>;
    assert.deepEqual(leak, {
      retained_batches: 16,
      retained_bytes: 1024 * 1024,
      cap_mib: 1,
      full: true,
      note: 'leak cap of 1 MiB reached: this burst was not allocated',
    });
    assert.equal(srv.state.leaked.count, 16, 'no plateau at ALLOC_MAX_BATCHES (2)');
    await post(srv.base, { fault: 'leak', on: false });
    assert.equal(srv.state.leaked.count, 0, 'turning the leak off frees it');
    assert.equal((await call(`${srv.base}/alloc`)).body.leak, undefined);
  });

  it('dependency is refused on the end of the chain', async () => {
    assert.equal((await post(srv.base, { fault: 'dependency', mode: 'timeout' })).status, 400);
  });
});

describe('/admin/faults dependency on /chain', () => {
  const seen: string[] = [];
  const next = createServer((req, res) => {
    seen.push(req.url ?? '');
    const fail = req.url === '/hello?fail=true';
    // /slow answers later than the fault's timeout
    setTimeout(() => res.writeHead(fail ? 500 : 200, { 'content-type': 'application/json' }).end('{}'), req.url === '/slow' ? 1000 : 0);
  });
  let srv: TestServer;
  before(async () => {
    await new Promise<void>((r) => next.listen(0, '127.0.0.1', r));
    srv = await startTestServer({ NEXT_SERVICE_URL: `http://127.0.0.1:${(next.address() as AddressInfo).port}` });
  });
  after(async () => {
    await srv.close();
    next.closeAllConnections();
    next.close();
  });

  it('error: calls <next>/hello?fail=true and answers 502', async () => {
    await post(srv.base, { fault: 'dependency', mode: 'error' });
    const r = await call(`${srv.base}/chain`);
    assert.equal(r.status, 502);
    assert.equal(r.body.fault, 'dependency');
    assert.equal(seen.at(-1), '/hello?fail=true');
  });

  it('timeout: calls <next>/slow with the fault\'s timeout and answers 504', async () => {
    await post(srv.base, { fault: 'dependency', mode: 'timeout', timeout: '50ms' });
    const r = await call(`${srv.base}/chain`);
    assert.equal(r.status, 504);
    assert.equal(r.body.error, 'next service timed out');
    assert.equal(r.body.detail, 'no answer within 50ms');
    assert.equal(seen.at(-1), '/slow');
  });

  it('off: /chain calls <next>/chain again', async () => {
    await post(srv.base, { fault: 'dependency', on: false });
    assert.equal((await call(`${srv.base}/chain`)).status, 200);
    assert.equal(seen.at(-1), '/chain');
  });
});
