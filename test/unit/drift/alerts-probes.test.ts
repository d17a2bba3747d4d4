/**
 * Which agent alerts are findings (current ones, by the agent's own clock) and which ports the
 * probes handshake with (only what the desired firewall admits; an answer where it drops is a
 * finding). docs/drift.md "Agent alerts" and "Probes".
 */
import { strict as assert } from "node:assert";
import { compareServer } from "../../../lib/drift/compare";
import { currentAlerts } from "../../../lib/drift/compare-report";
import type { ObservedServer } from "../../../lib/drift/observed";
import { admittedTcpPorts, observeTargetOf } from "../../../lib/drift/targets";
import { desiredServer, NOW, withProbes, withReport } from "./fixtures";

const MIN = 60_000;
const iso = (t: number) => new Date(t).toISOString();
const checks = (o: ObservedServer, d = desiredServer()) =>
  compareServer(d, o, NOW).map((f) => `${f.check} ${f.subject}`);
/** A report written 30 s before NOW holding one alert raised at `at`. */
const alerted = (at: string, d = desiredServer()) =>
  withReport(d, (r) => ({
    ...r,
    alerts: [{ kind: "anomaly-unsupervised-process", severity: "critical", at, detail: "pid 4242" }],
  }));

describe("drift: an agent alert is a finding while it is current", () => {
  const cases: [string, string, boolean][] = [
    ["raised a minute before the report", iso(NOW - 30_000 - MIN), true],
    ["raised just inside the window (default one hour)", iso(NOW - 30_000 - 59 * MIN), true],
    ["raised an hour and a minute before the report: its time is past", iso(NOW - 30_000 - 61 * MIN), false],
    ["with a time later than the report's (a clock step): kept", iso(NOW + 10 * MIN), true],
    ["with an unreadable time: kept, a timestamp never hides an alert", "yesterday-ish", true],
  ];
  for (const [name, at, found] of cases)
    it(`an alert ${name}: ${found ? "a finding" : "no finding"}`, () => {
      assert.deepEqual(checks(alerted(at)), found ? ["agent-alert alert anomaly-unsupervised-process"] : []);
    });

  it("the window is measured on the agent's clock (report time), not the machine drift runs on", () => {
    const r = {
      at: "2026-12-01T10:00:00Z",
      alerts: [{ kind: "k", severity: "warning", at: "2026-12-01T09:30:00Z", detail: "" }],
    };
    assert.equal(currentAlerts(r, 3600).length, 1, "30 minutes before its report: current");
    assert.equal(currentAlerts(r, 1200).length, 0, "with a 20-minute window: past");
  });

  it("the stack's zeroroot:drift.alertWindowSeconds sets the window", () => {
    const d = desiredServer("dc1-s01", { alertWindowSeconds: 4 * 3600 });
    assert.deepEqual(checks(alerted(iso(NOW - 3 * 3600_000), d), d), [
      "agent-alert alert anomaly-unsupervised-process",
    ]);
  });

  it("a stale report keeps its last alerts current (the agent did not say they are over)", () => {
    const o = withReport(desiredServer(), (r) => ({
      ...r,
      at: iso(NOW - 5 * 3600_000),
      ageSeconds: 5 * 3600,
      alerts: [{ kind: "cpu-high", severity: "warning", at: iso(NOW - 5 * 3600_000 - MIN), detail: "" }],
    }));
    assert.deepEqual(checks(o).sort(), ["agent-alert alert cpu-high", "report-stale report"]);
  });
});

describe("drift: what the probes look at follows the desired firewall", () => {
  it("the firewall admits its allowed TCP ports, never a remote-login port; an accepting policy admits all", () => {
    assert.deepEqual(
      admittedTcpPorts({ inputPolicy: "drop", allowedTcpPorts: [8443, 22, 5432], allowedUdpPorts: [] }),
      [5432, 8443],
    );
    assert.equal(
      admittedTcpPorts({ inputPolicy: "accept", allowedTcpPorts: [], allowedUdpPorts: [] }),
      undefined,
    );
    assert.equal(admittedTcpPorts(undefined), undefined);
  });

  it("a TLS endpoint on a port the firewall drops is swept, not handshaken with", () => {
    const d = {
      ...desiredServer(),
      firewall: { inputPolicy: "drop" as const, allowedTcpPorts: [], allowedUdpPorts: [] },
    };
    const t = observeTargetOf(d, undefined);
    assert.deepEqual(t.tlsPorts, []);
    assert.deepEqual(t.declaredTcpPorts, [5432], "still in the sweep: an answer there is a finding");
    assert.equal(t.bmc, undefined, "no login, no BMC observation");
  });

  it("a TLS endpoint the firewall admits is handshaken with, with the login given", () => {
    const t = observeTargetOf(desiredServer(), { username: "zeroroot-b", password: "not-printed" });
    assert.deepEqual(t.tlsPorts, [5432]);
    assert.equal(t.bmc?.username, "zeroroot-b");
  });

  it("a dropped endpoint that is closed is no finding; one that answers is an unexpected port", () => {
    const d = {
      ...desiredServer(),
      firewall: { inputPolicy: "drop" as const, allowedTcpPorts: [], allowedUdpPorts: [] },
    };
    assert.deepEqual(
      checks(
        withProbes(d, (p) => ({ ...p, openTcpPorts: [], tls: [] })),
        d,
      ),
      [],
    );
    assert.deepEqual(
      checks(
        withProbes(d, (p) => ({ ...p, openTcpPorts: [5432], tls: [] })),
        d,
      ),
      ["unexpected-port port 5432"],
    );
  });

  it("an endpoint the firewall admits that does not answer is an unreachable TLS endpoint", () => {
    assert.deepEqual(
      checks(
        withProbes(desiredServer(), (p) => ({
          ...p,
          openTcpPorts: [],
          tls: [
            { port: 5432, demandsClientCertificate: false, error: "no TCP connection (closed or filtered)" },
          ],
        })),
      ),
      ["source-unreadable tls port 5432"],
    );
  });
});
