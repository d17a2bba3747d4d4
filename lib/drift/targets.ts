/**
 * From what a stack wants of a server to what the observers (lib/drift/observe) need to look at
 * it: where its BMC is (with the password only when the caller could decrypt it), its data address,
 * and the ports its stack declares (probed, and TLS-probed for endpoints with TLS). Pure.
 */
import { asCipherSuite, isCipherSuite } from "../contracts/resources";
import type { DesiredServer } from "./desired";
import type { ObserveTarget } from "./observe";

export function observeTargetOf(d: DesiredServer, bmcPassword: string | undefined): ObserveTarget {
  const endpoints = d.instances.flatMap((i) => i.endpoints);
  const declared = new Set([
    ...(d.firewall?.allowedTcpPorts ?? []),
    ...endpoints.filter((e) => e.protocol !== "udp").map((e) => e.port),
  ]);
  return {
    dataCenter: d.dataCenter,
    server: d.server,
    ...(bmcPassword !== undefined
      ? {
          bmc: {
            serverId: d.server,
            address: d.bmc.address,
            port: d.bmc.port,
            username: d.bmc.username,
            password: bmcPassword,
            ...(isCipherSuite(d.bmc.cipherSuite) ? { cipherSuite: asCipherSuite(d.bmc.cipherSuite) } : {}),
          },
        }
      : {}),
    address: d.address,
    declaredTcpPorts: [...declared].sort((a, b) => a - b),
    tlsPorts: [...new Set(endpoints.filter((e) => e.tls).map((e) => e.port))].sort((a, b) => a - b),
  };
}
