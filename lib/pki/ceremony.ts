/**
 * The offline ceremony directory used by `zeroroot pki`: the root (key encrypted at rest), one
 * issuing CA per data center for sites that sign offline, a register of issued certificates and
 * revocations, and CRL numbers. A small file adapter; the CLI only parses arguments around it.
 *
 * Layout: ceremony.json, root/ca.pem, root/key.enc.pem, <dc>/ca.pem, <dc>/key.enc.pem,
 * <dc>/chain.pem (issuing CA then root), issued/<serial>.pem.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import {
  createRootCa,
  issueFromCsr,
  loadCa,
  type Authorisation,
  type CertificateAuthority,
  type IssuedCertificate,
} from "./ca";
import { parseCertificate } from "./cert";
import { createCsr } from "./csr";
import { checkReason, issueCrl, normaliseSerial, type RevocationReason } from "./crl";
import { PkiError } from "./errors";
import { writeFileAtomic } from "./files";
import { exportPkcs8, generateKeyPair, type KeyKind } from "./keys";
import { normaliseDnsName } from "./names";
import type { ProfileName } from "./profiles";

export interface IssuedRecord {
  readonly serial: string;
  readonly kind: ProfileName;
  /** "root" for issuing CAs, else the data center whose CA signed it. */
  readonly signer: string;
  readonly commonName: string;
  readonly notAfter: string;
  readonly revoked?: { readonly reason: RevocationReason; readonly at: string };
}

export interface CeremonyState {
  readonly domain: string;
  readonly dcs: Readonly<Record<string, { readonly zone: string; readonly networks: readonly string[] }>>;
  readonly issued: IssuedRecord[];
  readonly crlNumbers: Record<string, number>;
}

export interface InitArgs {
  readonly dir: string;
  readonly domain: string;
  readonly dcs: readonly string[];
  readonly networks?: Readonly<Record<string, readonly string[]>>;
  readonly passphrase: string;
  readonly keyKind?: KeyKind;
}

const STATE = "ceremony.json";

export function initCeremony(a: InitArgs): CeremonyState {
  if (fs.existsSync(path.join(a.dir, STATE)))
    throw new PkiError("bad-input", `${a.dir} already holds a ceremony (${STATE}); use an empty directory`);
  if (a.passphrase.length < 12)
    throw new PkiError("bad-input", "the ceremony passphrase must have at least 12 characters");
  const domain = normaliseDnsName(a.domain, "--domain");
  fs.mkdirSync(path.join(a.dir, "issued"), { recursive: true, mode: 0o700 });
  const root = createRootCa({
    commonName: `${domain} root CA`,
    organization: "zeroroot",
    keyKind: a.keyKind,
  });
  writeCa(a.dir, "root", root.ca, root.certificatePem, a.passphrase);
  const state: CeremonyState = { domain, dcs: {}, issued: [], crlNumbers: {} };
  for (const dc of a.dcs) {
    const zone = normaliseDnsName(`${dc}.${domain}`, "--dcs");
    const networks = a.networks?.[dc] ?? [];
    (state.dcs as Record<string, { zone: string; networks: readonly string[] }>)[dc] = { zone, networks };
    const keys = generateKeyPair(a.keyKind);
    const csr = createCsr({ commonName: `${zone} issuing CA` }, keys.privateKey);
    const issued = issueFromCsr(root.ca, "issuing", csr, {
      nameScope: { dnsZones: [zone], ipNetworks: networks },
      organization: "zeroroot",
    });
    const ca = loadCa(issued.certificatePem, keys.privateKey.export({ type: "pkcs8", format: "pem" }));
    writeCa(a.dir, dc, ca, issued.certificatePem, a.passphrase, root.certificatePem);
    record(state, issued, "root");
  }
  save(a.dir, state);
  return state;
}

