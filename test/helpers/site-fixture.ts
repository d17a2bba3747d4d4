/**
 * A real site service on loopback with a throw-away hierarchy: root, the site's issuing CA (key
 * made by the site, CSR signed by the root, limited to SITE_CA_KINDS as the lab's are), dc1's
 * offline CA (users: the operator), dc2's CA, a foreign CA, and CRL files of the root and dc1's
 * offline CA named in the site config. Used by the site and installer tests.
 */
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import type { Server } from "node:https";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  SITE_CA_KINDS,
  initIssuingCa,
  installIssuingCertificate,
  loadSiteIdentity,
  type SiteIdentity,
} from "../../agents/site/ca";
import type { SiteConfig } from "../../agents/site/config";
import { Registry } from "../../agents/site/registry";
import type { SiteLimits } from "../../agents/site/limits";
import { createSiteServer } from "../../agents/site/server";
import {
  createCsr,
  createRootCa,
  exportPkcs8,
  generateKeyPair,
  issueCrl,
  issueFromCsr,
  parseCertificate,
  type CertificateAuthority,
  type LeafKind,
  type Revocation,
} from "../../lib/pki";
import { SiteClient, type TlsIdentity } from "../../lib/site";

export interface SiteFixture {
  readonly url: string;
  readonly serverName: string;
  readonly rootPem: string;
  readonly config: SiteConfig;
  readonly identity: SiteIdentity;
  readonly registry: Registry;
  readonly operator: TlsIdentity;
  readonly foreignOperator: TlsIdentity;
  readonly logs: string[];
  /** The CAs: root, dc1's offline CA (users, software), dc2's CA (every kind), a foreign issuing CA. */
  readonly cas: {
    readonly root: CertificateAuthority;
    readonly dc1: CertificateAuthority;
    readonly dc2: CertificateAuthority;
    readonly foreign: CertificateAuthority;
  };
  /** CRL files named in the site config (dc2's too, so that dc2's leaves meet the identity checks). */
  readonly crlPaths: { readonly root: string; readonly dc1: string; readonly dc2: string };
  client(identity?: TlsIdentity): SiteClient;
  /** A client certificate of `kind` with CN `cn`: users from dc1's offline CA, computers from the site's CA. */
  issue(kind: "user" | "computer", cn: string): TlsIdentity;
  /** Replaces a CRL file with a CRL of `ca` numbered `number` listing `revoked`. */
  publishCrl(
    which: "root" | "dc1" | "dc2",
    number: number,
    revoked: readonly Revocation[],
    nextUpdate?: Date,
  ): void;
  close(): Promise<void>;
}

export interface IssuedIdentity extends TlsIdentity {
  readonly serial: string;
}

/** A leaf of `kind` named `cn` from `ca`, with its chain (leaf, issuing CA) and key. */
export function identityFrom(ca: CertificateAuthority, kind: LeafKind, cn: string): IssuedIdentity {
  const keys = generateKeyPair();
  const cert = issueFromCsr(ca, kind, createCsr({ commonName: cn }, keys.privateKey));
  return {
    certificateChainPem: cert.certificatePem + ca.certificatePem,
    privateKeyPem: exportPkcs8(keys.privateKey).toString(),
    serial: cert.serial,
  };
}

/** An issuing CA under `root` for `zone`, permitted `kinds` (every kind when omitted). */
export function issuingCa(
  root: CertificateAuthority,
  commonName: string,
  zone: string,
  kinds?: readonly LeafKind[],
): CertificateAuthority {
  const keys = generateKeyPair();
  const issued = issueFromCsr(root, "issuing", createCsr({ commonName }, keys.privateKey), {
    nameScope: { dnsZones: [zone], kinds },
  });
  return {
    certificatePem: issued.certificatePem,
    info: parseCertificate(issued.certificatePem),
    privateKey: keys.privateKey,
  };
}

