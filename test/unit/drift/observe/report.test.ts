/** Reading an agent's status report from the control plane as drift detection's observation. */
import { strict as assert } from "node:assert";
import { publishedObservation, reportObservation } from "../../../../lib/drift/observe/report";
import { isObservationError, type AgentReportObservation } from "../../../../lib/drift/observed";
import { MAX_REPORT_BYTES } from "../../../../lib/drift/observe";
import { HOST_REPORT_LIMITS } from "../../../../lib/agent/host-observe";

const AT = "2030-01-01T00:00:00.000Z";
const report = (over: Record<string, unknown> = {}) => ({
  computerId: "dc1-s1",
  at: AT,
  desired: { version: 3, digest: `sha256:${"b".repeat(64)}` },
  instances: [
    {
      name: "lab-echo",
      partition: { user: "zr-p000", uid: 2100 },
      release: { name: "lab-echo", version: "1.0.0", manifestDigest: "sha256:x" },
      phase: "running",
      programs: [{ name: "echo", state: "RUNNING", pid: 51 }],
    },
  ],
  refused: {},
  host: {
    hostId: "dc1-s1",
    packages: ["nftables"],
    processes: [
      {
        pid: 1,
        name: "zr-init",
        command: "zr-init",
        user: "root",
        uid: 0,
        capabilities: [],
        noNewPrivileges: false,
      },
    ],
    accounts: [{ user: "zr-agent", uid: 2000 }],
    listening: [{ port: 9443, protocol: "tcp" }],
    firewall: { inputPolicy: "drop", allowedTcpPorts: [9443], allowedUdpPorts: [] },
  },
  nftables: { sha256: "sha256:live", appliedSha256: "sha256:applied" },
  certificates: [{ name: "computer", subject: "CN=dc1-s1", notAfter: "2031-01-01T00:00:00.000Z" }],
  alerts: [{ kind: "anomaly-cpu", severity: "critical", at: AT, detail: "busy", instance: "lab-echo" }],
  requests: [],
  ...over,
});
const observe = (r: unknown, now = new Date(Date.parse(AT) + 42_000)) =>
  reportObservation("dc1-s1", typeof r === "string" ? r : JSON.stringify(r), now);

describe("the agent-report observer", () => {
  it("maps the agent's status report, aged when read", () => {
    const o = observe(report()) as AgentReportObservation;
    assert.ok(!isObservationError(o), JSON.stringify(o));
    assert.equal(o.ageSeconds, 42);
    assert.equal(o.instances[0].programs[0].state, "RUNNING");
    assert.equal(o.host.hostId, "dc1-s1");
    assert.deepEqual(o.host.firewall?.allowedTcpPorts, [9443]);
    assert.equal(o.nftablesSha256, "sha256:live");
    assert.equal(o.nftablesAppliedSha256, "sha256:applied");
    assert.equal(o.certificates[0].notAfter, "2031-01-01T00:00:00.000Z");
    assert.equal(o.alerts[0].kind, "anomaly-cpu");
    assert.deepEqual(o.desired, { version: 3, digest: `sha256:${"b".repeat(64)}` });
  });

  it("leaves the host's lists unjudged (undefined, not empty) when an older agent reports no host", () => {
    const o = observe(report({ host: undefined })) as AgentReportObservation;
    assert.equal(o.host.processes, undefined);
    assert.equal(o.host.packages, undefined);
  });

  const hostile: [string, unknown, RegExp][] = [
    [
      "a report written under another computer's key",
      report({ computerId: "dc1-s2" }),
      /names computer "dc1-s2"/,
    ],
    ["a report that is not JSON", "{not json", /not JSON/],
    ["a report without a time", report({ at: "yesterday" }), /at: not a time/],
    [
      "a process list beyond the bound",
      report({
        host: { processes: Array(HOST_REPORT_LIMITS.processes + 1).fill(report().host.processes[0]) },
      }),
      /host\.processes/,
    ],
    [
      "a program with a non-numeric pid",
      report({
        instances: [{ ...report().instances[0], programs: [{ name: "x", state: "RUNNING", pid: "1" }] }],
      }),
      /instances\.0\.programs\.0\.pid/,
    ],
    [
      "a report larger than the bound",
      { ...report(), pad: "x".repeat(MAX_REPORT_BYTES) },
      /at most 1000000 are read/,
    ],
  ];
  for (const [what, r, message] of hostile)
    it(`gives an observation error for ${what}`, () => {
      const o = observe(r);
      assert.ok(isObservationError(o), `${what} was accepted`);
      assert.match(o.error, message);
    });

  it("reads the published desired state's version and digest, and says when it cannot", () => {
    assert.equal(publishedObservation(undefined), undefined);
    const bad = publishedObservation('{"document":{"kind":"x"}}');
    assert.ok(isObservationError(bad));
    assert.match(bad.error, /published desired state cannot be read/);
  });
});
