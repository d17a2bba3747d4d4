import { X509Certificate, createHash } from "node:crypto";
import { UNKNOWN, finding, show, type Finding, type Rule } from "../types";
import type { FleetView, InstanceView, ReleaseView } from "../views";

export interface AuthorisedSigner {
  /** SHA-256 of the signer certificate's DER, hex (colons and case ignored). */
  readonly fingerprint: string;
  /** Release names this signer may sign. @default - every release ("*") */
  readonly releases?: readonly string[];
  /** Who this is, for messages. */
  readonly description?: string;
}

export interface SignedSoftwareConfig {
  /** Software-signing certificates of authorised administrators. @default - none: nothing is authorised */
  readonly authorisedSigners: readonly AuthorisedSigner[];
  /**
   * When an instance names a release that no SoftwareRelease in scope declares: `refuse` reports it;
   * `ignore` leaves it to the run that sees the releases (e.g. `zeroroot policy check --all`).
   * @default - "refuse"
   */
  readonly releasesOutOfScope: "refuse" | "ignore";
  /** Evaluation time (ms since epoch) for certificate expiry; tests pin it. @default - now */
  readonly now?: number;
}

const CODE_SIGNING = "1.3.6.1.5.5.7.3.3";

const meta = {
  name: "signed-software",
  description:
    "Checks that every software release an instance runs is declared as a SoftwareRelease carrying a signature and a valid, unexpired code-signing certificate whose SHA-256 fingerprint is an authorised signer for that release name.",
  severity: "critical",
  remediation:
    "Sign the release manifest with `zeroroot release sign` using an authorised administrator's software-signing certificate, declare it as a SoftwareRelease, and list the signer's fingerprint in the signed-software policy config (authorisedSigners).",
  invariant: "5. Signed software only",
  defaults: { authorisedSigners: [], releasesOutOfScope: "refuse" } as SignedSoftwareConfig,
  configSchema: {
    authorisedSigners: {
      type: "array",
      items: {
        type: "object",
        properties: {
          fingerprint: { type: "string" },
          releases: { type: "array", items: { type: "string" } },
          description: { type: "string" },
        },
        required: ["fingerprint"],
      },
    },
    releasesOutOfScope: { type: "string", enum: ["refuse", "ignore"] },
  },
} as const;

const normFp = (s: string) => s.replace(/[:\s]/g, "").toLowerCase();

/** SHA-256 fingerprint (hex) of a PEM certificate's DER. */
export function certificateFingerprint(pem: string): string {
  const b64 = pem.replace(/-----(BEGIN|END) CERTIFICATE-----/g, "").replace(/\s+/g, "");
  return createHash("sha256").update(Buffer.from(b64, "base64")).digest("hex");
}

function judgeRelease(r: ReleaseView, c: SignedSoftwareConfig): string[] {
  const problems: string[] = [];
  if (r.signature !== UNKNOWN && (typeof r.signature !== "string" || r.signature.trim() === ""))
    problems.push("signature is missing");
  if (r.signerCertificatePem === UNKNOWN) return problems;
  if (typeof r.signerCertificatePem !== "string" || !r.signerCertificatePem.includes("BEGIN CERTIFICATE")) {
    problems.push("signerCertificatePem is missing or not a PEM certificate");
    return problems;
  }
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(r.signerCertificatePem);
  } catch {
    problems.push("signerCertificatePem does not parse as an X.509 certificate");
    return problems;
  }
  const ekus = cert.keyUsage as string[] | undefined;
  if (ekus && !ekus.includes(CODE_SIGNING))
    problems.push("the signer certificate lacks the codeSigning extended key usage");
  const now = c.now ?? Date.now();
  if (Date.parse(cert.validTo) < now) problems.push(`the signer certificate expired on ${cert.validTo}`);
  const fp = certificateFingerprint(r.signerCertificatePem);
  const signer = c.authorisedSigners.find((s) => normFp(s.fingerprint) === fp);
  if (!signer)
    problems.push(`signer ${cert.subject.replace(/\n/g, ", ")} (sha256 ${fp}) is not an authorised signer`);
  else if (
    signer.releases &&
    !signer.releases.includes("*") &&
    typeof r.name === "string" &&
    !signer.releases.includes(r.name)
  )
    problems.push(`signer ${signer.description ?? fp} is not authorised for release ${show(r.name)}`);
  return problems;
}

export const signedSoftware: Rule<FleetView, SignedSoftwareConfig> = {
  ...meta,
  check(fleet, c) {
    const out: Finding[] = [];
    const verdicts = new Map<ReleaseView, string[]>();
    for (const r of fleet.releases) {
      const problems = judgeRelease(r, c);
      verdicts.set(r, problems);
      for (const p of problems)
        out.push(finding(meta, `release ${show(r.name)} ${show(r.version)}: ${p}`, r.ref));
    }
    for (const ds of fleet.desiredStates) {
      if (ds.instances === UNKNOWN) continue;
      for (const inst of ds.instances) {
        if (inst === UNKNOWN) continue;
        const msg = judgeInstance(inst, fleet.releases, c);
        if (msg) out.push(finding(meta, msg, inst.ref, `${inst.path}.release`));
      }
    }
    return out;
  },
};

function judgeInstance(
  inst: InstanceView,
  releases: readonly ReleaseView[],
  c: SignedSoftwareConfig,
): string | undefined {
  const rel = inst.release;
  const where = `${inst.path} (${show(inst.name)})`;
  if (rel === UNKNOWN) return undefined;
  if (rel === undefined) return `${where} names no release`;
  if (rel.name === UNKNOWN || rel.version === UNKNOWN || rel.manifestDigest === UNKNOWN) return undefined;
  const candidates = releases.filter((r) => r.name === rel.name && r.version === rel.version);
  if (candidates.some((r) => r.name === UNKNOWN || r.version === UNKNOWN || r.manifestDigest === UNKNOWN))
    return undefined;
  const match = candidates.find((r) => r.manifestDigest === rel.manifestDigest);
  if (!match) {
    if (candidates.length > 0)
      return `${where} runs ${show(rel.name)} ${show(rel.version)} with manifest digest ${show(rel.manifestDigest)}, which differs from the signed release's`;
    if (c.releasesOutOfScope === "ignore") return undefined;
    return `${where} runs ${show(rel.name)} ${show(rel.version)}, which no SoftwareRelease in scope declares (unsigned or undeclared)`;
  }
  return undefined; // the release's own findings say whether it is properly signed
}
