import { strict as assert } from "node:assert";
import { compareServer } from "../../../lib/drift/compare";
import type { ObservedServer, ProbeObservation } from "../../../lib/drift/observed";
import { cleanObserved, desiredServer, NOW, withProbes, withReport } from "./fixtures";

const d = desiredServer();
const DAY = 86_400_000;
const checks = (o: ObservedServer | undefined, desired = d) =>
  compareServer(desired, o, NOW).map((f) => `${f.check} ${f.subject}`);

describe("drift comparison: one change to a clean server, one finding", () => {
  it("a clean server has no finding", () => {
    assert.deepEqual(checks(cleanObserved(d)), []);
  });

  const cases: { name: string; observed: () => ObservedServer; expect: string[] }[] = [
    {
      name: "a server powered off that the stack wants on",
      observed: () => ({ ...cleanObserved(d), bmc: { power: "off", bootDevice: "disk" } }),
      expect: ["power-state power"],
    },
    {
      name: "the boot device changed to PXE through the BMC",
      observed: () => ({ ...cleanObserved(d), bmc: { power: "on", bootDevice: "pxe" } }),
      expect: ["boot-device boot device"],
    },
    {
      name: "a desired instance the agent does not report",
      observed: () => withReport(d, (r) => ({ ...r, instances: [] })),
      expect: ["instance-missing instance postgresql"],
    },
    {
      name: "an instance stopped",
      observed: () =>
        withReport(d, (r) => ({
          ...r,
          instances: r.instances.map((i) => ({
            ...i,
            programs: i.programs.map((p) => ({ ...p, state: "STOPPED" })),
          })),
        })),
      expect: ["instance-stopped instance postgresql"],
    },
    {
      name: "an instance running another release version",
      observed: () =>
        withReport(d, (r) => ({
          ...r,
          instances: r.instances.map((i) => ({ ...i, release: { name: "postgresql", version: "15.7.0" } })),
        })),
      expect: ["release-version instance postgresql"],
    },
    {
      name: "an instance the desired state does not name",
      observed: () =>
        withReport(d, (r) => ({
          ...r,
          instances: [...r.instances, { ...r.instances[0], name: "intruder" }],
        })),
      expect: ["instance-unexpected instance intruder"],
    },
    {
      name: "an agent that applied no desired state",
      observed: () => withReport(d, (r) => ({ ...r, desired: undefined })),
      expect: ["desired-state-unacknowledged desired state"],
    },
    {
      name: "an agent behind the published desired state",
      observed: () => ({ ...cleanObserved(d), published: { version: 8, digest: "sha256:bb" } }),
      expect: ["desired-state-unacknowledged desired state"],
    },
    {
      name: "a stale agent report",
      observed: () => withReport(d, (r) => ({ ...r, ageSeconds: 3_600 })),
      expect: ["report-stale report"],
    },
    {
      name: "a service certificate near expiry",
      observed: () =>
        withReport(d, (r) => ({
          ...r,
          certificates: [{ ...r.certificates[1], notAfter: new Date(NOW + 2 * DAY).toISOString() }],
        })),
      expect: ["certificate-expiry certificate service:postgresql"],
    },
    {
      name: "a firewall rule added by hand (live ruleset hash departs from the applied one)",
      observed: () => withReport(d, (r) => ({ ...r, nftablesSha256: "2222" })),
      expect: ["firewall-ruleset nftables"],
    },
    {
      name: "a ruleset the agent could not read",
      observed: () => withReport(d, (r) => ({ ...r, nftablesError: "PID 1 listed nothing" })),
      expect: ["source-unreadable nftables"],
    },
    {
      name: "an abnormal-usage alert",
      observed: () =>
        withReport(d, (r) => ({
          ...r,
          alerts: [
            { kind: "cpu", severity: "warning", at: new Date(NOW).toISOString(), detail: "99% for 10 min" },
          ],
        })),
      expect: ["agent-alert alert cpu"],
    },
    {
      name: "a process running as uid 0 other than PID 1 (the rule book's zero-root)",
      observed: () =>
        withReport(d, (r) => ({
          ...r,
          host: {
            ...r.host,
            processes: [
              ...(r.host.processes ?? []),
              { pid: 812, name: "sleep", user: "root", uid: 0, capabilities: [], noNewPrivileges: true },
            ],
          },
        })),
      expect: ["zero-root pid 812.uid"],
    },
    {
      name: "an SSH daemon started by hand (no-ssh on the report, ssh-accepted from the probe)",
      observed: () => {
        const o = withReport(d, (r) => ({
          ...r,
          host: {
            ...r.host,
            processes: [
              ...(r.host.processes ?? []),
              { pid: 900, name: "sshd", user: "zr-p000", uid: 2100, capabilities: [], noNewPrivileges: true },
            ],
          },
        }));
        const probes = o.probes as ProbeObservation;
        return {
          ...o,
          probes: {
            ...probes,
            ssh: [{ port: 22, outcome: "accepted", detail: "SSH-2.0-OpenSSH_9.2" }],
            openTcpPorts: [22, 5432],
          },
        };
      },
      expect: ["no-ssh pid 900.command", "ssh-accepted port 22", "unexpected-port port 22"],
    },
    {
      name: "a port the firewall does not allow answers",
      observed: () => withProbes(d, (p) => ({ ...p, openTcpPorts: [5432, 8080] })),
      expect: ["unexpected-port port 8080"],
    },
    {
      name: "a TLS endpoint that does not demand a client certificate",
      observed: () =>
        withProbes(d, (p) => ({ ...p, tls: [{ ...p.tls[0], demandsClientCertificate: false }] })),
      expect: ["tls-client-certificate port 5432"],
    },
    {
      name: "a TLS probe that failed",
      observed: () =>
        withProbes(d, (p) => ({
          ...p,
          tls: [{ port: 5432, demandsClientCertificate: false, error: "timeout" }],
        })),
      expect: ["source-unreadable tls port 5432"],
    },
    {
      name: "a TLS endpoint that admits only its listed peers (closed silently on the probe) is no finding",
      observed: () =>
        withProbes(d, (p) => ({
          ...p,
          tls: [{ port: 5432, demandsClientCertificate: true, closesOnProber: true as const }],
        })),
      expect: [],
    },
    {
      name: "an unreadable BMC",
      observed: () => ({ ...cleanObserved(d), bmc: { error: "no answer from 10.77.1.111:623" } }),
      expect: ["source-unreadable bmc"],
    },
    {
      name: "an unreadable report",
      observed: () => ({ ...cleanObserved(d), report: { error: "permission denied" } }),
      expect: ["source-unreadable report"],
    },
    {
      name: "unreadable probes",
      observed: () => ({ ...cleanObserved(d), probes: { error: "network unreachable" } }),
      expect: ["source-unreadable probes"],
    },
  ];
  for (const c of cases)
    it(`finds ${c.name}`, () => {
      assert.deepEqual(checks(c.observed()).sort(), [...c.expect].sort());
    });

  it("a server with no observation at all is three unreadable sources, never clean", () => {
    assert.deepEqual(checks(undefined), [
      "source-unreadable bmc",
      "source-unreadable report",
      "source-unreadable probes",
    ]);
  });

  it("a powered-off server is one finding, not a cascade of unreadable report and probes", () => {
    const o = {
      ...cleanObserved(d),
      bmc: { power: "off", bootDevice: "disk" },
      report: { error: "x" },
      probes: { error: "y" },
    };
    assert.deepEqual(checks(o as ObservedServer), ["power-state power"]);
  });

  it("a decommissioned server (desired off) that is off has no finding", () => {
    const off = { ...desiredServer(), power: "off" as const };
    assert.deepEqual(
      checks(
        { ...cleanObserved(off), bmc: { power: "off", bootDevice: "disk" }, report: { error: "x" } },
        off,
      ),
      [],
    );
  });

  it("each finding names stack, server, URN, opaque rule id, observed, desired, fix and the config line", () => {
    const [f] = compareServer(d, { ...cleanObserved(d), bmc: { power: "on", bootDevice: "pxe" } }, NOW);
    assert.equal(f.stack, "dc1");
    assert.equal(f.server, "dc1-s01");
    assert.match(f.urn, /BmcServer::dc1-s01-bmc$/);
    assert.equal(f.ruleId, "ZR2002");
    assert.notEqual(f.ruleId, f.check);
    assert.equal(f.observed, "pxe");
    assert.equal(f.desired, "disk");
    assert.equal(f.remedy, "setBootDevice");
    assert.match(f.fix, /boot device back to disk/);
    assert.deepEqual(f.location, d.location);
  });

  it("an instance finding points at its service's key, a release finding at its release line", () => {
    const fs = compareServer(
      d,
      withReport(d, (r) => ({
        ...r,
        instances: r.instances.map((i) => ({
          ...i,
          phase: "stopped",
          release: { name: "postgresql", version: "1.0.0" },
        })),
      })),
      NOW,
    );
    assert.equal(fs.find((f) => f.check === "instance-stopped")?.location.line, 80);
    assert.equal(fs.find((f) => f.check === "release-version")?.location.line, 81);
    assert.ok(fs.every((f) => f.urn === d.desiredStateUrn));
  });

  it("findings that need a human are fenced only when the stack's zeroroot:drift.fence names them", () => {
    const ssh = (x = d) =>
      withProbes(x, (p) => ({ ...p, ssh: [{ port: 22, outcome: "accepted", detail: "SSH-2.0" }] }));
    assert.equal(compareServer(d, ssh(), NOW)[0].fence, false);
    const fencing = desiredServer("dc1-s01", { fence: ["ssh-accepted"] });
    const [f] = compareServer(fencing, ssh(fencing), NOW);
    assert.equal(f.check, "ssh-accepted");
    assert.equal(f.remedy, "human");
    assert.equal(f.fence, true);
  });
});
