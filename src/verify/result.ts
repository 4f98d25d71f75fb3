// A check's row in `lgtmp verify`'s report: shared by the demo checks, the checks for a service of
// your own (verify/byo/) and the pure judgements the examples' tests call.

/**
 * pass: the link works on data. fail: it does not, cause says why. unreachable: a backend did not
 * answer, no verdict. not set up: the service sends nothing this link could use (no profiles, an
 * SDK that records no exemplars, no calls to or from other services); cause says what to add.
 */
export type Status = 'pass' | 'fail' | 'unreachable' | 'not set up';

export interface CheckResult {
  check: string;
  service: string;
  status: Status;
  evidence: string;
  cause?: string;
  link: string;
}
