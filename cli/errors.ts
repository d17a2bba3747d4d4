/**
 * Errors a user can act on. The CLI prints their message (never a stack trace) and exits with
 * their code. Anything else reaching the top level is a zeroroot bug and is printed in full.
 *
 * Exit codes (documented in README "CLI"):
 *   0 success · 1 the thing checked is invalid / a check failed · 2 usage error (bad command line)
 *   3 environment problem (missing tool, not root, unreachable peer) · 70 internal error (a bug)
 */

/** Exit code of an error that is not a UserError: a zeroroot bug, printed with its stack (EX_SOFTWARE). */
export const EXIT_INTERNAL = 70;

export class UserError extends Error {
  constructor(
    message: string,
    readonly exitCode: 1 | 2 | 3 = 1,
  ) {
    super(message);
    this.name = "UserError";
  }
}

/** A bad command line: unknown option, missing argument, conflicting flags. */
export class UsageError extends UserError {
  constructor(message: string) {
    super(message, 2);
    this.name = "UsageError";
  }
}

/** The machine lacks something the command needs (a tool, root, a reachable peer). */
export class EnvironmentError extends UserError {
  constructor(message: string) {
    super(message, 3);
    this.name = "EnvironmentError";
  }
}
