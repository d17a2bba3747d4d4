/**
 * The installer a server netboots when its BMC boot device is PXE. It runs in the netboot
 * environment (as root there: it must write a disk; the installed system never runs anything as
 * root but PID 1). Steps: fetch the netboot configuration, download the hardened image and check
 * its digest, write it to the disk, make the computer key pair on the node, enroll with the
 * one-time token and a CSR, store the certificate. The private key never leaves the node.
 *
 *   installer --site-url URL --server-name NAME (--mac MAC | --interface IF) [--disk DIR] --root-ca FILE
 * (--disk defaults to $ZR_DISK, which the netboot environment sets.)
 * Exit codes: 0 installed and enrolled, 1 refused (tampered image, enrollment refused), 2 usage.
 */
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import {
  chmodSync,
  chownSync,
  existsSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { createCsr, exportPkcs8, generateKeyPair, writeFileAtomic } from "../../lib/pki";
import { ROUTES, SiteClient, type EnrollResponse, type NetbootConfig } from "../../lib/site";

/** Where the installed system finds its identity; the agent (uid 2000) owns the key. */
export const IDENTITY_DIR = "etc/zeroroot";
export const AGENT_UID = 2000;

export interface InstallerArgs {
  readonly siteUrl: string;
  readonly serverName: string;
  readonly mac: string;
  readonly disk: string;
  readonly rootCaPem: string;
  readonly log?: (msg: string) => void;
}

export class InstallRefused extends Error {}

export async function install(a: InstallerArgs): Promise<{ serverId: string; serial?: string }> {
  const log = a.log ?? ((m: string) => process.stdout.write(`installer: ${m}\n`));
  const site = new SiteClient({
    url: a.siteUrl,
    trust: a.rootCaPem,
    serverName: a.serverName,
    timeoutMs: 60_000,
  });
  const netboot = await site.get<NetbootConfig>(ROUTES.netboot(a.mac));
  log(`netboot configuration for ${netboot.serverId}; image ${netboot.imageSha256.slice(0, 12)}…`);

  const auth = { authorization: `Bearer ${netboot.token}` };
  const image = await site.getBuffer(ROUTES.image(netboot.imageSha256), auth);
  const digest = createHash("sha256").update(image).digest("hex");
  if (digest !== netboot.imageSha256)
    throw new InstallRefused(
      `image refused: its sha256 is ${digest}, the netboot configuration expects ${netboot.imageSha256} (tampered or corrupt)`,
    );

  writeImage(image, a.disk);
  log(`image written to ${a.disk}`);

  // The computer's key is made here, on the node, and written only to its own disk.
  const keys = generateKeyPair("ec-p256");
  const csrPem = createCsr({ commonName: netboot.serverId, dnsNames: [netboot.hostname] }, keys.privateKey);
  const enrolled = await site.post<EnrollResponse>(ROUTES.enroll, { mac: a.mac, csrPem }, auth);

  const dir = join(a.disk, IDENTITY_DIR);
  mkdirSync(dir, { recursive: true, mode: 0o750 });
  writeFileAtomic(join(dir, "computer.key"), exportPkcs8(keys.privateKey));
  writeFileSync(
    join(dir, "computer.crt"),
    enrolled.certificatePem + enrolled.chainPem.split(/(?<=-----END CERTIFICATE-----\n?)/)[0],
  );
  writeFileSync(join(dir, "root.crt"), a.rootCaPem);
  const node = netboot.node ?? {};
  const agent = {
    serverId: netboot.serverId,
    hostname: netboot.hostname,
    siteUrl: a.siteUrl,
    siteServerName: a.serverName,
    ...(node.controlPlaneEndpoints
      ? {
          controlPlane: {
            endpoints: node.controlPlaneEndpoints,
            ...(node.requireFreshness !== undefined ? { requireFreshness: node.requireFreshness } : {}),
          },
        }
      : {}),
    ...(node.partitions !== undefined ? { partitions: node.partitions } : {}),
  };
  writeFileSync(join(dir, "agent.json"), JSON.stringify(agent, null, 2) + "\n");
  const files = ["computer.key", "computer.crt", "root.crt", "agent.json"];
  if (node.trust !== undefined) {
    writeFileSync(join(dir, "trust.json"), JSON.stringify(node.trust, null, 2) + "\n");
    files.push("trust.json");
  }
  if (node.hosts) appendHosts(a.disk, node.hosts);
  for (const f of files) chownSync(join(dir, f), AGENT_UID, AGENT_UID);
  chownSync(dir, 0, AGENT_UID);
  chmodSync(dir, 0o750);
  log(`enrolled as ${netboot.serverId}`);
  return { serverId: netboot.serverId };
}

/** Adds name → address lines to the installed system's /etc/hosts (the control plane is reached by name). */
function appendHosts(disk: string, hosts: Readonly<Record<string, string>>): void {
  const file = join(disk, "etc", "hosts");
  const lines = Object.entries(hosts).map(([name, ip]) => `${ip}\t${name}`);
  // minbase images ship no /etc/hosts: start from the loopback names.
  const before = existsSync(file)
    ? readFileSync(file, "utf8").trimEnd()
    : "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback";
  writeFileSync(file, `${before}\n# zeroroot: from the netboot configuration\n${lines.join("\n")}\n`, {
    mode: 0o644,
  });
}

/** Replaces the disk's contents with the image (a zstd tarball with numeric owners). */
function writeImage(image: Buffer, disk: string): void {
  mkdirSync(disk, { recursive: true });
  for (const entry of readdirSync(disk)) spawnSync("rm", ["-rf", "--one-file-system", join(disk, entry)]);
  const r = spawnSync("tar", ["--zstd", "-xpf", "-", "--numeric-owner", "-C", disk], {
    input: image,
    maxBuffer: 1 << 30,
  });
  if (r.status !== 0)
    throw new InstallRefused(
      `image refused: tar could not unpack it (${r.stderr.toString().trim().slice(0, 200)})`,
    );
}

function arg(args: string[], name: string): string | undefined {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
}

/** The MAC of the interface the server netbooted from (what the site bound the token to). */
function macOf(iface: string): string {
  return readFileSync(`/sys/class/net/${iface}/address`, "utf8").trim();
}

if (require.main === module) {
  const argv = process.argv.slice(2);
  // The netboot environment may give the disk and the boot interface instead of flags.
  if (!arg(argv, "--disk") && process.env.ZR_DISK) argv.push("--disk", process.env.ZR_DISK);
  if (!arg(argv, "--mac") && arg(argv, "--interface")) argv.push("--mac", macOf(arg(argv, "--interface")!));
  const need = ["--site-url", "--server-name", "--mac", "--disk", "--root-ca"].filter((n) => !arg(argv, n));
  if (need.length > 0) {
    process.stderr.write(`installer: missing ${need.join(", ")}\n`);
    process.exit(2);
  }
  install({
    siteUrl: arg(argv, "--site-url")!,
    serverName: arg(argv, "--server-name")!,
    mac: arg(argv, "--mac")!,
    disk: arg(argv, "--disk")!,
    rootCaPem: readFileSync(arg(argv, "--root-ca")!, "utf8"),
  }).then(
    () => process.exit(0),
    (err: unknown) => {
      process.stderr.write(`installer: ${(err as Error).message}\n`);
      process.exit(1);
    },
  );
}
