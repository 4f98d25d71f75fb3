// Output of `lgtmp verify`: a table for people (evidence, cause, link per check) or JSON.
import type { CheckResult } from './result.js';

const MARK: Record<CheckResult['status'], string> = { pass: 'pass', fail: 'FAIL', unreachable: 'not reachable', 'not set up': 'not set up' };

export interface Summary {
  /** Every check passed or is not set up (a link the service does not use is no failure), at least one passed. */
  ok: boolean;
  pass: number;
  fail: number;
  unreachable: number;
  notSetUp: number;
}

export function summarize(results: CheckResult[]): Summary {
  const count = (s: CheckResult['status']) => results.filter((r) => r.status === s).length;
  const s = { pass: count('pass'), fail: count('fail'), unreachable: count('unreachable'), notSetUp: count('not set up') };
  return { ok: s.pass > 0 && s.fail === 0 && s.unreachable === 0, ...s };
}

/** Text broken into lines of at most `width` characters at spaces (a longer word gets its own line). */
export function wrap(text: string, width: number): string[] {
  const words = text.split(' ');
  const lines: string[] = [];
  let cur = '';
  for (const w of words) {
    if (cur && cur.length + 1 + w.length > width) {
      lines.push(cur);
      cur = w;
    } else cur = cur ? `${cur} ${w}` : w;
  }
  if (cur) lines.push(cur);
  return lines.length ? lines : [''];
}

export function renderTable(results: CheckResult[], o: { links?: boolean; width?: number } = {}): string {
  const width = Math.max(100, o.width ?? 120);
  const c1 = Math.max(5, ...results.map((r) => r.check.length));
  const c2 = Math.max(7, ...results.map((r) => r.service.length));
  const c3 = 13;
  const indent = c1 + c2 + c3 + 6;
  const evWidth = Math.max(40, width - indent);
  const pad = (s: string, n: number) => s.padEnd(n);
  const lines = [`${pad('CHECK', c1)}  ${pad('SERVICE', c2)}  ${pad('RESULT', c3)}  EVIDENCE`];
  const refs: string[] = [];
  for (const r of results) {
    let evidence = r.evidence;
    if (o.links !== false && r.link) {
      refs.push(r.link);
      evidence += ` [${refs.length}]`;
    }
    const ev = wrap(evidence, evWidth);
    lines.push(`${pad(r.check, c1)}  ${pad(r.service, c2)}  ${pad(MARK[r.status], c3)}  ${ev[0]}`);
    for (const more of ev.slice(1)) lines.push(`${' '.repeat(indent)}${more}`);
    if (r.cause) {
      const cause = wrap(`cause: ${r.cause}`, evWidth);
      for (const l of cause) lines.push(`${' '.repeat(indent)}${l}`);
    }
  }
  const s = summarize(results);
  lines.push('');
  const notSetUp = s.notSetUp > 0 ? `, ${s.notSetUp} not set up` : '';
  lines.push(`${s.pass} passed, ${s.fail} failed, ${s.unreachable} not reachable${notSetUp}${s.ok ? (s.notSetUp > 0 ? ': every link the service sends data for works' : ': every correlation works') : ''}`);
  if (refs.length > 0) {
    lines.push('', 'Grafana links (Explore, the page a person would open for each check):');
    refs.forEach((l, i) => lines.push(`[${i + 1}] ${l}`));
  }
  return lines.join('\n');
}

export function renderJson(results: CheckResult[], meta: Record<string, unknown>): string {
  return JSON.stringify({ ...meta, summary: summarize(results), results }, null, 2);
}
