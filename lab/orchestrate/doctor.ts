/** What `zeroroot lab` needs from the machine, and how to get what is missing. */
import { spawnSync } from "node:child_process";

const NEEDS: { tool: string; pkg: string; why: string }[] = [
  { tool: "ip", pkg: "iproute2", why: "network namespaces as hosts" },
  { tool: "nft", pkg: "nftables", why: "the fabric's firewall" },
  { tool: "ipmi_sim", pkg: "openipmi", why: "one BMC simulator per server" },
  { tool: "ipmitool", pkg: "ipmitool", why: "the BMC client zeroroot drives" },
  { tool: "mmdebstrap", pkg: "mmdebstrap", why: "building the hardened image" },
  { tool: "zstd", pkg: "zstd", why: "the image cache" },
  { tool: "setpriv", pkg: "util-linux", why: "running services unprivileged" },
  { tool: "unshare", pkg: "util-linux", why: "a PID namespace per server" },
  { tool: "ss", pkg: "iproute2", why: "checking listening ports" },
  { tool: "etcd", pkg: "etcd-server", why: "the control plane" },
  { tool: "etcdctl", pkg: "etcd-client", why: "control-plane access plan" },
  { tool: "openssl", pkg: "openssl", why: "independent checks of certificates" },
];

export interface DoctorReport {
  readonly root: boolean;
  readonly missing: readonly { tool: string; pkg: string; why: string }[];
}

export function doctor(): DoctorReport {
  const missing = NEEDS.filter((n) => spawnSync("sh", ["-c", `command -v ${n.tool}`]).status !== 0);
  return { root: process.getuid?.() === 0, missing };
}

export function formatDoctor(r: DoctorReport): string {
  const lines: string[] = [];
  lines.push(
    r.root
      ? "ok    running as root"
      : "MISSING root: the lab creates namespaces and mounts; run as root (sudo)",
  );
  for (const n of NEEDS) {
    const m = r.missing.find((x) => x.tool === n.tool);
    lines.push(m ? `MISSING ${n.tool} (${n.why}): apt-get install ${n.pkg}` : `ok    ${n.tool}`);
  }
  if (r.missing.length > 0)
    lines.push(`\nInstall everything at once: sudo bash scripts/install-debian-deps.sh`);
  return lines.join("\n");
}
