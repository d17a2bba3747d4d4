/**
 * Exemptions as code: reviewed in pull requests like any other change. Each names the rule, the
 * resource (URN, or the resource name), why, and until when. An expired exemption no longer exempts
 * anything and is itself a violation of the `exemptions` policy, so it cannot be forgotten.
 */

export interface Exemption {
  /** Rule (policy) name, e.g. "zero-root". */
  readonly rule: string;
  /** Resource URN, or the resource's name (matches every stack's resource of that name). */
  readonly resource: string;
  /** Why the exemption is acceptable, and what will end it. */
  readonly reason: string;
  /** Last day the exemption applies, ISO date `YYYY-MM-DD` (UTC, inclusive). */
  readonly expires: string;
  /** Who approved it (optional). */
  readonly approvedBy?: string;
}

/** The project's exemptions. Empty: every rule applies to every resource. */
export const EXEMPTIONS: readonly Exemption[] = [];

const DATE = /^\d{4}-\d{2}-\d{2}$/;

/** End of the expiry day in ms, or NaN when the date is malformed. */
export function expiryTime(e: Exemption): number {
  if (!DATE.test(e.expires)) return NaN;
  return Date.parse(`${e.expires}T23:59:59.999Z`);
}

export function isExpired(e: Exemption, now: number): boolean {
  const t = expiryTime(e);
  return Number.isNaN(t) || t < now;
}

/** The live exemption covering (rule, resource), if any. */
export function findExemption(
  exemptions: readonly Exemption[],
  rule: string,
  resource: { urn: string; name: string },
  now: number,
): Exemption | undefined {
  return exemptions.find(
    (e) =>
      e.rule === rule && (e.resource === resource.urn || e.resource === resource.name) && !isExpired(e, now),
  );
}

/** Problems with the exemption list itself: expired, malformed, unknown rule, no reason. */
export function exemptionProblems(
  exemptions: readonly Exemption[],
  ruleNames: readonly string[],
  now: number,
): string[] {
  const out: string[] = [];
  exemptions.forEach((e, i) => {
    const where = `policies/exemptions.ts EXEMPTIONS[${i}] (rule ${JSON.stringify(e.rule)}, resource ${JSON.stringify(e.resource)})`;
    if (!ruleNames.includes(e.rule)) out.push(`${where}: unknown rule; allowed: ${ruleNames.join(", ")}`);
    if (!e.resource) out.push(`${where}: resource is empty; name a URN or resource name`);
    if (!e.reason || e.reason.trim().length < 10)
      out.push(`${where}: reason is missing or too short; say why and what ends it`);
    if (!DATE.test(e.expires))
      out.push(`${where}: expires is ${JSON.stringify(e.expires)}; required: a date YYYY-MM-DD`);
    else if (isExpired(e, now))
      out.push(
        `${where}: expired on ${e.expires}; fix the resource and delete the exemption, or renew it with a new reason`,
      );
  });
  return out;
}
