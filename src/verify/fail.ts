// A failed check: what was seen (evidence) and the most likely cause, thrown by checks and by the
// shared lookups they use.
export class Fail extends Error {
  constructor(
    readonly evidence: string,
    readonly why: string,
  ) {
    super(evidence);
  }
}

/** A check that does not apply: the service sends nothing the link could use; `why` says what to add. */
export class NotSetUp extends Fail {}