/** A minimal image: a tarball with one file, and its sha256. */
export function makeImage(dir: string): string {
  const tree = join(dir, "tree");
  mkdirSync(join(tree, "etc"), { recursive: true });
  writeFileSync(join(tree, "etc", "os-release"), "ID=zeroroot-test\n");
  const tarball = spawnSync("tar", ["--zstd", "-cf", "-", "-C", tree, "."], { maxBuffer: 1 << 26 }).stdout;
  const sha = createHash("sha256").update(tarball).digest("hex");
  mkdirSync(join(dir, "images"), { recursive: true });
  writeFileSync(join(dir, "images", `${sha}.tar.zst`), tarball);
  return sha;
}

export async function startSite(limits: Partial<SiteLimits> = {}): Promise<SiteFixture> {
  const dir = mkdtempSync(join(tmpdir(), "zr-site-"));
  const root = createRootCa({ commonName: "zeroroot.test root CA" });
  writeFileSync(join(dir, "root.pem"), root.certificatePem);
  const sha = makeImage(dir);
  const dc1 = issuingCa(root.ca, "zeroroot.test dc1 offline CA", "dc1.zeroroot.test");
  const dc2 = issuingCa(root.ca, "zeroroot.test dc2 CA", "dc2.zeroroot.test");
  const crlPaths = { root: join(dir, "root.crl"), dc1: join(dir, "dc1.crl"), dc2: join(dir, "dc2.crl") };
  const publishCrl = (
    which: "root" | "dc1" | "dc2",
    number: number,
    revoked: readonly Revocation[],
    nextUpdate?: Date,
  ) => {
    const ca = { root: root.ca, dc1, dc2 }[which];
    const thisUpdate =
      nextUpdate && nextUpdate < new Date() ? new Date(nextUpdate.getTime() - 86_400_000) : undefined;
    writeFileSync(`${crlPaths[which]}.new`, issueCrl(ca, revoked, { number, thisUpdate, nextUpdate }));
    renameSync(`${crlPaths[which]}.new`, crlPaths[which]);
  };
  publishCrl("root", 1, []);
  publishCrl("dc1", 1, []);
  publishCrl("dc2", 1, []);
  const config: SiteConfig = {
    dataCenter: "dc1",
    domain: "zeroroot.test",
    stateDir: join(dir, "state"),
    listenHost: "127.0.0.1",
    port: 0,
    addresses: ["127.0.0.1"],
    networks: ["127.0.0.0/8"],
    rootCertificatePath: join(dir, "root.pem"),
    imageDir: join(dir, "images"),
    imageSha256: sha,
    operators: ["dc1/user/operator"],
    crls: [crlPaths.root, crlPaths.dc1, crlPaths.dc2],
  };
  const csr = initIssuingCa(config);
  const issuing = issueFromCsr(root.ca, "issuing", csr, {
    nameScope: {
      dnsZones: ["dc1.zeroroot.test"],
      ipNetworks: ["127.0.0.0/8"],
      kinds: SITE_CA_KINDS,
    },
  });
  const ca = installIssuingCertificate(config, issuing.certificatePem);
  const identity = loadSiteIdentity(config);
  const registry = new Registry(config.stateDir);
  const logs: string[] = [];
  const server: Server = createSiteServer(config, identity, registry, (m) => logs.push(m), limits);
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as AddressInfo).port;
  const url = `https://127.0.0.1:${port}`;
  const serverName = "site.dc1.zeroroot.test";
  const foreignCa = issuingCa(
    createRootCa({ commonName: "foreign root" }).ca,
    "foreign issuing",
    "dc1.zeroroot.test",
  );
  return {
    url,
    serverName,
    rootPem: root.certificatePem,
    config,
    identity,
    registry,
    operator: identityFrom(dc1, "user", "operator"),
    foreignOperator: identityFrom(foreignCa, "user", "operator"),
    logs,
    cas: { root: root.ca, dc1, dc2, foreign: foreignCa },
    crlPaths,
    client: (id) => new SiteClient({ url, trust: root.certificatePem, serverName, identity: id }),
    issue: (kind, cn) => identityFrom(kind === "user" ? dc1 : ca, kind, cn),
    publishCrl,
    close: () => new Promise((r) => server.close(() => r())),
  };
}

export const readText = (f: string) => readFileSync(f, "utf8");
