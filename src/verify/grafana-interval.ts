// How Grafana reads a duration written in a datasource's settings (tracesToLogsV2/tracesToMetrics/traceQuery
// time shifts): rangeUtil.intervalToMs, packages/grafana-data/src/datetime/rangeutil.ts (describeInterval) at
// v13.2.1 (GRAFANA_VERSION in .env). Its reading is looser than lgtmp's own flags (src/duration.ts), and a link
// check must use Grafana's, since it is Grafana that opens the link:
// - a text that Number() reads as non-zero is that many seconds, its integer part ("90" = 90 s, "1.5" = 1 s);
// - otherwise the first `<number><unit>` anywhere in the text counts, unit one of ms s m h d w M y (M = 30 d,
//   y = 365 d), and only the number's integer part ("1.5h" = 1 h, "-5m" = -5 min, "5m30s" = 5 min);
// - anything else (including "0") is an error; Grafana then shows no link.

const UNIT_SECONDS: Record<string, number> = { y: 31_536_000, M: 2_592_000, w: 604_800, d: 86_400, h: 3600, m: 60, s: 1, ms: 0.001 };

/** Milliseconds, as Grafana computes them; throws where Grafana's parser throws. */
export function grafanaIntervalMs(text: string): number {
  if (Number(text)) return Number.parseInt(text, 10) * 1000;
  const m = /(-?\d+(?:\.\d+)?)(ms|[Mwdhmsy])/.exec(text);
  if (!m) throw new Error(`not a duration Grafana reads: "${text}" (use e.g. 30s, 5m, 1h)`);
  return UNIT_SECONDS[m[2]!]! * 1000 * Number.parseInt(m[1]!, 10);
}
