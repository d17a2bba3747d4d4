/**
 * Writes the lab's stack files, in the same format users write theirs: the global stack with the
 * offline root's certificate, one data-center stack per lab data center with its servers and their
 * BMC passwords as Pulumi secrets (encrypted with the lab's passphrase, as the CLI would).
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parse, stringify } from "yaml";
import { PassphraseCrypter } from "../pulumi-passphrase";
import { BMC_USER, DOMAIN, LAB_PARTITIONS, SITE_PORT, type LabLayout } from "./layout";
import { LAB_RELEASE_REF } from "./releases";

export interface LabStackFiles {
  readonly global: string;
  readonly dataCenters: Record<string, string>;
}

/** Role of the j-th server (0-based) of a lab data center: storage first, so every DC holds storage. */
const roleOf = (j: number, n: number) => (j === 1 && n > 1 ? "compute" : "storage");

export function writeLabStacks(
  lab: LabLayout,
  rootPem: string,
  /** The image the sites serve: the stacks' HardenedImage checks it is there and unaltered. */
  image?: { readonly sha256: string; readonly dir: string },
): LabStackFiles {
  mkdirSync(lab.paths.stacks, { recursive: true, mode: 0o700 });
  const global = join(lab.paths.stacks, "Pulumi.global.yaml");
  const header = "# Written by `zeroroot lab up`; the lab's passphrase is in ../secrets.json (lab only).\n";
  writeFileSync(
    global,
    header +
      stringify({
        config: {
          "zeroroot:domain": DOMAIN,
          "zeroroot:global": {
            dataCenters: lab.plan.dataCenters.map((d) => d.id),
            rootCa: { mode: "offline", certificate: rootPem },
          },
        },
      }),
  );
  const dataCenters: Record<string, string> = {};
  for (const d of lab.plan.dataCenters) {
    const file = join(lab.paths.stacks, `Pulumi.${d.id}.yaml`);
    dataCenters[d.id] = file;
    const crypter = stackCrypter(file, lab.secrets.stackPassphrase);
    const doc = {
      encryptionsalt: crypter.encryptionSalt,
      config: {
        "zeroroot:domain": DOMAIN,
        "zeroroot:globalStack": "organization/zeroroot/global",
        // Every lab server runs the lab's signed release; it holds data, so it is protected.
        "zeroroot:services": [
          {
            name: "echo",
            release: LAB_RELEASE_REF,
            placement: { servers: d.servers.map((s) => s.id) },
            holdsData: true,
            minimumPersistence: "1h",
          },
        ],
        "zeroroot:dataCenter": {
          name: d.id,
          location: "lab",
          managementNetwork: d.managementSubnet,
          dataNetworks: [{ name: "data", cidr: d.dataSubnet }],
          managementServer: {
            id: `${d.id}-mgmt`,
            hostname: `mgmt.${d.id}.${DOMAIN}`,
            managementAddress: d.managementServer.managementAddress,
            dataAddress: d.managementServer.dataAddress,
            macs: [`02:00:00:00:${d.id.slice(2).padStart(2, "0")}:02`],
          },
          sitePort: SITE_PORT,
          ...(image ? { image: { sha256: image.sha256, dir: image.dir } } : {}),
          partitionsPerServer: LAB_PARTITIONS,
          servers: d.servers.map((s, j) => ({
            id: s.id,
            hostname: `${s.id.slice(d.id.length + 1)}.${d.id}.${DOMAIN}`,
            roles: [roleOf(j, d.servers.length)],
            address: s.dataAddress,
            macs: [s.mac],
            bmc: {
              address: s.bmcAddress,
              port: 623,
              username: BMC_USER,
              password: { secure: crypter.encrypt(lab.secrets.bmcPasswords[s.id]) },
              cipherSuite: 3,
            },
          })),
        },
      },
    };
    writeFileSync(file, header + stringify(doc));
  }
  return { global, dataCenters };
}

/**
 * The crypter of a stack file: its existing salt when it has one (as Pulumi keeps a stack's salt), so
 * that secrets the deployment state holds, encrypted with the stack's key, stay readable across runs.
 */
function stackCrypter(file: string, passphrase: string): PassphraseCrypter {
  if (existsSync(file)) {
    const salt = (parse(readFileSync(file, "utf8")) as { encryptionsalt?: unknown } | null)?.encryptionsalt;
    if (typeof salt === "string") return PassphraseCrypter.fromSalt(passphrase, salt);
  }
  return PassphraseCrypter.create(passphrase);
}
