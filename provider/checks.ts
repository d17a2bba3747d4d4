/**
 * Small input checks for `check`: each returns a failure naming the property, the value received
 * (escaped, bounded) and what is allowed, so `pulumi preview` says what to fix before anything runs.
 */
import { PROFILES, renewalDue as pkiRenewalDue, type ProfileName } from "../lib/pki";
import type { CheckFailure, Props } from "./types";

export const shown = (v: unknown): string => {
  const s = JSON.stringify(v) ?? String(v);
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
};

export class Checker {
  readonly failures: CheckFailure[] = [];
  constructor(private readonly p: Props) {}

  fail(property: string, reason: string): void {
    this.failures.push({ property, reason });
  }

  text(k: string, max = 256): void {
    const v = this.p[k];
    if (typeof v !== "string" || v.length === 0 || v.length > max)
      this.fail(k, `${k} is ${shown(v)}; give a non-empty string of at most ${max} characters`);
  }

  oneOf(k: string, allowed: readonly unknown[]): void {
    if (!allowed.includes(this.p[k]))
      this.fail(k, `${k} is ${shown(this.p[k])}; allowed: ${allowed.map((a) => shown(a)).join(", ")}`);
  }

  int(k: string, min: number, max: number): void {
    const v = this.p[k];
    if (typeof v !== "number" || !Number.isInteger(v) || v < min || v > max)
      this.fail(k, `${k} is ${shown(v)}; give a whole number in ${min}..${max}`);
  }

  texts(k: string, maxItems = 100): void {
    const v = this.p[k];
    if (!Array.isArray(v) || v.length > maxItems || v.some((x) => typeof x !== "string"))
      this.fail(k, `${k} is ${shown(v)}; give a list of at most ${maxItems} strings`);
  }

  pem(k: string, label = "CERTIFICATE"): void {
    const v = this.p[k];
    if (typeof v !== "string" || !v.includes(`-----BEGIN ${label}-----`) || v.length > 65_536)
      this.fail(k, `${k} is not a PEM ${label.toLowerCase()} (at most 64 KiB); give the PEM text`);
  }

  result(inputs: Props): { inputs: Props; failures: CheckFailure[] } {
    return { inputs, failures: this.failures };
  }
}

/** lib/pki's renewal rule over stored values; an unreadable date counts as due (a new one is made). */
export function renewalDue(profile: ProfileName, notAfter: unknown, renewBeforeDays: unknown): boolean {
  const end = new Date(String(notAfter));
  if (Number.isNaN(end.getTime())) return true;
  const p = PROFILES[profile];
  return pkiRenewalDue(end, p, new Date(), typeof renewBeforeDays === "number" ? renewBeforeDays : undefined);
}
