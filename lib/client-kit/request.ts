/**
 * Step 1 of a client kit: the user's key pair and CSR, made on the user's machine. The key is written
 * with mode 0600 (atomically) and never leaves; only the CSR goes to the holder of the data center's
 * offline issuing CA, who signs it with `zeroroot pki sign --kind user` (a site's online CA issues
 * computer and service certificates only, so it cannot sign users).
 */
import * as crypto from "node:crypto";
import * as pki from "../pki";
import { KitError } from "./errors";
import { kitPaths, prepareOutDir, writeSecret, writePublic } from "./out-dir";

export interface RequestArgs {
  /** The user's name: the certificate's CN and identity name (`dc1/user/<name>`). */
  readonly user: string;
  /** The data center whose issuing CA will sign: the identity's first part. */
  readonly dataCenter: string;
  readonly outDir: string;
  /** @default "ec-p256" */
  readonly keyKind?: pki.KeyKind;
}

export interface RequestResult {
  readonly keyFile: string;
  readonly csrFile: string;
  /** SHA-256 of the public key (SubjectPublicKeyInfo DER), hex: read it to the CA holder out of band. */
  readonly publicKeySha256: string;
}

/** Refuses a user or data center name the hierarchy would refuse, before anything is written. */
export function checkUserName(user: string, dataCenter: string): void {
  const dc = pki.parseIdentity(`${dataCenter}/user/x`);
  if (typeof dc === "string") throw new KitError(`--dc: ${dc}`, "usage");
  const problem = pki.leafNameProblem("user", user, dataCenter);
  if (problem) throw new KitError(`--user: ${problem}`, "usage");
}

/** Makes the key and the CSR in `outDir`; refuses to replace a key already there. */
export function makeRequest(a: RequestArgs): RequestResult {
  checkUserName(a.user, a.dataCenter);
  const paths = kitPaths(a.outDir, a.user);
  prepareOutDir(a.outDir, paths);
  const keys = pki.generateKeyPair(a.keyKind ?? "ec-p256");
  const csr = pki.createCsr({ commonName: a.user }, keys.privateKey);
  // The CSR first: if the key cannot be written, a second run starts over instead of finding a key.
  writePublic(paths.csr, csr);
  writeSecret(paths.key, pki.exportPkcs8(keys.privateKey));
  return { keyFile: paths.key, csrFile: paths.csr, publicKeySha256: publicKeySha256(keys.publicKey) };
}

export function publicKeySha256(key: crypto.KeyObject): string {
  const pub = key.type === "private" ? crypto.createPublicKey(key) : key;
  const spki = pub.export({ type: "spki", format: "der" });
  return crypto.createHash("sha256").update(spki).digest("hex");
}

/** What the user sends to whom, and what comes back: printed after step 1. */
export function requestInstructions(a: RequestArgs, r: RequestResult, targets: readonly string[]): string {
  const csrName = r.csrFile.split("/").pop();
  const certName = `${a.user}.crt`;
  const forArg = targets.length ? targets.join(",") : "psql";
  return [
    `Step 1 done for ${a.dataCenter}/user/${a.user}:`,
    `  ${r.keyFile}  your private key (mode 0600): it never leaves this machine; send it to no one`,
    `  ${r.csrFile}  your certificate signing request: send this file`,
    `  public key SHA-256: ${r.publicKeySha256}`,
    "",
    `Send ${csrName} to the holder of ${a.dataCenter}'s issuing CA (the offline ceremony directory) and tell them`,
    "the SHA-256 above over another channel (phone, in person). They check it and sign:",
    `  openssl req -in ${csrName} -noout -pubkey | openssl pkey -pubin -outform DER | sha256sum`,
    `  zeroroot pki sign --dir <ceremony> --kind user --dc ${a.dataCenter} --name ${a.user} --csr ${csrName} --out ${certName}`,
    `and send back ${certName} and <ceremony>/${a.dataCenter}/chain.pem (certificates only, nothing secret).`,
    "",
    "Step 2, when they arrive:",
    `  zeroroot client kit --user ${a.user} --dc ${a.dataCenter} --for ${forArg} --out ${a.outDir} --cert ${certName} --chain chain.pem`,
    "",
  ].join("\n");
}
