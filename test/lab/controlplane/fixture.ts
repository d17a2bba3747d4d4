/** The control plane lab tests' hierarchy and tools: issuing CAs, CRLs, and a client of the peer port. */
import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { promisify } from "node:util";
import * as pki from "../../../lib/pki";
import type { IssuedIdentity } from "../../../lab/controlplane";

const run = promisify(execFile);
export const ZONE = "zeroroot.test";
export const DCS = ["dc1", "dc2", "dc3"];

/**
 * An issuing CA of `dc` under `root`. With `kinds` it is a site's online CA (the root grants it those
 * kinds only); without, an offline CA that may issue every kind.
 */
export function issuingCa(
  root: pki.CertificateAuthority,
  dc: string,
  kinds?: pki.LeafKind[],
): pki.CertificateAuthority {
  const k = pki.generateKeyPair();
  const csr = pki.createCsr({ commonName: `zeroroot ${dc} ${kinds ? "site" : "offline"} CA` }, k.privateKey);
  const cert = pki.issueFromCsr(root, "issuing", csr, { nameScope: { dnsZones: [`${dc}.${ZONE}`], kinds } });
  return pki.loadCa(cert.certificatePem, pki.exportPkcs8(k.privateKey));
}

export const serialOf = (pem: string): string => pki.parseCertificate(pem).serial;

/** A CRL of `ca` number `number` revoking `serials`. */
export const revoke = (ca: pki.CertificateAuthority, serials: string[], number: number): string =>
  pki.issueCrl(
    ca,
    serials.map((serial) => ({ serial, reason: "keyCompromise" as const, revokedAt: new Date() })),
    { number },
  );

/** GET /members on dc1's peer port as `id`, from namespace `from`; "refused: …" when the handshake fails. */
export async function peerMembers(id: IssuedIdentity, rootPem: string, from: string): Promise<string> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "zr-peer-"));
  const file = (name: string, content: string): string => {
    fs.writeFileSync(path.join(dir, name), content, { mode: 0o600 });
    return path.join(dir, name);
  };
  const tls = ["--cacert", file("ca.pem", rootPem), "--cert", file("cert.pem", id.certificateChainPem)];
  tls.push("--key", file("key.pem", id.privateKeyPem));
  const curl = [
    "curl",
    "-sS",
    "--http1.1",
    "--max-time",
    "5",
    ...tls,
    `https://etcd.dc1.${ZONE}:2380/members`,
  ];
  try {
    return (await run("ip", ["netns", "exec", from, ...curl])).stdout;
  } catch (e) {
    return `refused: ${(e as Error).message}`;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
