/**
 * A refusal of the client kit a user can act on: what was wrong, what was received (escaped), how to
 * fix it. `usage` for a wrong argument, `refused` for an input that fails a check (a certificate of
 * another user, a key that does not match), `environment` for what the machine refuses (permissions).
 */
export type KitErrorKind = "usage" | "refused" | "environment";

export class KitError extends Error {
  constructor(
    message: string,
    readonly kind: KitErrorKind = "refused",
  ) {
    super(message);
    this.name = "KitError";
  }
}
