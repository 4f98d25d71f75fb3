import assert from 'node:assert/strict';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { describe, it } from 'node:test';
import { formatDuration, parseDuration } from '../src/durations.js';
import { burnCpu } from '../src/fault-effects.js';
import { FAULT_KINDS, FAULTS_CHANNEL, FaultRequestError, FaultSwitches, parseFaultChange, type FaultsMessage } from '../src/faults.js';
import { createLogger } from '../src/logger.js';
import { LogCapture, waitUntil } from './helpers.js';

describe('durations', () => {
  it('reads units and seconds, shows the shortest exact unit', () => {
    assert.equal(parseDuration('200ms'), 200);
    assert.equal(parseDuration('90s'), 90_000);
    assert.equal(parseDuration('5m'), 300_000);
    assert.equal(parseDuration('1h'), 3_600_000);
    assert.equal(parseDuration('1.5s'), 1500);
    assert.equal(parseDuration(90), 90_000);
    for (const bad of ['', '10', '5 minutes', '-1s', 'ms', -3, null, {}]) assert.equal(parseDuration(bad), undefined, JSON.stringify(bad));
    assert.equal(formatDuration(600_000), '10m');
    assert.equal(formatDuration(3_600_000), '1h');
    assert.equal(formatDuration(2000), '2s');
    assert.equal(formatDuration(1500), '1500ms');
  });
});

describe('parseFaultChange', () => {
  const parse = (body: unknown, hasNext = true) => parseFaultChange(typeof body === 'string' ? body : JSON.stringify(body), hasNext);

  it('fills in the documented defaults', () => {
    assert.deepEqual(parse({ fault: 'errors' }), { kind: 'errors', on: true, settings: { route: '/hello', ratio: 0.5 }, forMs: 600_000 });
    assert.deepEqual(parse({ fault: 'latency' }), { kind: 'latency', on: true, settings: { route: '/hello', delay: 2000 }, forMs: 600_000 });
    assert.deepEqual(parse({ fault: 'leak' }), { kind: 'leak', on: true, settings: { cap_mib: 256 }, forMs: 600_000 });
    assert.deepEqual(parse({ fault: 'cpu' }), { kind: 'cpu', on: true, settings: { route: '/hello', work: 200 }, forMs: 600_000 });
    assert.deepEqual(parse({ fault: 'dependency' }), { kind: 'dependency', on: true, settings: { mode: 'error', timeout: 1000 }, forMs: 600_000 });
  });

  it('reads settings, "for" and "off"', () => {
    assert.deepEqual(parse({ fault: 'cpu', route: '/slow', work: '2s', for: 90, on: true }), { kind: 'cpu', on: true, settings: { route: '/slow', work: 2000 }, forMs: 90_000 });
    assert.deepEqual(parse({ fault: 'dependency', mode: 'timeout', timeout: '250ms', for: '1h' }), { kind: 'dependency', on: true, settings: { mode: 'timeout', timeout: 250 }, forMs: 3_600_000 });
    assert.deepEqual(parse({ fault: 'leak', on: false }), { kind: 'leak', on: false });
    assert.deepEqual(parse({ fault: 'dependency', on: false }, false), { kind: 'dependency', on: false });
  });

  it('rejects bad input with one line naming the key and the accepted form', () => {
    const cases: [unknown, RegExp][] = [
      ['{not json', /JSON object/],
      ['[1]', /JSON object/],
      ['', /JSON object/],
      [{ ratio: 0.5 }, /^fault must be one of errors, latency, leak, cpu, dependency$/],
      [{ fault: 'meltdown' }, /^fault must be one of/],
      [{ fault: 'errors', ratio: 0 }, /^ratio must be a number above 0 and at most 1$/],
      [{ fault: 'errors', ratio: 1.5 }, /^ratio must be/],
      [{ fault: 'errors', ratio: '0.5' }, /^ratio must be/],
      [{ fault: 'errors', route: '/healthz' }, /^route must be one of \/hello, \/slow, \/alloc, \/chain$/],
      [{ fault: 'errors', colour: 'red' }, /^unknown key colour for fault errors \(accepted: route, ratio, for\)$/],
      [{ fault: 'latency', delay: '31s' }, /^delay must be a duration .* at most "30s"$/],
      [{ fault: 'latency', delay: 0 }, /^delay must be/],
      [{ fault: 'cpu', work: '3s' }, /^work must be a duration .* at most "2s"$/],
      [{ fault: 'leak', cap_mib: 2048 }, /^cap_mib must be an integer 1..1024$/],
      [{ fault: 'leak', cap_mib: 1.5 }, /^cap_mib must be/],
      [{ fault: 'dependency', mode: 'slow' }, /^mode must be "error" or "timeout"$/],
      [{ fault: 'errors', for: '2h' }, /^for must be a duration .* at most "1h"$/],
      [{ fault: 'errors', for: 'forever' }, /^for must be/],
      [{ fault: 'errors', on: 'no' }, /^on must be true or false$/],
      [{ fault: 'errors', on: false, ratio: 1 }, /^unknown key ratio: turning a fault off takes only "fault" and "on": false$/],
    ];
    for (const [body, message] of cases) {
      assert.throws(() => parse(body), (e: unknown) => e instanceof FaultRequestError && message.test(e.message) && !e.message.includes('\n'), JSON.stringify(body));
    }
    assert.throws(() => parse({ fault: 'dependency' }, false), /^Error: fault dependency needs a next service/);
  });
});

