/**
 * How daqctl ends: one exit code per kind of outcome, so a script can branch on it (documented in
 * docs/daqctl.md): 0 done; 1 daqd refused or the result is a failure (a failed reload, an instrument
 * that did not connect, an aborted operation, or no daqd could be reached: the request failed, as
 * the contract's 0/1/2 says); 2 a usage error (nothing was sent, or nothing was changed).
 */

export const EXIT = { ok: 0, failed: 1, usage: 2 } as const;

/** A mistake on the command line: exit 2, nothing was changed. `usage` is the command's usage line. */
export class UsageError extends Error {
  constructor(
    message: string,
    readonly usage?: string,
  ) {
    super(message);
    this.name = 'UsageError';
  }
}

/** daqd answered, but the outcome is a failure that is not an RPC error (e.g. "aborted"): exit 1. */
export class Failure extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'Failure';
  }
}

/** No daqd answered at any socket tried: exit 1 (the request failed). The message names every path tried. */
export class Unreachable extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'Unreachable';
  }
}
