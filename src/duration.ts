/**
 * The one duration form lgtmp accepts from people: `90s`, `5m`, `1h` or a plain number of seconds
 * (whole numbers). The CLI flags, the tours and the apps' fault switches (`"for": "10m"`) all use it.
 */
export const DURATION_FORM = '90s, 5m, 1h or a number of seconds';

const UNIT_MS = { s: 1000, m: 60_000, h: 3_600_000 } as const;

/** Milliseconds, or undefined when the text is not in the form above. */
export function parseDuration(text: string): number | undefined {
  const m = /^(\d+)([smh]?)$/.exec(text);
  if (!m) return undefined;
  return Number(m[1]) * UNIT_MS[(m[2] || 's') as keyof typeof UNIT_MS];
}