describe('FaultSwitches', () => {
  function switches() {
    const logs = new LogCapture();
    let now = Date.parse('2026-12-01T23:30:00Z');
    const faults = new FaultSwitches(createLogger(logs), () => now);
    const fault = (i: number) => logs.lines[i]?.msg as Record<string, unknown> | undefined;
    return { faults, logs, fault, advance: (ms: number) => (now += ms) };
  }

  it('shows every kind, null when off, settings and expires_at when on', () => {
    const { faults } = switches();
    try {
      assert.deepEqual(faults.document(), { errors: null, latency: null, leak: null, cpu: null, dependency: null });
      faults.apply(parseFaultChange('{"fault":"latency","route":"/slow","delay":2.5,"for":"5m"}', false));
      assert.deepEqual(faults.document().latency, { route: '/slow', delay: '2500ms', expires_at: '2026-12-01T23:35:00Z' });
      assert.deepEqual(faults.get('latency'), { route: '/slow', delay: 2500 });
    } finally {
      faults.close();
    }
  });

  it('writes one [FAULT] warn line per change', async () => {
    const { faults, logs, fault } = switches();
    try {
      faults.apply(parseFaultChange('{"fault":"errors","ratio":0.25}', false));
      faults.apply(parseFaultChange('{"fault":"errors","on":false}', false));
      faults.apply(parseFaultChange('{"fault":"errors","on":false}', false)); // already off: no change, no line
      await waitUntil('2 log lines', () => logs.lines.length >= 2);
      assert.equal(logs.lines.length, 2);
      assert.deepEqual(fault(0), {
        msg: '[FAULT] errors on route=/hello ratio=0.25 for=10m',
        fault: 'errors',
        state: 'on',
        route: '/hello',
        ratio: 0.25,
        for: '10m',
        expires_at: '2026-12-01T23:40:00Z',
        level: 'warn',
      });
      assert.deepEqual(fault(1), { msg: '[FAULT] errors off (request)', fault: 'errors', state: 'off', reason: 'request', level: 'warn' });
      assert.equal(logs.lines[0]?.level, 40, 'pino level warn');
    } finally {
      faults.close();
    }
  });

  it('expires by itself: the next look after its time turns it off, logged as expired', async () => {
    const { faults, logs, fault, advance } = switches();
    const seen: string[] = [];
    faults.onChange((kind, on) => seen.push(`${kind} ${on ? 'on' : 'off'}`));
    try {
      faults.apply(parseFaultChange('{"fault":"cpu","for":"90s"}', false));
      advance(89_999);
      assert.deepEqual(faults.get('cpu'), { route: '/hello', work: 200 });
      advance(1);
      assert.equal(faults.get('cpu'), undefined);
      assert.equal(faults.document().cpu, null);
      await waitUntil('2 log lines', () => logs.lines.length >= 2);
      assert.deepEqual(fault(1), { msg: '[FAULT] cpu off (expired)', fault: 'cpu', state: 'off', reason: 'expired', level: 'warn' });
      assert.deepEqual(seen, ['cpu on', 'cpu off']);
    } finally {
      faults.close();
    }
  });

  it('expires from its timer with no request at all', async () => {
    const logs = new LogCapture();
    const faults = new FaultSwitches(createLogger(logs));
    try {
      faults.apply({ kind: 'leak', on: true, settings: { cap_mib: 1 }, forMs: 20 });
      await waitUntil('2 log lines', () => logs.lines.length >= 2);
      assert.equal((logs.lines[1]?.msg as Record<string, unknown>).msg, '[FAULT] leak off (expired)');
      assert.equal(faults.document().leak, null);
    } finally {
      faults.close();
    }
  });

  it('publishes which kinds are on after every change, for the gauge', () => {
    const messages: FaultsMessage[] = [];
    const listener = (m: unknown): void => void messages.push(m as FaultsMessage);
    subscribe(FAULTS_CHANNEL, listener);
    const { faults } = switches();
    try {
      faults.apply(parseFaultChange('{"fault":"leak"}', false));
      faults.apply(parseFaultChange('{"fault":"leak","on":false}', false));
    } finally {
      faults.close();
      unsubscribe(FAULTS_CHANNEL, listener);
    }
    const off = Object.fromEntries(FAULT_KINDS.map((k) => [k, false]));
    assert.deepEqual(messages, [off, { ...off, leak: true }, off]);
  });
});

describe('burnCpu', () => {
  it('keeps the thread busy until the asked time has passed', () => {
    const t0 = performance.now();
    burnCpu(50);
    const wallMs = performance.now() - t0;
    assert.ok(wallMs >= 50, `returned after ${wallMs.toFixed(1)} ms`);
  });
});
