/**
 * The data-center stack file `npm run bench -- stack` evaluates: the example dc1 stack (its secrets
 * provider, services, clusters and global stack) with `n` servers named as the example's are
 * (storage `dc1-s01`…, compute `dc1-c01`…, so its placements by server id and its cluster's
 * scheduler hold), a third of them storage and the rest compute, on /16 networks so 1,000 servers
 * fit.
 */
import { mkdtempSync, readFileSync, writeFileSync, cpSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const STACKS = join(__dirname, "..", "stacks");

const hex2 = (n: number) => n.toString(16).padStart(2, "0");
/** Host part of the i-th address on a /16: third octet 1.., fourth 10..249 (clear of the management server's .2). */
const host = (i: number) => `${1 + Math.floor(i / 240)}.${10 + (i % 240)}`;

/**
 * The i-th server (from 1): every third one storage, the others compute, numbered per role as the
 * example's are (`dc1-s01`, `dc1-c01`), so placements by id and the cluster's scheduler still hold.
 */
function serverYaml(i: number, secure: string): string {
  const storage = i % 3 === 1;
  const nth = storage ? (i + 2) / 3 : i - Math.floor((i + 1) / 3);
  const id = `${storage ? "s" : "c"}${String(nth).padStart(2, "0")}`;
  return [
    `      - id: dc1-${id}`,
    `        hostname: ${id}.dc1.zeroroot.example`,
    `        roles: [${storage ? "storage" : "compute"}]`,
    `        address: 10.78.${host(i)}`,
    `        macs: ["52:54:00:02:${hex2(i >> 8)}:${hex2(i & 255)}"]`,
    `        bmc:`,
    `          address: 10.77.${host(i)}`,
    `          port: 623`,
    `          username: zeroroot`,
    `          password:`,
    `            secure: ${secure}`,
    `          cipherSuite: 17`,
  ].join("\n");
}

/** Writes a copy of stacks/ whose dc1 stack has `n` servers; returns the dc1 file's path. */
export function fleetStack(n: number): string {
  const dir = mkdtempSync(join(tmpdir(), "zr-bench-stack-"));
  cpSync(STACKS, dir, { recursive: true, filter: (s) => !s.endsWith(".ts") });
  const file = join(dir, "Pulumi.dc1.yaml");
  const text = readFileSync(file, "utf8");
  const secure = /secure: (v1:\S+)/.exec(text)?.[1];
  if (!secure) throw new Error("stacks/Pulumi.dc1.yaml has no secure value to reuse");
  const head = text
    .slice(0, text.indexOf("    servers:\n"))
    .replace("managementNetwork: 10.77.1.0/24", "managementNetwork: 10.77.0.0/16")
    .replace("cidr: 10.78.1.0/24", "cidr: 10.78.0.0/16");
  // Everything after the servers: the next top-level line of config (a key or its comment) on.
  const serversAt = text.indexOf("    servers:\n");
  const tail = text.slice(text.slice(serversAt).search(/\n {2}\S/) + serversAt + 1);
  const servers = Array.from({ length: n }, (_, i) => serverYaml(i + 1, secure)).join("\n");
  writeFileSync(file, `${head}    servers:\n${servers}\n${tail}`);
  return file;
}
