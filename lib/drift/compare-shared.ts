/**
 * What the per-source comparisons share: how they add a finding, certificate expiry (reported by
 * the agent and seen by the TLS probe alike), and the fallback to the server's line.
 */
import { DRIFT_CHECKS as C, type CheckMeta } from "./checks";
import type { ConfigLocation, DesiredServer } from "./desired";
import type { FindingInput } from "./findings";

export type Add = (check: CheckMeta, f: FindingInput) => void;

const DAY_MS = 86_400_000;

/** A location with a line, or the fallback (which has the server's line). */
export const lined = (l: ConfigLocation, fallback: ConfigLocation): ConfigLocation => (l.line ? l : fallback);

export function expiry(
  d: DesiredServer,
  subject: string,
  notAfter: string,
  now: number,
  add: Add,
  location?: ConfigLocation,
): void {
  const t = Date.parse(notAfter);
  const days = d.drift.certificateWarningDays;
  if (Number.isNaN(t)) {
    add(C.certificateExpiry, {
      subject,
      message: `${subject} has an unreadable expiry date`,
      observed: notAfter,
      desired: "a date",
    });
    return;
  }
  if (t - now > days * DAY_MS) return;
  const left = (t - now) / DAY_MS;
  add(C.certificateExpiry, {
    subject,
    message:
      left <= 0
        ? `${subject} expired on ${notAfter}`
        : `${subject} expires on ${notAfter}, in ${left.toFixed(1)} days; warning from ${days} days`,
    observed: `notAfter ${notAfter}`,
    desired: `more than ${days} days of validity`,
    location: location ?? lined(d.driftLocation, d.location),
  });
}
