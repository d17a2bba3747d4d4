/** Shared by the job-certificate unit tests: dc2's site CA, a node, its desired state, CSRs good and hostile. */
import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as path from "node:path";
import type { InstanceSpec } from "../../../lib/contracts/resources";
import type { JobContext } from "../../../lib/compute/job-cert";
import * as pki from "../../../lib/pki";
import { tempDir, tool } from "../pki/helpers";

export const DOMAIN = "zeroroot.example";
export const ZONE2 = `dc2.${DOMAIN}`;
export const NET2 = "10.78.2.0/24";
export const NODE = {
  dataCenter: "dc2",
  computerId: "dc2-c01",
  hostname: `c01.${ZONE2}`,
  address: "10.78.2.14",
};

/** Root and dc2's site CA as the lab signs it: computer, service and job, dc2's data network. */
export function hierarchy(kinds: pki.LeafKind[] = ["computer", "service", "job"]) {
  const root = pki.createRootCa({ commonName: "zeroroot root CA" });
  const key = pki.generateKeyPair();
  const csr = pki.createCsr({ commonName: "zeroroot issuing CA dc2" }, key.privateKey);
  const cert = pki.issueFromCsr(root.ca, "issuing", csr, {
    nameScope: { dnsZones: [ZONE2], ipNetworks: [NET2], kinds },
  });
  return { root, site: pki.loadCa(cert.certificatePem, pki.exportPkcs8(key.privateKey)) };
}

export const instance = (name: string, uid: number, parameters: Record<string, string>): InstanceSpec => ({
  name,
  release: { name: "dask", version: "2022.12.1", manifestDigest: "0".repeat(64) },
  partition: { user: `zr-p${uid}`, uid },
  programs: [],
  endpoints: [],
  holdsData: false,
  minimumPersistenceSeconds: 0,
  parameters,
});
export const worker = (owner: string, cluster: string) => ({
  role: "worker",
  cluster,
  owner,
  "zeroroot.owner": owner,
});
/** What dc2-c01's signed desired state lists: alice's and bob's workers, alice's scheduler, a datastore. */
export const INSTANCES = [
  instance("dask-dc1-alice-analytics-w1", 2101, worker("dc1/user/alice", "dc1-alice-analytics")),
  instance("dask-dc1-bob-etl-w0", 2102, worker("dc1/user/bob", "dc1-bob-etl")),
  instance("dask-dc2-alice-local-s", 2103, {
    ...worker("dc2/user/alice", "dc2-alice-local"),
    role: "scheduler",
  }),
  instance("postgresql", 2104, { mode: "replica" }),
  instance("dask-dc1-svc-w0", 2105, worker("dc1/service/etl.dc1.zeroroot.example", "dc1-svc")),
];
export const CTX: JobContext = { node: NODE, domain: DOMAIN, instances: INSTANCES };
export const ALICE = 2101;

export const keyOf = () => pki.generateKeyPair().privateKey;
export const csr = (cn: string, dns: string[] = [], ips: string[] = []) =>
  pki.createCsr({ commonName: cn, dnsNames: dns, ipAddresses: ips }, keyOf());

/** The CSR with the last byte of its signature flipped: still DER, no longer the key's signature. */
export function tamperLastByte(pem: string): string {
  const der = Buffer.from(pem.replace(/-----[A-Z ]+-----|\s/g, ""), "base64");
  der[der.length - 1] ^= 1;
  return `-----BEGIN CERTIFICATE REQUEST-----\n${der.toString("base64")}\n-----END CERTIFICATE REQUEST-----\n`;
}

/** A CSR made by openssl req with `-addext` lines: what a hostile job would hand in. */
export function opensslCsr(cn: string, addext: string[]): string {
  const dir = tempDir("job-csr");
  const keyFile = path.join(dir, "key.pem");
  fs.writeFileSync(keyFile, pki.exportPkcs8(keyOf()), { mode: 0o600 });
  const args = ["req", "-new", "-key", keyFile, "-subj", `/CN=${cn}`];
  for (const e of addext) args.push("-addext", e);
  const r = tool("openssl", args);
  fs.rmSync(dir, { recursive: true, force: true });
  assert.equal(r.status, 0, r.out);
  return r.out;
}
