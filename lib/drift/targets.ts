/**
 * From what a stack wants of a server to what the observers (lib/drift/observe) need to look at
 * it: where its BMC is (with the login only when the caller has one), its data address, the ports
 * the TCP sweep adds to its list, and the TLS endpoints to handshake with. Pure.
 *
 * What the firewall lets through decides what is probed: the image's ruleset (lib/hardening
 * render.ts) accepts new TCP connections on `allowedTcpPorts` only (never a remote-login port) and
 * drops the rest, from any source, so a TLS endpoint on a port it does not admit cannot be reached
 * from the management network — not probing it is right, a failed handshake there would be a false
 * "unreachable endpoint". Every declared port is still in the sweep: a port that answers where the
 * firewall should drop is an `unexpected-port` finding (compare-probes.ts).
 */
import { asCipherSuite, isCipherSuite } from "../contracts/resources";
import type { FirewallSpec } from "../contracts/resources";
import { REMOTE_LOGIN_PORTS } from "../hardening/spec";
import type { DesiredServer } from "./desired";
import type { ObserveTarget } from "./observe";
import type { BmcLogin } from "./state-credentials";

/**
 * The TCP ports the desired firewall accepts new connections on (sorted); undefined when the
 * stack declares no firewall, or its input policy accepts everything (every port is then admitted).
 */
export function admittedTcpPorts(firewall: FirewallSpec | undefined): number[] | undefined {
  if (!firewall || firewall.inputPolicy !== "drop") return undefined;
  return [...new Set(firewall.allowedTcpPorts.filter((p) => !REMOTE_LOGIN_PORTS[p]))].sort((a, b) => a - b);
}

export function observeTargetOf(d: DesiredServer, login: BmcLogin | undefined): ObserveTarget {
  const endpoints = d.instances.flatMap((i) => i.endpoints);
  const declared = new Set([
    ...(d.firewall?.allowedTcpPorts ?? []),
    ...endpoints.filter((e) => e.protocol !== "udp").map((e) => e.port),
  ]);
  const admitted = admittedTcpPorts(d.firewall);
  const reachable = (port: number) => admitted === undefined || admitted.includes(port);
  return {
    dataCenter: d.dataCenter,
    server: d.server,
    ...(login !== undefined
      ? {
          bmc: {
            serverId: d.server,
            address: d.bmc.address,
            port: d.bmc.port,
            username: login.username,
            password: login.password,
            ...(isCipherSuite(d.bmc.cipherSuite) ? { cipherSuite: asCipherSuite(d.bmc.cipherSuite) } : {}),
          },
        }
      : {}),
    address: d.address,
    declaredTcpPorts: [...declared].sort((a, b) => a - b),
    tlsPorts: [...new Set(endpoints.filter((e) => e.tls && reachable(e.port)).map((e) => e.port))].sort(
      (a, b) => a - b,
    ),
  };
}
