/**
 * A real site service on loopback with a throw-away hierarchy: root, the site's issuing CA (key
 * made by the site, CSR signed by the root), an operator certificate and a foreign CA. Used by the
 * site and installer tests.
 */
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import type { Server } from "node:https";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  initIssuingCa,
  installIssuingCertificate,
  loadSiteIdentity,
  type SiteIdentity,
} from "../../agents/site/ca";
import type { SiteConfig } from "../../agents/site/config";
import { Registry } from "../../agents/site/registry";
import { createSiteServer } from "../../agents/site/server";
import {
  createCsr,
  createRootCa,
  exportPkcs8,
  generateKeyPair,
  issueFromCsr,
  type CertificateAuthority,
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
  client(identity?: TlsIdentity): SiteClient;
  /** A client certificate of `kind` with CN `cn`, issued by the site's CA. */
  issue(kind: "user" | "computer", cn: string): TlsIdentity;
  close(): Promise<void>;
}

function identityFrom(ca: CertificateAuthority, kind: "user" | "computer", cn: string): TlsIdentity {
  const keys = generateKeyPair();
  const cert = issueFromCsr(ca, kind, createCsr({ commonName: cn }, keys.privateKey));
  return {
    certificateChainPem: cert.certificatePem + ca.certificatePem,
    privateKeyPem: exportPkcs8(keys.privateKey).toString(),
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

export async function startSite(): Promise<SiteFixture> {
  const dir = mkdtempSync(join(tmpdir(), "zr-site-"));
  const root = createRootCa({ commonName: "zeroroot.test root CA" });
  writeFileSync(join(dir, "root.pem"), root.certificatePem);
  const sha = makeImage(dir);
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
    operators: ["operator"],
  };
  const csr = initIssuingCa(config);
  const issuing = issueFromCsr(root.ca, "issuing", csr, {
    nameScope: { dnsZones: ["dc1.zeroroot.test"], ipNetworks: ["127.0.0.0/8"] },
  });
  const ca = installIssuingCertificate(config, issuing.certificatePem);
  const identity = loadSiteIdentity(config);
  const registry = new Registry(config.stateDir);
  const logs: string[] = [];
  const server: Server = createSiteServer(config, identity, registry, (m) => logs.push(m));
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as AddressInfo).port;
  const url = `https://127.0.0.1:${port}`;
  const serverName = "site.dc1.zeroroot.test";
  const foreign = createRootCa({ commonName: "foreign root" });
  const foreignKeys = generateKeyPair();
  const foreignIssuing = issueFromCsr(
    foreign.ca,
    "issuing",
    createCsr({ commonName: "foreign issuing" }, foreignKeys.privateKey),
    { nameScope: { dnsZones: ["foreign.test"] } },
  );
  const foreignCa = {
    certificatePem: foreignIssuing.certificatePem,
    info: (await import("../../lib/pki")).parseCertificate(foreignIssuing.certificatePem),
    privateKey: foreignKeys.privateKey,
  };
  return {
    url,
    serverName,
    rootPem: root.certificatePem,
    config,
    identity,
    registry,
    operator: identityFrom(ca, "user", "operator"),
    foreignOperator: identityFrom(foreignCa, "user", "operator"),
    logs,
    client: (id) => new SiteClient({ url, trust: root.certificatePem, serverName, identity: id }),
    issue: (kind, cn) => identityFrom(ca, kind, cn),
    close: () => new Promise((r) => server.close(() => r())),
  };
}

export const readText = (f: string) => readFileSync(f, "utf8");
