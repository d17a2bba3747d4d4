/**
 * The live probes against the desired state: an SSH server that answered, TLS endpoints that do
 * not demand a client certificate (and their certificates' expiry), ports the firewall does not allow.
 * TLS endpoints on ports the firewall drops are not probed (targets.ts): only an answer there counts.
 */
import { DRIFT_CHECKS as C } from "./checks";
import { expiry, lined, type Add } from "./compare-shared";
import type { DesiredServer } from "./desired";
import type { ProbeObservation } from "./observed";
import { admittedTcpPorts } from "./targets";

export function compareProbes(d: DesiredServer, p: ProbeObservation, now: number, add: Add): void {
  for (const s of p.ssh)
    if (s.outcome === "accepted")
      add(C.sshAccepted, {
        subject: `port ${s.port}`,
        message: `an SSH server answered on port ${s.port}: ${s.detail}`,
        observed: s.detail,
        desired: "no SSH server (refused or closed)",
      });
  const endpointAt = (port: number) =>
    d.instances.flatMap((i) => i.endpoints).find((e) => e.port === port)?.location;
  for (const t of p.tls) {
    // Nothing listens (the host reset the connection): whether the instance runs is the report's to say.
    if (t.listening === false) continue;
    // It admits only listed peers and admitted nothing from here: no client without a certificate got in.
    if (t.closesOnProber) continue;
    const where = endpointAt(t.port);
    if (t.error) {
      add(C.sourceUnreadable, {
        subject: `tls port ${t.port}`,
        message: `the TLS probe of port ${t.port} failed: ${t.error}`,
        observed: t.error,
        desired: "a TLS handshake",
        location: where,
      });
      continue;
    }
    // A database that starts TLS in its protocol demands the certificate at login, out of a probe's reach.
    if (!t.demandsClientCertificate && !t.upgrade)
      add(C.tlsClientCertificate, {
        subject: `port ${t.port}`,
        message: `the TLS endpoint on port ${t.port} accepted a client without a certificate`,
        observed: "handshake completed without a client certificate",
        desired: "client certificate required",
        location: where,
      });
    // The same certificate the agent reports (service:<instance>): one finding, whoever saw it first.
    const owner = d.instances.find((i) => i.endpoints.some((e) => e.port === t.port));
    const subject = owner ? `certificate service:${owner.name}` : `tls port ${t.port}`;
    if (t.notAfter) expiry(d, subject, t.notAfter, now, add, where);
  }
  if (d.firewall) {
    // A default-deny firewall admits its allowed ports only: an endpoint it does not admit must
    // not answer from the management network either (the ruleset was changed, or is not applied).
    const allowed = new Set(
      admittedTcpPorts(d.firewall) ?? [
        ...d.firewall.allowedTcpPorts,
        ...d.instances.flatMap((i) => i.endpoints.map((e) => e.port)),
      ],
    );
    for (const port of p.openTcpPorts)
      if (!allowed.has(port))
        add(C.unexpectedPort, {
          subject: `port ${port}`,
          message: `the server answers on TCP port ${port}, which its firewall does not allow`,
          observed: `port ${port} open`,
          desired: `only ${[...allowed].sort((a, b) => a - b).join(", ") || "no port"}`,
          location: lined(d.imageLocation, d.location),
          urn: d.imageUrn,
        });
  }
}