function writeCa(
  dir: string,
  name: string,
  ca: CertificateAuthority,
  certPem: string,
  passphrase: string,
  rootPem?: string,
): void {
  fs.mkdirSync(path.join(dir, name), { recursive: true, mode: 0o700 });
  fs.writeFileSync(path.join(dir, name, "ca.pem"), certPem);
  writeFileAtomic(path.join(dir, name, "key.enc.pem"), exportPkcs8(ca.privateKey, { passphrase }));
  if (rootPem) fs.writeFileSync(path.join(dir, name, "chain.pem"), certPem + rootPem);
}

export function loadState(dir: string): CeremonyState {
  const file = path.join(dir, STATE);
  if (!fs.existsSync(file))
    throw new PkiError(
      "bad-input",
      `${dir} is not a ceremony directory (no ${STATE}); run \`zeroroot pki init --dir ${dir}\` first`,
    );
  return JSON.parse(fs.readFileSync(file, "utf8")) as CeremonyState;
}

function save(dir: string, state: CeremonyState): void {
  // Atomic: a crash mid-write must not lose the register of issued serials.
  writeFileAtomic(path.join(dir, STATE), `${JSON.stringify(state, null, 2)}\n`, 0o644);
}

/** Opens the root ("root") or a data center's issuing CA; a wrong passphrase is a PkiError "wrong-passphrase". */
export function openCa(dir: string, signer: string, passphrase: string): CertificateAuthority {
  const state = loadState(dir);
  if (signer !== "root" && !state.dcs[signer]) {
    throw new PkiError(
      "bad-input",
      `data center "${signer}" is not in this ceremony; known: ${Object.keys(state.dcs).join(", ")}`,
    );
  }
  const base = path.join(dir, signer);
  return loadCa(
    fs.readFileSync(path.join(base, "ca.pem"), "utf8"),
    fs.readFileSync(path.join(base, "key.enc.pem")),
    passphrase,
  );
}

export function signWithCeremony(
  dir: string,
  signer: string,
  passphrase: string,
  kind: ProfileName,
  csrPem: string,
  auth: Authorisation,
): IssuedCertificate {
  const state = loadState(dir);
  const issued = issueFromCsr(openCa(dir, signer, passphrase), kind, csrPem, auth);
  record(state, issued, signer);
  fs.writeFileSync(path.join(dir, "issued", `${issued.serial}.pem`), issued.certificatePem);
  save(dir, state);
  return issued;
}

function record(state: CeremonyState, issued: IssuedCertificate, signer: string): void {
  const commonName = parseCertificate(issued.certificatePem).commonName;
  state.issued.push({
    serial: issued.serial,
    kind: issued.profile,
    signer,
    commonName,
    notAfter: issued.notAfter.toISOString(),
  });
}

export function revokeInCeremony(dir: string, serial: string, reason: string): IssuedRecord {
  const state = loadState(dir);
  const s = normaliseSerial(serial);
  const i = state.issued.findIndex((r) => normaliseSerial(r.serial) === s);
  if (i < 0)
    throw new PkiError("bad-input", `serial ${serial} was not issued by this ceremony (see ${STATE})`);
  const rec = { ...state.issued[i], revoked: { reason: checkReason(reason), at: new Date().toISOString() } };
  state.issued[i] = rec;
  save(dir, state);
  return rec;
}

/** Issues the next CRL of `signer` ("root" or a data center) from the register. */
export function crlFromCeremony(dir: string, signer: string, passphrase: string): string {
  const state = loadState(dir);
  const ca = openCa(dir, signer, passphrase);
  const number = (state.crlNumbers[signer] ?? 0) + 1;
  state.crlNumbers[signer] = number;
  const revoked = state.issued
    .filter((r) => r.signer === signer && r.revoked)
    .map((r) => ({ serial: r.serial, reason: r.revoked!.reason, revokedAt: new Date(r.revoked!.at) }));
  const crl = issueCrl(ca, revoked, { number });
  save(dir, state);
  return crl;
}

export function rootCertificatePath(dir: string): string {
  return path.join(dir, "root", "ca.pem");
}
