/**
 * The lab's certificate hierarchy: an offline root made by the same ceremony operators run
 * (`zeroroot pki init`), an operator's user certificate, and each site's issuing CA signed from
 * the CSR the site made (its key stays in the site's state directory).
 */
import { chmodSync, copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import {
  createCsr,
  exportPkcs8,
  generateKeyPair,
  initCeremony,
  rootCertificatePath,
  signWithCeremony,
} from "../../lib/pki";
import { DOMAIN, type LabLayout } from "./layout";

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
    log("pki: operator certificate (user profile, CN=operator)");
    mkdirSync(dirname(cert), { recursive: true, mode: 0o700 });
    const keys = generateKeyPair();
    const issued = signWithCeremony(
      dir,
      "dc1",
      lab.secrets.ceremonyPassphrase,
      "user",
      createCsr({ commonName: "operator" }, keys.privateKey),
      { commonName: "operator" },
    );
    writeFileSync(key, exportPkcs8(keys.privateKey), { mode: 0o600 });
    writeFileSync(cert, issued.certificatePem + readFileSync(join(dir, "dc1", "ca.pem"), "utf8"));
  }
  // Public: every site and installer reads it.
  const rootPath = join(lab.dir, "root.pem");
  copyFileSync(rootCertificatePath(dir), rootPath);
  chmodSync(rootPath, 0o644);
  return { rootPem: readFileSync(rootPath, "utf8"), rootPath };
}

/**
 * Software-signing identities of the lab's administrators: one signs releases, one signs desired
 * state (kept apart so a stolen state signer cannot ship software). Files 0600 in the lab dir.
 */
export function ensureLabSigners(
  lab: LabLayout,
): Record<"release" | "state", { cert: string; key: string; commonName: string }> {
  const out = {} as Record<"release" | "state", { cert: string; key: string; commonName: string }>;
  for (const kind of ["release", "state"] as const) {
    const commonName = `lab ${kind} signer`;
    const cert = join(lab.dir, "signers", `${kind}-signer.crt`);
    const key = join(lab.dir, "signers", `${kind}-signer.key`);
    if (!existsSync(cert)) {
      mkdirSync(dirname(cert), { recursive: true, mode: 0o700 });
      const keys = generateKeyPair();
      const issued = signWithCeremony(
        lab.paths.pki,
        "dc1",
        lab.secrets.ceremonyPassphrase,
        "software",
        createCsr({ commonName }, keys.privateKey),
        { commonName },
      );
      writeFileSync(key, exportPkcs8(keys.privateKey), { mode: 0o600 });
      writeFileSync(cert, issued.certificatePem + readFileSync(join(lab.paths.pki, "dc1", "ca.pem"), "utf8"));
    }
    out[kind] = { cert, key, commonName };
  }
  return out;
}

/** The root signs a site's issuing CA CSR, constrained to the data center's zone and networks. */
export function signSiteCa(lab: LabLayout, dc: string, csrPem: string): string {
  const d = lab.plan.dataCenters.find((x) => x.id === dc);
  if (!d) throw new Error(`no data center ${dc} in the lab`);
  const issued = signWithCeremony(lab.paths.pki, "root", lab.secrets.ceremonyPassphrase, "issuing", csrPem, {
    nameScope: { dnsZones: [`${dc}.${DOMAIN}`], ipNetworks: [d.managementSubnet, d.dataSubnet] },
    organization: "zeroroot",
  });
  return issued.certificatePem;
}
