/**
 * The node's identity as the installer left it in /etc/zeroroot: the computer key (made on this
 * node, readable only by zr-agent), its certificate and chain, the root, and where the site is.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";

export interface NodeIdentity {
  readonly serverId: string;
  readonly hostname: string;
  readonly siteUrl: string;
  readonly siteServerName: string;
  readonly certificateChainPem: string;
  readonly privateKeyPem: string;
  readonly rootPem: string;
}

export function loadIdentity(dir = "/etc/zeroroot"): NodeIdentity {
  const agent = JSON.parse(readFileSync(join(dir, "agent.json"), "utf8")) as Pick<
    NodeIdentity,
    "serverId" | "hostname" | "siteUrl" | "siteServerName"
  >;
  return {
    ...agent,
    certificateChainPem: readFileSync(join(dir, "computer.crt"), "utf8"),
    privateKeyPem: readFileSync(join(dir, "computer.key"), "utf8"),
    rootPem: readFileSync(join(dir, "root.crt"), "utf8"),
  };
}
