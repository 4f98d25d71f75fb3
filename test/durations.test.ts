// The two duration readers: lgtmp's own (flags, tours, fault switches) and Grafana's (datasource time shifts),
// each as one table, so a difference between them is visible in one place.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { parseDuration } from '../src/duration.js';
import { grafanaIntervalMs } from '../src/verify/grafana-interval.js';

describe("lgtmp's duration form (src/duration.ts)", () => {
  const table: Array<[string, number | undefined]> = [
    ['90', 90_000],
    ['90s', 90_000],
    ['5m', 300_000],
    ['1h', 3_600_000],
    ['0', 0],
    ['1.5h', undefined],
    ['-5m', undefined],
    ['250ms', undefined],
    ['5m30s', undefined],
    [' 5m', undefined],
    ['5 m', undefined],
    ['2d', undefined],
    ['', undefined],
  ];
  for (const [text, ms] of table) it(`"${text}" -> ${ms ?? 'refused'}`, () => assert.equal(parseDuration(text), ms));
});

// Expected values follow rangeUtil.describeInterval of packages/grafana-data/src/datetime/rangeutil.ts at v13.2.1.
describe("Grafana's reading of a datasource duration (src/verify/grafana-interval.ts)", () => {
  const table: Array<[string, number | undefined]> = [
    ['30m', 1_800_000],
    ['-5m', -300_000],
    ['5m', 300_000],
    ['90', 90_000],
    ['1.5', 1000],
    ['1.5h', 3_600_000],
    ['250ms', 250],
    ['2d', 172_800_000],
    ['1w', 604_800_000],
    ['1M', 2_592_000_000],
    ['1y', 31_536_000_000],
    ['5m30s', 300_000],
    ['in 10s', 10_000],
    ['0', undefined],
    ['', undefined],
    ['soon', undefined],
  ];
  for (const [text, ms] of table) {
    it(`"${text}" -> ${ms ?? 'an error'}`, () => {
      if (ms === undefined) assert.throws(() => grafanaIntervalMs(text), /not a duration Grafana reads/);
      else assert.equal(grafanaIntervalMs(text), ms);
    });
  }
});
