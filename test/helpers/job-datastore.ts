/**
 * What the datastore tests of job certificates share (test/integration/compute/job-pg.test.ts,
 * job-mariadb.test.ts): a free port, job keys and certificates written for a client, and the table
 * of refusals each datastore must give, registered as one `it` a row.
 */
import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as net from "node:net";
import * as path from "node:path";
import { jobAuthorisation } from "../../lib/compute/job-cert";
import * as pki from "../../lib/pki";

type Identity = pki.Identity;

export function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, "127.0.0.1", () => {
      const p = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(p));
    });
  });
}

export interface ClientFiles {
  readonly cert: string;
  readonly key: string;
}

export interface JobCertificateRequest {
  readonly owner: Identity;
  /** The node the certificate is bound to (its O and IP SAN). */
  readonly address: string;
  readonly hostname: string;
  readonly signer: pki.CertificateAuthority;
  /** Issued this many ms before now (a 60 s certificate issued two hours ago has expired). */
  readonly agoMs?: number;
}

/** A fresh key and a 60 s job certificate as the site issues it, written to `dir` for a client. */
export function jobCertificateFiles(dir: string, name: string, r: JobCertificateRequest): ClientFiles {
  const key = pki.generateKeyPair();
  const csr = pki.createCsr({ commonName: pki.jobName(r.owner) }, key.privateKey);
  const leaf = pki.issueFromCsr(
    r.signer,
    "job",
    csr,
    jobAuthorisation(r.owner, { hostname: r.hostname, address: r.address }, 60),
    { now: new Date(Date.now() - (r.agoMs ?? 0)) },
  );
  return writeClientFiles(dir, name, leaf.certificatePem + r.signer.certificatePem, key.privateKey);
}

/** A certificate chain and its key, the key 0600, as `cert` and `key` files of a client. */
export function writeClientFiles(
  dir: string,
  name: string,
  chainPem: string,
  privateKey: Parameters<typeof pki.exportPkcs8>[0],
): ClientFiles {
  const cert = path.join(dir, `${name}.pem`);
  const key = path.join(dir, `${name}.key`);
  fs.writeFileSync(cert, chainPem);
  fs.writeFileSync(key, pki.exportPkcs8(privateKey), { mode: 0o600 });
  return { cert, key };
}

/** One refusal: what is tried, how to make the attempt's input, what the datastore must answer. */
export type Refusal<T> = readonly [what: string, make: () => T, answer: RegExp];

/** Registers `it("refuses <what>")` per row: the attempt fails and its output matches the row's answer. */
export function itRefuses<T>(
  rows: readonly Refusal<T>[],
  attempt: (input: T) => { ok: boolean; out: string },
): void {
  for (const [what, make, answer] of rows)
    it(`refuses ${what}`, () => {
      const r = attempt(make());
      assert.equal(r.ok, false, `accepted: ${r.out}`);
      assert.match(r.out, answer);
    });
}
