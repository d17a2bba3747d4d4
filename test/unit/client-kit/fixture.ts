/**
 * A hierarchy for client-kit tests, made in-process (no ceremony: ECDSA, milliseconds): a root, the
 * issuing CAs of dc1 and dc2, a foreign root with its own dc1, and a stack directory holding the
 * example dc1 stack (its zeroroot:dataAccess grants analytics to dc1/user/alice; its
 * zeroroot:clusters gives dc1/user/alice the Dask cluster `analytics`, scheduler on dc1-c01) and a
 * global stack whose offline root is this test root. `addStack` adds the example dc2 stack (the
 * replica, and the copy of alice's cluster with its remote scheduler); `editClusters` changes a
 * stack's zeroroot:clusters.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as YAML from "yaml";
import * as pki from "../../../lib/pki";

const STACKS = path.join(__dirname, "../../../stacks");

export interface Hierarchy {
  readonly rootPem: string;
  readonly dcs: Record<string, { ca: pki.CertificateAuthority; chainPem: string }>;
}

export function hierarchy(label: string): Hierarchy {
  const root = pki.createRootCa({ commonName: `${label} root CA` });
  const dcs: Hierarchy["dcs"] = {};
  for (const dc of ["dc1", "dc2"]) {
    const keys = pki.generateKeyPair("ec-p256");
    const csr = pki.createCsr({ commonName: `${label} ${dc} issuing CA` }, keys.privateKey);
    const cert = pki.issueFromCsr(root.ca, "issuing", csr, {
      nameScope: { dnsZones: [`${dc}.zeroroot.example`] },
    });
    dcs[dc] = {
      ca: pki.loadCa(cert.certificatePem, pki.exportPkcs8(keys.privateKey)),
      chainPem: cert.certificatePem + root.certificatePem,
    };
  }
  return { rootPem: root.certificatePem, dcs };
}

export function tempDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `zr-kit-${prefix}-`));
}

/** A stack directory: the example dc1 stack, and a global stack whose offline root is `rootPem`. */
export function stackDir(rootPem: string): string {
  const dir = tempDir("stacks");
  addStack(dir, "dc1");
  const global = fs.readFileSync(path.join(STACKS, "Pulumi.global.yaml"), "utf8");
  const indented = rootPem
    .trimEnd()
    .split("\n")
    .map((l) => `        ${l}`)
    .join("\n");
  fs.writeFileSync(
    path.join(dir, "Pulumi.global.yaml"),
    global.replace(/( +)-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/, indented),
  );
  return dir;
}

/** Copies the example stack `name` (e.g. "dc2") into a stack directory. */
export function addStack(dir: string, name: string): void {
  fs.copyFileSync(path.join(STACKS, `Pulumi.${name}.yaml`), path.join(dir, `Pulumi.${name}.yaml`));
}

/** A `zeroroot:clusters` entry as YAML gives it. */
export type ClusterEntry = Record<string, unknown>;

/**
 * Rewrites `zeroroot:clusters` of `Pulumi.<stack>.yaml` in `dir` with what `change` makes of the
 * current list (the rest of the file, secrets included, is kept as it is).
 */
export function editClusters(dir: string, stack: string, change: (clusters: ClusterEntry[]) => void): void {
  const file = path.join(dir, `Pulumi.${stack}.yaml`);
  const doc = YAML.parseDocument(fs.readFileSync(file, "utf8"));
  const key = ["config", "zeroroot:clusters"];
  const clusters = ((doc.getIn(key) as YAML.YAMLSeq | undefined)?.toJSON() ?? []) as ClusterEntry[];
  change(clusters);
  doc.setIn(key, doc.createNode(clusters));
  fs.writeFileSync(file, doc.toString());
}

/** A cluster of `owner` whose scheduler runs on this stack's `server`, on ports no example uses. */
export function localCluster(owner: string, name: string, dc: string, server: string): ClusterEntry {
  return {
    owner,
    name,
    release: "dask@2022.12.2",
    scheduler: { server, port: 8787 },
    workers: { count: 1, dataCenters: [dc], port: 8810 },
  };
}

/** Issues a `kind` certificate named as the CSR asks, from `csrPem`, by `ca`. */
export function sign(ca: pki.CertificateAuthority, kind: pki.LeafKind, csrPem: string, now?: Date): string {
  return pki.issueFromCsr(ca, kind, csrPem, kind === "user" ? {} : { validityDays: 30 }, { now })
    .certificatePem;
}

/** A fresh key and CSR for `name` (a certificate of another key than the kit's). */
export function otherCsr(name: string): string {
  return pki.createCsr({ commonName: name }, pki.generateKeyPair("ec-p256").privateKey);
}

/** Every file under `dir`, relative, sorted (what a failed step must leave unchanged). */
export function listing(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      out.push(path.relative(dir, p));
      if (e.isDirectory()) walk(p);
    }
  };
  walk(dir);
  return out.sort();
}
