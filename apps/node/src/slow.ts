// The work behind GET /slow: the seed's deliberately bad e-mail regex, run on V8's backtracking
// regex engine (Irregexp).
//
// How the work is bounded. The nested quantifiers `(\w+([-.][A-Za-z0-9]+)*){3,18}` let the engine
// split the local part of the address in exponentially many ways before the match fails on the
// `¿` near the end of the seed's sample. On V8 the cost roughly doubles with every character of the
// local part (measured on one core: 12 chars ~0.6 ms per match, 16 chars ~12 ms, 20 chars ~150 ms,
// 22 chars ~1 s); the seed's full 28-character local part would take minutes per match and block
// the event loop all that time. So we keep the seed's regex and the domain half of its sample
// unchanged, cut the local part to its first SLOW_LOCAL_PART_CHARS characters (one match ~0.6 ms),
// and repeat the match `iterations` times (SLOW_ITERATIONS, default 2000: ~1-2 s; `?iterations=`
// 1..100000). The time is spent inside `checkEmail` -> RegExp.prototype.test, which is what the
// span's flame graph shows. The whole request is synchronous: while it runs, Node's single event
// loop serves nothing else, which is exactly what a ReDoS does to a Node.js service.

import type { RegexMode } from './config.js';

/** The seed's regex, verbatim. */
export const BAD_EMAIL_REGEX = /^(\w+([-.][A-Za-z0-9]+)*){3,18}@\w+([-.][A-Za-z0-9]+)*\.\w+([-.][A-Za-z0-9]+)*$/;

/** The seed's crafted bad sample, verbatim. */
export const SEED_SAMPLE = 'rosamariachoccelahuaaranda70@gmail.comnnbbb.bbNG.bbb.n¿.?n';

/** Characters of the sample's local part kept (see the comment at the top of this file). */
export const SLOW_LOCAL_PART_CHARS = 12;

const at = SEED_SAMPLE.indexOf('@');
/** `rosamariacho@gmail.comnnbbb.bbNG.bbb.n¿.?n`: what /slow checks each iteration. */
export const SLOW_SAMPLE = SEED_SAMPLE.slice(0, Math.min(at, SLOW_LOCAL_PART_CHARS)) + SEED_SAMPLE.slice(at);

/**
 * The "fix" of the tour (REGEX_MODE=fixed): the same check written without nested quantifiers.
 * Every character can be consumed in only one way, so V8 needs one pass (linear time) instead of
 * trying exponentially many splits of the local part.
 */
export const FIXED_EMAIL_REGEX = /^\w[\w.-]{2,63}@[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+)+$/;

/** Checks one address: with the seed's bad regex (mode `bad`) or the linear one (`fixed`). */
export function checkEmail(email: string, mode: RegexMode): boolean {
  if (mode === 'fixed') return FIXED_EMAIL_REGEX.test(email);
  return BAD_EMAIL_REGEX.test(email);
}

export interface SlowResult {
  iterations: number;
  mode: RegexMode;
  valid: number;
  durationMs: number;
}

/** Runs `checkEmail` over the bounded sample `iterations` times (synchronously). */
export function runSlowWork(iterations: number, mode: RegexMode, sample: string = SLOW_SAMPLE): SlowResult {
  const started = performance.now();
  let valid = 0;
  for (let i = 0; i < iterations; i++) {
    if (checkEmail(sample, mode)) valid++;
  }
  return { iterations, mode, valid, durationMs: Math.round((performance.now() - started) * 10) / 10 };
}
