/**
 * The lab's certificate hierarchy: an offline root made by the same ceremony operators run
 * (`zeroroot pki init`), with one offline issuing CA per data center that may issue every kind (it
 * certifies the operator, the software signers and the control plane's members), an operator's user
 * certificate, and each site's online issuing CA signed from the CSR the site made (its key stays in
 * the site's state directory), limited to computer and service certificates.
 */
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  readFileSync,
  renameSync,
  writeFileSync,
} from "node:fs";
import { dirname, join } from "node:path";
import { SITE_CA_KINDS } from "../../agents/site/ca";
import {
  createCsr,
  crlFromCeremony,
  exportPkcs8,
  formatIdentity,
  generateKeyPair,
  initCeremony,
  loadState,
  normaliseSerial,
  parseCrl,
  rootCertificatePath,
  signWithCeremony,
} from "../../lib/pki";
import { DOMAIN, type LabLayout } from "./layout";

/** The data center whose offline CA certifies the lab's people and signers. */
export const LAB_ADMIN_DC = "dc1";
/** The lab operator's identity, as site configurations and authorisation lists name it. */
export const LAB_OPERATOR = formatIdentity({ dataCenter: LAB_ADMIN_DC, kind: "user", name: "operator" });

/** Makes the ceremony (once) and the operator identity (once); returns the root certificate path readable by all. */
export function ensureLabPki(
  lab: LabLayout,
  log: (m: string) => void,
): { rootPem: string; rootPath: string } {
  const dir = lab.paths.pki;
  if (!existsSync(join(dir, "ceremony.json"))) {
    log("pki: root ceremony (offline root, key encrypted at rest)");
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    initCeremony({
      dir,
      domain: DOMAIN,
      dcs: lab.plan.dataCenters.map((d) => d.id),
      networks: Object.fromEntries(
        lab.plan.dataCenters.map((d) => [d.id, [d.managementSubnet, d.dataSubnet]]),
      ),
      passphrase: lab.secrets.ceremonyPassphrase,
    });
  }
  const { cert, key } = lab.paths.operator;
  if (!existsSync(cert)) {
    log(`pki: operator certificate (${LAB_OPERATOR})`);
    mkdirSync(dirname(cert), { recursive: true, mode: 0o700 });
    const keys = generateKeyPair();
    const issued = signWithCeremony(
      dir,
      LAB_ADMIN_DC,
      lab.secrets.ceremonyPassphrase,
      "user",
      createCsr({ commonName: "operator" }, keys.privateKey),
      { commonName: "operator" },
    );
    writeFileSync(key, exportPkcs8(keys.privateKey), { mode: 0o600 });
    writeFileSync(cert, issued.certificatePem + readFileSync(join(dir, LAB_ADMIN_DC, "ca.pem"), "utf8"));
  }
  // Public: every site and installer reads it.
  const rootPath = join(lab.dir, "root.pem");
  copyFileSync(rootCertificatePath(dir), rootPath);
  chmodSync(rootPath, 0o644);
  return { rootPem: readFileSync(rootPath, "utf8"), rootPath };
}

export interface LabSigner {
  readonly cert: string;
  readonly key: string;
  readonly commonName: string;
  /** `dc1/software/<name>`: how authorisation lists name it. */
  readonly identity: string;
}

/** Names of the lab's software signers: plain names, certified by the admin data center's offline CA. */
export const labSignerName = (kind: "release" | "state"): string => `lab-${kind}-signer`;
export const labSignerIdentity = (kind: "release" | "state"): string =>
  formatIdentity({ dataCenter: LAB_ADMIN_DC, kind: "software", name: labSignerName(kind) });

/**
 * Software-signing identities of the lab's administrators: one signs releases, one signs desired
 * state (kept apart so a stolen state signer cannot ship software). Files 0600 in the lab dir.
 */
export function ensureLabSigners(lab: LabLayout): Record<"release" | "state", LabSigner> {
  const out = {} as Record<"release" | "state", LabSigner>;
  for (const kind of ["release", "state"] as const) {
    const commonName = labSignerName(kind);
    const cert = join(lab.dir, "signers", `${commonName}.crt`);
    const key = join(lab.dir, "signers", `${commonName}.key`);
    if (!existsSync(cert)) {
      mkdirSync(dirname(cert), { recursive: true, mode: 0o700 });
      const keys = generateKeyPair();
      const issued = signWithCeremony(
        lab.paths.pki,
        LAB_ADMIN_DC,
        lab.secrets.ceremonyPassphrase,
        "software",
        createCsr({ commonName }, keys.privateKey),
        { commonName },
      );
      writeFileSync(key, exportPkcs8(keys.privateKey), { mode: 0o600 });
      writeFileSync(
        cert,
        issued.certificatePem + readFileSync(join(lab.paths.pki, LAB_ADMIN_DC, "ca.pem"), "utf8"),
      );
    }
    out[kind] = { cert, key, commonName, identity: labSignerIdentity(kind) };
  }
  return out;
}

/**
 * The root signs a site's issuing CA CSR, constrained to the data center's zone and networks and to
 * the kinds an online CA may issue (SITE_CA_KINDS: computer, service, job): a stolen site key cannot
 * mint an operator or a software signer, because every verifier applies the name constraints.
 */
export function signSiteCa(lab: LabLayout, dc: string, csrPem: string): string {
  const d = lab.plan.dataCenters.find((x) => x.id === dc);
  if (!d) throw new Error(`no data center ${dc} in the lab`);
  const issued = signWithCeremony(lab.paths.pki, "root", lab.secrets.ceremonyPassphrase, "issuing", csrPem, {
    nameScope: {
      dnsZones: [`${dc}.${DOMAIN}`],
      ipNetworks: [d.managementSubnet, d.dataSubnet],
      kinds: SITE_CA_KINDS,
    },
    organization: "zeroroot",
  });
  return issued.certificatePem;
}

/**
 * The ceremony CAs' CRLs (the root's and each offline data-center CA's), as files readable by the
 * sites: `<lab>/crls/<signer>.crl`. Made again when missing, past half of their life, or when the
 * ceremony's register (`zeroroot pki revoke`) lists revocations the file does not. Returns the paths, root first.
 */
export function ensureLabCrls(lab: LabLayout, now = new Date()): string[] {
  const dir = join(lab.dir, "crls");
  mkdirSync(dir, { recursive: true, mode: 0o755 });
  chmodSync(dir, 0o755);
  const signers = ["root", ...lab.plan.dataCenters.map((d) => d.id)];
  const register = loadState(lab.paths.pki).issued;
  const revokedBy = (signer: string) =>
    register.filter((r) => r.signer === signer && r.revoked).map((r) => normaliseSerial(r.serial));
  return signers.map((signer) => {
    const file = join(dir, `${signer}.crl`);
    if (!existsSync(file) || !current(readFileSync(file), revokedBy(signer), now)) {
      writeFileSync(`${file}.new`, crlFromCeremony(lab.paths.pki, signer, lab.secrets.ceremonyPassphrase), {
        mode: 0o644,
      });
      renameSync(`${file}.new`, file);
    }
    return file;
  });
}

/** Whether a CRL file lists every serial of `revoked` and is within the first half of its life. */
function current(crlPem: Buffer, revoked: readonly string[], now: Date): boolean {
  const crl = parseCrl(crlPem);
  if (!crl.nextUpdate || revoked.some((s) => !crl.revoked.has(s))) return false;
  return now.getTime() < (crl.thisUpdate.getTime() + crl.nextUpdate.getTime()) / 2;
}
