/** One problem with hardened-image arguments: where, what was received, what is allowed, how to fix. */
export interface SpecIssue {
  readonly path: string;
  readonly received: string;
  readonly allowed: string;
  readonly fix: string;
}

/** The arguments of a hardened image were refused; `issues` lists every problem found. */
export class HardeningSpecError extends Error {
  constructor(readonly issues: readonly SpecIssue[]) {
    super(
      `hardened image spec refused (${issues.length} problem${issues.length === 1 ? "" : "s"}):\n` +
        issues
          .map((i) => `  - ${i.path}: received ${i.received}; allowed: ${i.allowed}; fix: ${i.fix}`)
          .join("\n"),
    );
    this.name = "HardeningSpecError";
  }
}
