/**
 * The global stack: the platform root and the facts every data-center stack reads (domain, data
 * centers, control-plane ports). In managed-root mode the root is `@pulumi/tls`'s PrivateKey and
 * SelfSignedCert with lib/pki's root profile (validity, renewal window, path length): generic X.509
 * work done by a well-kept provider. The issuing CAs stay zeroroot's own (IssuingCa): they carry
 * the per-data-center and per-kind name constraints that tls cannot express.
 */
import * as tls from "@pulumi/tls";
import type * as pulumi from "@pulumi/pulumi";
import type { ResolvedStackConfig } from "../lib/fleet";
import { PROFILES } from "../lib/pki";

export type StackOutputs = Record<string, pulumi.Input<unknown>>;

const HOURS_PER_DAY = 24;

/** The managed root: the key lives only in this stack's state, as a secret. */
export function managedRoot(commonName: string): { certificatePem: pulumi.Output<string> } {
  const p = PROFILES.root;
  const key = new tls.PrivateKey("root-ca-key", { algorithm: "ECDSA", ecdsaCurve: "P256" });
  const cert = new tls.SelfSignedCert("root-ca", {
    privateKeyPem: key.privateKeyPem,
    subject: { commonName },
    isCaCertificate: true,
    maxPathLength: p.pathLen,
    allowedUses: ["cert_signing", "crl_signing"],
    validityPeriodHours: p.validityDays * HOURS_PER_DAY,
    earlyRenewalHours: p.renewBeforeDays * HOURS_PER_DAY,
    setSubjectKeyId: true,
  });
  return { certificatePem: cert.certPem };
}

export function defineGlobal(config: Extract<ResolvedStackConfig, { kind: "global" }>): StackOutputs {
  const rootCa = config.global.rootCa;
  const rootCertificatePem =
    rootCa.mode === "offline"
      ? rootCa.certificate
      : managedRoot(rootCa.commonName ?? `${config.domain} root CA`).certificatePem;
  return {
    rootCertificatePem,
    domain: config.domain,
    dataCenters: config.global.dataCenters,
    controlPlane: config.global.controlPlane,
  };
}
