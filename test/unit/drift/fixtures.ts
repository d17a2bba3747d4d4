/**
 * A compliant baseline per side (compliance-policies' model): one desired server and the
 * observation of that server with nothing wrong. Each test changes one thing and expects one finding.
 */
import { DRIFT_DEFAULTS, type DriftConfig } from "../../../lib/drift/config";
import type { DesiredServer } from "../../../lib/drift/desired";
import type { AgentReportObservation, ObservedServer, ProbeObservation } from "../../../lib/drift/observed";

export const NOW = Date.parse("2026-12-01T12:00:00Z");
export const FILE = "stacks/Pulumi.dc1.yaml";
const DAY = 86_400_000;

export function desiredServer(id = "dc1-s01", drift: Partial<DriftConfig> = {}): DesiredServer {
  const svc = { file: FILE, key: "zeroroot:services[0]", line: 80 };
  return {
    stack: "dc1",
    dataCenter: "dc1",
    server: id,
    hostname: `${id.slice(4)}.${id.slice(0, 3)}.zeroroot.example`,
    address: "10.78.1.11",
    urn: `urn:pulumi:dc1::zeroroot::zeroroot:fleet:BmcServer::${id}-bmc`,
    desiredStateUrn: `urn:pulumi:dc1::zeroroot::zeroroot:desired-state:DesiredState::${id}-state`,
    imageUrn: "urn:pulumi:dc1::zeroroot::zeroroot:image:HardenedImage::dc1-image",
    bmc: { address: "10.77.1.111", port: 623, username: "zeroroot", cipherSuite: 3 },
    power: "on",
    bootDevice: "disk",
    instances: [
      {
        name: "postgresql",
        release: { name: "postgresql", version: "15.8.0" },
        partition: { user: "zr-p000", uid: 2100 },
        holdsData: true,
        endpoints: [
          {
            port: 5432,
            protocol: "tcp",
            tls: true,
            requireClientCertificate: true,
            location: { file: FILE, key: "zeroroot:services[0].endpoints[0]", line: 86 },
          },
        ],
        location: svc,
        releaseLocation: { file: FILE, key: "zeroroot:services[0].release", line: 81 },
      },
    ],
    controlPlaneEndpoints: ["https://etcd.dc1.zeroroot.example:2379"],
    firewall: { inputPolicy: "drop", allowedTcpPorts: [5432], allowedUdpPorts: [] },
    packages: ["supervisor", "python3", "nftables"],
    drift: { ...DRIFT_DEFAULTS, ...drift },
    location: { file: FILE, key: "zeroroot:dataCenter.servers[0]", line: 21 },
    imageLocation: { file: FILE, key: "zeroroot:dataCenter.image" },
    driftLocation: { file: FILE, key: "zeroroot:drift" },
  };
}

export function cleanReport(d: DesiredServer, now = NOW): AgentReportObservation {
  return {
    at: new Date(now - 30_000).toISOString(),
    ageSeconds: 30,
    desired: { version: 7, digest: "sha256:aa" },
    instances: d.instances.map((i, k) => ({
      name: i.name,
      release: { ...i.release },
      phase: "running",
      programs: [{ name: `${i.name}-main`, state: "RUNNING", pid: 400 + k }],
    })),
    host: {
      hostId: d.server,
      packages: ["supervisor", "python3", "nftables"],
      processes: [
        {
          pid: 1,
          name: "zr-init",
          uid: 0,
          user: "root",
          capabilities: ["CAP_SYS_ADMIN"],
          noNewPrivileges: false,
        },
        { pid: 400, name: "postgres", user: "zr-p000", uid: 2100, capabilities: [], noNewPrivileges: true },
      ],
      accounts: [{ user: "zr-p000", uid: 2100 }],
      listening: endpointsOf(d).map((e) => ({
        port: e.port,
        protocol: e.protocol,
        tls: e.tls,
        requireClientCertificate: e.requireClientCertificate,
      })),
      firewall: {
        inputPolicy: "drop",
        allowedTcpPorts: [...(d.firewall?.allowedTcpPorts ?? [])],
        allowedUdpPorts: [],
      },
    },
    certificates: [
      { name: "computer", subject: `CN=${d.server}`, notAfter: new Date(now + 300 * DAY).toISOString() },
      ...d.instances.map((i) => ({
        name: `service:${i.name}`,
        subject: `CN=${i.name}`,
        notAfter: new Date(now + 60 * DAY).toISOString(),
      })),
    ],
    nftablesSha256: "1111",
    nftablesAppliedSha256: "1111",
    alerts: [],
  };
}

const endpointsOf = (d: DesiredServer) => d.instances.flatMap((i) => i.endpoints);

export function cleanProbes(d: DesiredServer, now = NOW): ProbeObservation {
  return {
    address: d.address,
    openTcpPorts: endpointsOf(d).map((e) => e.port),
    ssh: [{ port: 22, outcome: "closed", detail: "ECONNREFUSED" }],
    tls: endpointsOf(d)
      .filter((e) => e.tls)
      .map((e) => ({
        port: e.port,
        subject: "CN=service",
        notAfter: new Date(now + 60 * DAY).toISOString(),
        demandsClientCertificate: e.requireClientCertificate,
      })),
  };
}

export function cleanObserved(d: DesiredServer, now = NOW): ObservedServer {
  return {
    dataCenter: d.dataCenter,
    server: d.server,
    observedAt: new Date(now).toISOString(),
    bmc: { power: "on", bootDevice: "disk" },
    report: cleanReport(d, now),
    probes: cleanProbes(d, now),
    published: { version: 7, digest: "sha256:aa" },
  };
}

/** The clean observation with the report changed by `f`. */
export function withReport(
  d: DesiredServer,
  f: (r: AgentReportObservation) => AgentReportObservation,
): ObservedServer {
  const o = cleanObserved(d);
  return { ...o, report: f(o.report as AgentReportObservation) };
}

export function withProbes(d: DesiredServer, f: (p: ProbeObservation) => ProbeObservation): ObservedServer {
  const o = cleanObserved(d);
  return { ...o, probes: f(o.probes as ProbeObservation) };
}
