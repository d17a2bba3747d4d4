import { UNKNOWN, finding, show, type Finding, type Rule } from "../types";
import type { CertificateView } from "../views";

type Kind = "root" | "issuing" | "user" | "computer" | "software" | "service";

export interface CertificateConfig {
  /** Key types strong enough. @default - ec-p256, ec-p384, rsa-3072, rsa-4096 */
  readonly allowedKeyTypes: readonly string[];
  /** Longest validity in days, per kind. */
  readonly maxValidityDays: Readonly<Record<Kind, number>>;
  /** Exact extended key usages per kind (CA certificates carry none). */
  readonly extendedKeyUsage: Readonly<Record<Kind, readonly string[]>>;
}

const meta = {
  name: "certificate",
  description:
    "Checks that every certificate zeroroot issues uses a strong key type, stays within its kind's validity limit, and carries exactly its kind's extended key usages (user and computer: clientAuth; software: codeSigning; service: serverAuth + clientAuth; CAs: none).",
  severity: "high",
  remediation:
    "Use the profile of lib/pki for the kind: keyType ec-p256 (or ec-p384, rsa-3072+), validityDays within the limit, and the kind's extendedKeyUsage list.",
  invariant: "4. Mutual TLS everywhere (certificate hierarchy)",
  defaults: {
    allowedKeyTypes: ["ec-p256", "ec-p384", "rsa-3072", "rsa-4096"],
    maxValidityDays: { root: 7305, issuing: 1827, user: 397, computer: 397, software: 730, service: 397 },
    extendedKeyUsage: {
      root: [],
      issuing: [],
      user: ["clientAuth"],
      computer: ["clientAuth"],
      software: ["codeSigning"],
      service: ["serverAuth", "clientAuth"],
    },
  } as CertificateConfig,
  configSchema: {
    allowedKeyTypes: { type: "array", items: { type: "string" } },
    maxValidityDays: { type: "object", additionalProperties: { type: "integer", minimum: 1 } },
    extendedKeyUsage: { type: "object", additionalProperties: { type: "array", items: { type: "string" } } },
  },
} as const;

export const certificate: Rule<CertificateView, CertificateConfig> = {
  ...meta,
  check(v, c) {
    const out: Finding[] = [];
    const f = (msg: string, path: string) => out.push(finding(meta, msg, v.ref, path));
    if (typeof v.keyType === "string" && !c.allowedKeyTypes.includes(v.keyType))
      f(`keyType is ${show(v.keyType)}; allowed: ${show(c.allowedKeyTypes)}`, "keyType");
    if (v.kind === UNKNOWN || v.kind === undefined) return out;
    if (!(v.kind in c.maxValidityDays)) {
      f(`kind is ${show(v.kind)}; allowed: ${show(Object.keys(c.maxValidityDays))}`, "kind");
      return out;
    }
    const kind = v.kind as Kind;
    const max = c.maxValidityDays[kind];
    if (typeof v.validityDays === "number" && (v.validityDays > max || v.validityDays <= 0))
      f(`validityDays is ${v.validityDays} for a ${kind} certificate; allowed: 1..${max}`, "validityDays");
    if (
      v.extendedKeyUsage !== undefined &&
      v.extendedKeyUsage !== UNKNOWN &&
      !v.extendedKeyUsage.includes(UNKNOWN)
    ) {
      const want = [...c.extendedKeyUsage[kind]].sort();
      const got = [...new Set(v.extendedKeyUsage as string[])].sort();
      if (want.join(",") !== got.join(","))
        f(
          `extendedKeyUsage is ${show(v.extendedKeyUsage)} for a ${kind} certificate; required: ${show(want)}`,
          "extendedKeyUsage",
        );
    }
    return out;
  },
};
