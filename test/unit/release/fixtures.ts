/** CA material for the release and desired-state tests, made once per suite with lib/pki. */
import * as pki from "../../../lib/pki";
import { nodeIdentity } from "../../../lib/agent/identity";
import {
  PARTITION_USER,
  RELEASE_KIND,
  digestBytes,
  type ReleaseManifest,
  type Signer,
} from "../../../lib/release";
import { forge } from "../pki/forge";

export interface Party extends Signer {
  readonly serial: string;
}

export interface Hierarchy {
  readonly rootPem: string;
  readonly issuingPem: string;
  readonly issuing: pki.CertificateAuthority;
  /** Software-signing certificates of dc1 (dc1/software/alice, …). */
  readonly alice: Party;
  readonly bob: Party;
  readonly controlPlane: Party;
  /** A service certificate of dc1 (serverAuth + clientAuth, no codeSigning). */
  readonly service: Party;
  /** A software-signing certificate whose validity ended yesterday. */
  readonly expired: Party;
  /** A software-signing certificate named "alice", from another hierarchy. */
  readonly foreignAlice: Party;
  /** dc2's software-signing certificate named "alice": same name, another data center. */
  readonly dc2Alice: Party;
  /** dc2/software/state-signer-dc2: authorised (in tests) for dc2's desired state only. */
  readonly dc2StateSigner: Party;
  /** dc1/computer/dc1-s01 and dc2/computer/dc2-s01. */
  readonly computer: Party;
  readonly dc2Computer: Party;
  /**
   * A software-signing certificate "control-plane-dc1" minted by dc1's online site CA (which may only
   * issue computer and service certificates): issuance refuses it, so it is forged with that CA's key,
   * as a compromised site would.
   */
  readonly mintedByOnlineCa: Party;
  /** A codeSigning certificate whose identity is a computer's (dc1/computer/dc1-s09), forged by dc1's CA. */
  readonly codeSigningComputer: Party;
  /** A CRL of dc1 revoking `bob`. */
  readonly crlRevokingBob: string;
  /** A CRL of dc1 revoking nobody. */
  readonly emptyCrl: string;
}

/** A leaf of `profile` named `cn`, issued by `ca` the way lib/pki issues it. */
export function leaf(
  ca: pki.CertificateAuthority,
  profile: pki.ProfileName,
  cn: string,
  now?: Date,
  validityDays?: number,
): Party {
  const keys = pki.generateKeyPair("ec-p256");
  const csr = pki.createCsr({ commonName: cn }, keys.privateKey);
  const issued = pki.issueFromCsr(ca, profile, csr, { commonName: cn, validityDays }, { now });
  return {
    privateKey: keys.privateKey,
    certificatePem: issued.certificatePem,
    chainPem: ca.certificatePem,
    serial: issued.serial,
  };
}

/** A data center's issuing CA (zone `<dc>.zeroroot.example`), for `kinds` (default: every kind). */
export function issuingCa(
  root: pki.CertificateAuthority,
  dc: string,
  kinds?: readonly pki.LeafKind[],
): pki.CertificateAuthority {
  const keys = pki.generateKeyPair("ec-p256");
  const csr = pki.createCsr({ commonName: `zeroroot ${dc} issuing CA` }, keys.privateKey);
  const cert = pki.issueFromCsr(root, "issuing", csr, {
    nameScope: { dnsZones: [`${dc}.zeroroot.example`], kinds },
  });
  return pki.loadCa(cert.certificatePem, pki.exportPkcs8(keys.privateKey));
}

function forgedSoftware(
  ca: pki.CertificateAuthority,
  zone: string,
  cn: string,
  kind: pki.LeafKind = "software",
): Party {
  const keys = pki.generateKeyPair("ec-p256");
  const certificatePem = forge(ca, {
    cn,
    publicKey: keys.publicKey,
    eku: ["codeSigning"],
    uris: [pki.identityUri(kind, zone, cn)],
  });
  return { privateKey: keys.privateKey, certificatePem, chainPem: ca.certificatePem, serial: "" };
}

export function makeHierarchy(): Hierarchy {
  const root = pki.createRootCa({ commonName: "zeroroot root CA" });
  const dc1 = issuingCa(root.ca, "dc1");
  const dc2 = issuingCa(root.ca, "dc2");
  const dc1Online = issuingCa(root.ca, "dc1", ["computer", "service"]);
  const foreignRoot = pki.createRootCa({ commonName: "zeroroot root CA" });
  const foreignDc1 = issuingCa(foreignRoot.ca, "dc1");
  const bob = leaf(dc1, "software", "bob");
  const now = new Date();
  return {
    rootPem: root.certificatePem,
    issuingPem: dc1.certificatePem,
    issuing: dc1,
    alice: leaf(dc1, "software", "alice"),
    bob,
    controlPlane: leaf(dc1, "software", "control-plane-dc1"),
    service: leaf(dc1, "service", "alice-service"),
    expired: leaf(dc1, "software", "alice-old", new Date(now.getTime() - 3 * 86_400_000), 1),
    foreignAlice: leaf(foreignDc1, "software", "alice"),
    dc2Alice: leaf(dc2, "software", "alice"),
    dc2StateSigner: leaf(dc2, "software", "state-signer-dc2"),
    computer: leaf(dc1Online, "computer", "dc1-s01"),
    dc2Computer: leaf(dc2, "computer", "dc2-s01"),
    mintedByOnlineCa: forgedSoftware(dc1Online, "dc1.zeroroot.example", "control-plane-dc1"),
    codeSigningComputer: forgedSoftware(dc1, "dc1.zeroroot.example", "dc1-s09", "computer"),
    crlRevokingBob: pki.issueCrl(dc1, [{ serial: bob.serial, reason: "keyCompromise", revokedAt: now }], {
      number: 2,
    }),
    emptyCrl: pki.issueCrl(dc1, [], { number: 1 }),
  };
}

/** The identity of a computer party, derived from its certificate as the node agent derives it. */
export function identityOf(h: Hierarchy, p: Party): pki.Identity {
  const name = pki.parseCertificate(p.certificatePem).commonName;
  return nodeIdentity(`${p.certificatePem}${p.chainPem ?? ""}`, h.rootPem, name);
}

export const FILES: Record<string, string> = {
  "bin/server": "#!/bin/sh\nexec sleep infinity\n",
  "share/schema.sql": "CREATE TABLE t (id int);\n",
};

/** A complete, valid manifest; each test changes one thing. */
export function baseManifest(over: Partial<Record<keyof ReleaseManifest, unknown>> = {}): ReleaseManifest {
  return {
    kind: RELEASE_KIND,
    name: "mariadb-galera",
    version: "10.11.6",
    files: Object.entries(FILES).map(([path, content]) => ({ path, ...digestBytes(content) })),
    packages: [{ name: "galera-4", version: "26.4.14-1" }],
    programs: [
      {
        name: "mariadbd",
        command: "{{release.dir}}/bin/server --port={{ports.sql}} --user={{partition.user}}",
        user: PARTITION_USER,
      },
    ],
    configTemplates: [{ path: "etc/my.cnf", template: "[mysqld]\nport={{ports.sql}}\n", mode: "0640" }],
    ports: [{ name: "sql", port: 3306, protocol: "tcp", tls: true, requireClientCertificate: true }],
    holdsData: true,
    notAfter: new Date(Date.now() + 90 * 86_400_000).toISOString().replace(/\.\d+Z$/, "Z"),
    ...over,
  } as ReleaseManifest;
}
