// Prometheus query API client (Mimir serves it under /prometheus; the harness's Prometheus peer
// at the root): instant and range queries, exemplars, label values.
import { requestJson, type Backend } from './http.js';

export interface Sample {
  metric: Record<string, string>;
  value: number;
}

export interface RangeSeries {
  metric: Record<string, string>;
  values: Array<[number, number]>;
}

export interface ExemplarSeries {
  seriesLabels: Record<string, string>;
  exemplars: Array<{ labels: Record<string, string>; value: number; timestampMs: number }>;
}

interface ApiResponse<T> {
  status: 'success' | 'error';
  data: T;
  error?: string;
  errorType?: string;
}

export class PrometheusClient {
  constructor(
    readonly base: string,
    readonly backend: Backend = { name: 'Mimir', flag: '--prometheus-url' },
  ) {}

  /** Instant query evaluated at the server's "now" (time omitted) unless timeSec is given. */
  async query(expr: string, timeSec?: number): Promise<Sample[]> {
    const res = await requestJson<ApiResponse<{ resultType: string; result: Array<{ metric: Record<string, string>; value: [number, string] }> | [number, string] }>>(
      this.backend,
      this.base,
      '/api/v1/query',
      { params: { query: expr, time: timeSec } },
    );
    if (res.status !== 'success') throw new Error(`${this.backend.name} query error: ${res.error ?? 'unknown'}`);
    if (res.data.resultType === 'scalar') {
      const v = res.data.result as [number, string];
      return [{ metric: {}, value: Number(v[1]) }];
    }
    return (res.data.result as Array<{ metric: Record<string, string>; value: [number, string] }>).map((r) => ({
      metric: r.metric,
      value: Number(r.value[1]),
    }));
  }

  async queryRange(expr: string, startSec: number, endSec: number, stepSec: number): Promise<RangeSeries[]> {
    const res = await requestJson<ApiResponse<{ result: Array<{ metric: Record<string, string>; values: Array<[number, string]> }> }>>(
      this.backend,
      this.base,
      '/api/v1/query_range',
      { params: { query: expr, start: startSec, end: endSec, step: stepSec } },
    );
    if (res.status !== 'success') throw new Error(`${this.backend.name} query error: ${res.error ?? 'unknown'}`);
    return res.data.result.map((r) => ({ metric: r.metric, values: r.values.map(([t, v]) => [t, Number(v)] as [number, number]) }));
  }

  async exemplars(expr: string, startMs: number, endMs: number): Promise<ExemplarSeries[]> {
    const res = await requestJson<ApiResponse<Array<{ seriesLabels: Record<string, string>; exemplars: Array<{ labels: Record<string, string>; value: string; timestamp: number }> }> | null>>(
      this.backend,
      this.base,
      '/api/v1/query_exemplars',
      { params: { query: expr, start: Math.floor(startMs / 1000), end: Math.ceil(endMs / 1000) } },
    );
    if (res.status !== 'success') throw new Error(`${this.backend.name} exemplar query error: ${res.error ?? 'unknown'}`);
    return (res.data ?? []).map((s) => ({
      seriesLabels: s.seriesLabels,
      exemplars: (s.exemplars ?? []).map((e) => ({ labels: e.labels, value: Number(e.value), timestampMs: Math.round(e.timestamp * 1000) })),
    }));
  }

  async labelValues(label: string): Promise<string[]> {
    const res = await requestJson<ApiResponse<string[]>>(this.backend, this.base, `/api/v1/label/${encodeURIComponent(label)}/values`);
    return res.data ?? [];
  }
}
