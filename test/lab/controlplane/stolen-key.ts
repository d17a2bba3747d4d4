/**
 * What an attacker holding a data center's issuing CA key can sign, bypassing lib/pki's issuance
 * checks: openssl signs whatever subject and SAN it is told. Used to find out what etcd's own TLS
 * verification still refuses (the issuing CA's name constraints) and what it cannot (the CN).
 */
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { createCsr, exportPkcs8, generateKeyPair, type CertificateAuthority } from "../../../lib/pki";
import type { IssuedIdentity } from "../../../lab/controlplane";

/** A clientAuth leaf with CN `commonName` and the subjectAltName `san` (openssl syntax), or none. */
export function mintWithStolenKey(
  ca: CertificateAuthority,
  trustAnchorsPem: string,
  commonName: string,
  san?: string,
): IssuedIdentity {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "zr-stolen-"));
  try {
    const keys = generateKeyPair("ec-p256");
    fs.writeFileSync(path.join(dir, "ca.pem"), ca.certificatePem);
    fs.writeFileSync(path.join(dir, "ca.key"), exportPkcs8(ca.privateKey), { mode: 0o600 });
    fs.writeFileSync(path.join(dir, "leaf.csr"), createCsr({ commonName }, keys.privateKey));
    const ext = [
      "[v3]",
      "basicConstraints=critical,CA:FALSE",
      "keyUsage=critical,digitalSignature",
      "extendedKeyUsage=clientAuth",
      ...(san ? [`subjectAltName=${san}`] : []),
    ];
    fs.writeFileSync(path.join(dir, "ext.cnf"), `${ext.join("\n")}\n`);
    const leaf = execFileSync(
      "openssl",
      [
        ...["x509", "-req", "-in", path.join(dir, "leaf.csr")],
        ...["-CA", path.join(dir, "ca.pem"), "-CAkey", path.join(dir, "ca.key")],
        ...["-set_serial", `0x${randomBytes(16).toString("hex")}`, "-days", "2"],
        ...["-extfile", path.join(dir, "ext.cnf"), "-extensions", "v3"],
      ],
      { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] },
    );
    return {
      commonName,
      trustAnchorsPem,
      certificateChainPem: leaf + ca.certificatePem,
      privateKeyPem: exportPkcs8(keys.privateKey).toString(),
    };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
