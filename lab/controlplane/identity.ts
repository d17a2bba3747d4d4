/**
 * Identities for the lab's control plane, made the way production makes them: the key pair is
 * generated where it is used (here, this process, standing in for the member / operator), only a CSR
 * goes to the data center's issuing CA, and the key is written once with mode 0400/0600.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import {
  createCsr,
  exportPkcs8,
  generateKeyPair,
  issueFromCsr,
  type Authorisation,
  type CertificateAuthority,
} from "../../lib/pki";
import type { ClientIdentity } from "../../lib/controlplane";

export interface IssuedIdentity extends ClientIdentity {
  readonly commonName: string;
}

/** Issues a leaf of `profile` from `ca`: a fresh P-256 key, a CSR, and the chain leaf + issuing CA. */
export function issueIdentity(
  ca: CertificateAuthority,
  trustAnchorsPem: string,
  profile: "service" | "computer" | "user",
  commonName: string,
  names: Pick<Authorisation, "dnsNames" | "ipAddresses"> = {},
): IssuedIdentity {
  const keys = generateKeyPair("ec-p256");
  const csr = createCsr(
    { commonName, dnsNames: names.dnsNames, ipAddresses: names.ipAddresses },
    keys.privateKey,
  );
  const cert = issueFromCsr(ca, profile, csr, { commonName, ...names });
  return {
    commonName,
    trustAnchorsPem,
    certificateChainPem: cert.certificatePem + ca.certificatePem,
    privateKeyPem: exportPkcs8(keys.privateKey).toString(),
  };
}

export interface IdentityFiles {
  readonly caFile: string;
  readonly certFile: string;
  readonly keyFile: string;
}

/** Writes an identity as three PEM files under `dir`; the key is readable by `owner` only. */
export function writeIdentity(
  dir: string,
  id: ClientIdentity,
  owner: { uid: number; gid: number } = { uid: 0, gid: 0 },
): IdentityFiles {
  fs.mkdirSync(dir, { recursive: true });
  const files = {
    caFile: path.join(dir, "ca.pem"),
    certFile: path.join(dir, "cert.pem"),
    keyFile: path.join(dir, "key.pem"),
  };
  fs.writeFileSync(files.caFile, id.trustAnchorsPem, { mode: 0o644 });
  fs.writeFileSync(files.certFile, id.certificateChainPem, { mode: 0o644 });
  fs.rmSync(files.keyFile, { force: true });
  fs.writeFileSync(files.keyFile, id.privateKeyPem, { mode: 0o400 });
  for (const f of Object.values(files)) fs.chownSync(f, owner.uid, owner.gid);
  return files;
}

export function readIdentity(files: IdentityFiles): ClientIdentity {
  return {
    trustAnchorsPem: fs.readFileSync(files.caFile, "utf8"),
    certificateChainPem: fs.readFileSync(files.certFile, "utf8"),
    privateKeyPem: fs.readFileSync(files.keyFile, "utf8"),
  };
}
