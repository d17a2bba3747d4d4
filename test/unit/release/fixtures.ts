/** CA material for the release and desired-state tests, made once per suite with lib/pki. */
import * as pki from "../../../lib/pki";
import {
  PARTITION_USER,
  RELEASE_KIND,
  digestBytes,
  type ReleaseManifest,
  type Signer,
} from "../../../lib/release";

export interface Party extends Signer {
  readonly serial: string;
}

export interface Hierarchy {
  readonly rootPem: string;
  readonly issuingPem: string;
  readonly issuing: pki.CertificateAuthority;
  /** Software-signing (codeSigning) certificates of dc1. */
  readonly alice: Party;
  readonly bob: Party;
  readonly controlPlane: Party;
  /** A service certificate (serverAuth + clientAuth, no codeSigning). */
  readonly service: Party;
  /** A software-signing certificate whose validity ended yesterday. */
  readonly expired: Party;
  /** A software-signing certificate named "alice", from another hierarchy. */
  readonly foreignAlice: Party;
  /** A CRL of dc1 revoking `bob`. */
  readonly crlRevokingBob: string;
  /** A CRL of dc1 revoking nobody. */
  readonly emptyCrl: string;
}

function leaf(
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

function issuingCa(root: pki.CertificateAuthority, dc: string): pki.CertificateAuthority {
  const keys = pki.generateKeyPair("ec-p256");
  const csr = pki.createCsr({ commonName: `zeroroot ${dc} issuing CA` }, keys.privateKey);
  const cert = pki.issueFromCsr(root, "issuing", csr, {
    nameScope: { dnsZones: [`${dc}.zeroroot.example`] },
  });
  return pki.loadCa(cert.certificatePem, pki.exportPkcs8(keys.privateKey));
}

export function makeHierarchy(): Hierarchy {
  const root = pki.createRootCa({ commonName: "zeroroot root CA" });
  const dc1 = issuingCa(root.ca, "dc1");
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
    crlRevokingBob: pki.issueCrl(dc1, [{ serial: bob.serial, reason: "keyCompromise", revokedAt: now }], {
      number: 2,
    }),
    emptyCrl: pki.issueCrl(dc1, [], { number: 1 }),
  };
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
