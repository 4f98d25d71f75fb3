// Which checks run for which service: the demo checks for our four apps, the generic checks
// (verify/byo/) for any other service, or for every service when `generic` is asked for.
import { GENERIC_CHECKS } from './byo/checks.js';
import { CHECKS, runCheck, SERVICES, STACK, type CheckDef } from './checks.js';
import type { VerifyContext } from './context.js';
import type { CheckResult } from './result.js';

export interface RunOptions {
  services: string[];
  checks?: string[];
  /** Run the generic checks for the demo apps too (what a service of your own gets). */
  generic?: boolean;
}

/** Every check name --check accepts: the demo checks' and the generic ones'. */
export const CHECK_NAMES: string[] = [...new Set([...CHECKS, ...GENERIC_CHECKS].map((c) => c.name))];

/** Whether a service gets the generic checks. */
export const isGeneric = (svc: string, o: Pick<RunOptions, 'generic'> = {}) => o.generic === true || !SERVICES.includes(svc);

export function selectedChecks(o: RunOptions): Array<{ def: CheckDef; service: string }> {
  const wanted = (defs: CheckDef[]) => (o.checks && o.checks.length > 0 ? defs.filter((c) => o.checks!.includes(c.name)) : defs);
  const services = o.services.filter((svc) => svc !== STACK);
  const stack = wanted(CHECKS).filter((def) => def.scope === 'stack').map((def) => ({ def, service: STACK }));
  // check by check, as the report reads best: every service's row of one link together
  const rows = (defs: CheckDef[], svcs: string[]) => wanted(defs).flatMap((def) => svcs.filter((svc) => !def.appliesTo || def.appliesTo(svc)).map((service) => ({ def, service })));
  const perService = [
    ...rows(CHECKS.filter((def) => def.scope !== 'stack'), services.filter((svc) => !isGeneric(svc, o))),
    ...rows(GENERIC_CHECKS, services.filter((svc) => isGeneric(svc, o))),
  ];
  return [...stack, ...perService];
}

export async function runChecks(ctx: VerifyContext, o: RunOptions): Promise<CheckResult[]> {
  const results: CheckResult[] = [];
  for (const { def, service } of selectedChecks(o)) results.push(await runCheck(ctx, def, service));
  return results;
}
