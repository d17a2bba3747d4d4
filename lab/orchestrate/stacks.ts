/**
 * Writes the lab's stack files, in the same format users write theirs: the global stack with the
 * offline root's certificate, one data-center stack per lab data center with its servers and their
 * BMC passwords as Pulumi secrets (encrypted with the lab's passphrase, as the CLI would).
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { stringify } from "yaml";
import { PassphraseCrypter } from "../pulumi-passphrase";
import { BMC_USER, DOMAIN, LAB_PARTITIONS, SITE_PORT, type LabLayout } from "./layout";
import { LAB_RELEASE_REF } from "./releases";

export interface LabStackFiles {
  readonly global: string;
  readonly dataCenters: Record<string, string>;
}

/** Role of the j-th server (0-based) of a lab data center: storage first, so every DC holds storage. */
const roleOf = (j: number, n: number) => (j === 1 && n > 1 ? "compute" : "storage");

export function writeLabStacks(lab: LabLayout, rootPem: string): LabStackFiles {
  mkdirSync(lab.paths.stacks, { recursive: true, mode: 0o700 });
  const crypter = PassphraseCrypter.create(lab.secrets.stackPassphrase);
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
          partitionsPerServer: LAB_PARTITIONS,
          servers: d.servers.map((s, j) => ({
            id: s.id,
            hostname: `${s.id.slice(d.id.length + 1)}.${d.id}.${DOMAIN}`,
            roles: [roleOf(j, d.servers.length)],
            address: s.dataAddress,
            macs: [s.mac],
            bootDisk: `/dev/disk/by-id/zeroroot-lab-${s.id}`,
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
