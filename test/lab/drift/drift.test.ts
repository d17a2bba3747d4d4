/**
 * Drift detection on the real lab (root): lib/drift/observe's observers (BMC over IPMI, the agents'
 * reports in the control plane, probes from the management network) judged by lib/drift against
 * what the lab's own stacks want, with drift injected by hand on live servers — each shows as the
 * right check or rule on the right server; --remediate's actions fix what the platform owns (boot
 * device, stopped instance, certificate near expiry) and leave an SSH daemon alone, escalating it;
 * and the provider's BmcServer `read` (pulumi refresh) sees the same boot-device change as drift.
 *
 * Every judgement is the real `zeroroot drift` binary, run as an operator runs it from the
 * management network with its inputs from the environment (cli-run.ts): clean lab → exit 0 and no
 * finding; each injected drift → exit 2 naming the check and the server; SARIF that Microsoft's
 * validator accepts; a control plane out of reach → exit 1. The observers alone (in-namespace.ts
 * `observe`) show what was seen where a test asserts on the observation itself.
 */
import { strict as assert } from "node:assert";
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { X509Certificate, createPrivateKey, createPublicKey } from "node:crypto";
import { appendFileSync, chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { utils } from "ssh2";
import { IpmitoolBmcClient, spawnRunner } from "../../../lib/ipmi";
import { createCsr, issueFromCsr, loadCa } from "../../../lib/pki";
import { inNamespace } from "../../../lab/net";
import { labDown } from "../../../lab/orchestrate/down";
import { mgmtNs, REPO_ROOT, type LabLayout } from "../../../lab/orchestrate/layout";
import { labUp } from "../../../lab/orchestrate/up";
import { execInServer, serverStatus } from "../../../lab/server";
import { Supervisor } from "../../../agents/node/supervisor";
import type { AgentReportObservation, ProbeObservation } from "../../../lib/drift/observed";
import { prepareSarifValidator, validateSarif } from "../../helpers/sarif-validate";
import { driftCli, outcomesOf, type Outcome } from "./cli-run";
import { bmcInputOf, observeIn, providerReadIn, stackFileOf, targetsOf, until } from "./fixture";

const TSX = join(REPO_ROOT, "node_modules/.bin/tsx");
const AGENT_HOME = "/var/lib/zeroroot/zr-agent";
const ALERT_WINDOW = "alertWindowSeconds: 120";

/** One `zeroroot drift --stack <dc> --format json` run: its findings and --remediate's outcomes. */
interface Judged {
  readonly dc: string;
  readonly findings: { server: string; check: string; subject: string; message: string }[];
  readonly outcomes: Outcome[];
}

describe("drift detection on the lab (observers, judgement, remediation)", function () {
  this.timeout(40 * 60_000);
  let lab: LabLayout;
  const started: ChildProcess[] = [];
  let scratch: string | undefined;

  /** `zeroroot drift --stack <dc> --format json [--remediate]`; exit 0 exactly when it found nothing. */
  const judge = (dc: string, remediate = false): Judged => {
    const r = driftCli(lab, ["--stack", dc, "--format", "json", ...(remediate ? ["--remediate"] : [])]);
    assert.ok(r.code === 0 || r.code === 2, `drift --stack ${dc} exited ${r.code}: ${r.err}`);
    const doc = JSON.parse(r.out) as { findings: Judged["findings"] };
    assert.equal(r.code, doc.findings.length > 0 ? 2 : 0, `exit code of drift --stack ${dc}: ${r.err}`);
    return { dc, findings: doc.findings, outcomes: outcomesOf(r.err) };
  };
  /** Findings of the clean lab per data center: an injected drift is judged by what it adds to them. */
  const baseline = new Map<string, Set<string>>();
  const keyOf = (f: Judged["findings"][number]) => `${f.server} ${f.check} ${f.subject}`;
  /** The checks found on `server` beyond the clean lab's (all of them, when the clean lab had none). */
  const checksOn = (j: Judged, server: string) =>
    j.findings.filter((f) => f.server === server && !baseline.get(j.dc)?.has(keyOf(f))).map((f) => f.check);
  const clean = (j: Judged) => j.findings.every((f) => baseline.get(j.dc)?.has(keyOf(f)));
  /** What the observers see of the server of `dc` (the agent's report, BMC, probes), from its management network. */
  const observe = (dc: string) => observeIn(lab, dc, targetsOf(lab, dc, { tcp: [], tls: [] }))[0];
  const report = (dc: string) => observe(dc).report as AgentReportObservation;
  const show = (j: Judged) => JSON.stringify(j.findings, null, 1);
  /** Judges `dc` until `ok` holds (the agent reports every 15 s, PID 1 lists nftables every 10 s). */
  const judgeUntil = (what: string, dc: string, ok: (j: Judged) => boolean, ms = 120_000) =>
    until(what, () => judge(dc), ok, ms);
  const serverOf = (dc: string) => lab.plan.dataCenters.find((d) => d.id === dc)!.servers[0].id;
  const bmcOf = (dc: string) => {
    const id = serverOf(dc);
    const b = bmcInputOf(lab, dc, id);
    return new IpmitoolBmcClient(
      {
        serverId: id,
        address: String(b.address),
        port: Number(b.port),
        username: String(b.username),
        password: String(b.password),
        cipherSuite: 3,
      },
      { runner: spawnRunner(inNamespace(mgmtNs(dc))) },
    );
  };
  const inServer = (dc: string, argv: string[], uid?: number) =>
    execInServer(serverOf(dc), argv, { uid, allowFailure: true });
  /** The partition (home, uid) the lab-echo instance runs in on the server of `dc`, from its certificate. */
  const echoPartition = (dc: string): { home: string; uid: number } => {
    const root = `/proc/${serverStatus(serverOf(dc)).pid}/root`;
    for (let i = 0; i < 8; i++) {
      const home = `/var/lib/zeroroot/zr-p${String(i).padStart(3, "0")}`;
      try {
        if (
          new X509Certificate(readFileSync(`${root}${home}/instance/tls/cert.pem`)).subject.startsWith(
            "CN=echo.",
          )
        )
          return { home, uid: 2100 + i };
      } catch {
        // no certificate in this partition
      }
    }
    return assert.fail(`no partition of ${serverOf(dc)} holds the echo instance's certificate`);
  };
  /**
   * A partition's supervisord on the server of `dc`, driven over its unix socket from outside the
   * node: a `supervisorctl` run inside would itself be an unsupervised process of the partition user,
   * which the agent rightly raises as an anomaly (and that alert would be a second finding).
   */
  const supervisorOn = (dc: string, home: string) =>
    new Supervisor(`/proc/${serverStatus(serverOf(dc)).pid}/root${home}/supervisor/supervisor.sock`, 30_000);

  before(async () => {
    const said: string[] = [];
    try {
      lab = await labUp({ serversPerDc: 1, log: (m) => void said.push(m) });
    } catch (e) {
      throw new Error(`${(e as Error).message}\nlab up said (last 40 lines):\n${said.slice(-40).join("\n")}`);
    }
    prepareSarifValidator();
    // Alerts the agents raised while `lab up` converged them (a desired state not applied yet, a
    // release refused before its files were there) are current for the stack's alert window: two
    // minutes here, so the clean lab is clean once they are past (docs/drift.md, Agent alerts).
    for (const d of lab.plan.dataCenters)
      appendFileSync(stackFileOf(lab, d.id), `  zeroroot:drift:\n    ${ALERT_WINDOW}\n`);
    scratch = mkdtempSync(join(tmpdir(), "zr-drift-lab-"));
  });
  after(async () => {
    for (const c of started) if (c.pid) spawnSync("kill", ["--", `-${c.pid}`]);
    if (scratch) rmSync(scratch, { recursive: true, force: true });
    await labDown({ log: () => undefined });
  });

  it("`zeroroot drift --all` on the clean lab: exit 0, a findings table with none (once lab up's alerts are past)", async () => {
    const r = await until(
      "a clean `drift --all`",
      () => driftCli(lab, ["--all"]),
      (x) => x.code === 0,
      300_000,
    );
    assert.equal(r.code, 0, `${r.out}\n${r.err}`);
    assert.match(r.out, /dc1, dc2, dc3: 3 server\(s\), 0 finding\(s\)/, r.out);
    assert.match(r.out, /OK: no drift/);
    assert.doesNotMatch(r.out, /SEVERITY/, "no table rows: nothing found");
  });

  it("`zeroroot drift` exits 1 with a clear message where the control plane cannot be reached", () => {
    // This machine's own namespace reaches no lab network: the operator ran it from the wrong place.
    const r = driftCli(lab, ["--all"], "host");
    assert.equal(r.code, 1, `${r.out}\n${r.err}`);
    assert.match(r.err, /the control plane \(https:\/\/etcd\.dc1\.[^)]*\) cannot be read: /);
    assert.doesNotMatch(r.err, /at .*\.ts:\d+/, "no stack trace for an operator's mistake");
    assert.equal(r.out, "", "no report: the fleet was not judged");
  });

  it("finds no drift on a clean lab, from every source of every server", () => {
    for (const d of lab.plan.dataCenters) {
      const j = judge(d.id);
      baseline.set(d.id, new Set(j.findings.map(keyOf)));
      assert.deepEqual(j.findings, [], `${d.id}: ${show(j)}`);
      const o = observe(d.id);
      assert.deepEqual(o.bmc, { power: "on", bootDevice: "disk" });
      const r = o.report as AgentReportObservation;
      assert.ok(r.ageSeconds < 60, `report age ${r.ageSeconds}`);
      assert.deepEqual(
        r.host.processes?.filter((p) => p.uid === 0).map((p) => p.pid),
        [1],
        "only PID 1 runs as root",
      );
      assert.equal(r.nftablesSha256, r.nftablesAppliedSha256, "the live ruleset is the one applied at boot");
      assert.match(r.nftablesSha256 ?? "", /^sha256:[0-9a-f]{64}$/);
      assert.ok(
        r.certificates.some((c) => c.name === "service:echo"),
        JSON.stringify(r.certificates),
      );
      const probes = o.probes as ProbeObservation;
      assert.ok(!probes.ssh.some((s) => s.outcome === "accepted"));
      assert.ok(!probes.openTcpPorts.includes(22));
    }
  });

  it("sees a boot device set to PXE through the BMC, the same in drift and in the provider's read (refresh)", async () => {
    await bmcOf("dc1").setBootDevice("pxe", { persistent: false });
    const props = providerReadIn(lab, "dc1", serverOf("dc1"));
    assert.equal(props.observedBootDevice, "pxe");
    assert.equal(
      props.bootDevice,
      "pxe",
      "refresh puts what is true now in the input field, so the next update converges it",
    );
    const j = judge("dc1");
    assert.equal((observe("dc1").bmc as { bootDevice: string }).bootDevice, props.observedBootDevice);
    assert.deepEqual(checksOn(j, serverOf("dc1")), ["boot-device"], show(j));

    // As an operator sees it: the whole fleet, one finding, exit 2, the table names rule and server.
    const all = driftCli(lab, ["--all"]);
    assert.equal(all.code, 2, `${all.out}\n${all.err}`);
    assert.match(all.out, /3 server\(s\), 1 finding\(s\)/, all.out);
    const row = all.out.split("\n").find((l) => /\bboot-device\b/.test(l) && /\bZR2002\b/.test(l));
    assert.ok(row, all.out);
    assert.match(row, /\bdc1\s+dc1-s1\b/);
    assert.match(row, /\bpxe\s+disk\b/, "observed pxe, desired disk");

    const sarif = join(scratch as string, "drift.sarif");
    const s = driftCli(lab, ["--all", "--format", "sarif", "--out", sarif]);
    assert.equal(s.code, 2, s.err);
    const log = JSON.parse(readFileSync(sarif, "utf8")) as {
      runs: {
        results: { ruleId: string; locations: { physicalLocation: { region: { startLine: number } } }[] }[];
      }[];
    };
    assert.deepEqual(
      log.runs[0].results.map((x) => x.ruleId),
      ["ZR2002"],
    );
    assert.ok(log.runs[0].results[0].locations[0].physicalLocation.region.startLine > 1);
    const v = validateSarif(sarif);
    assert.deepEqual(v.problems, [], v.all);
    assert.equal(v.status, 0, v.all);
  });

  it("sees an instance stopped by hand", async () => {
    const p = echoPartition("dc2");
    await supervisorOn("dc2", p.home).call("supervisor.stopAllProcesses", true);
    const j = await judgeUntil("instance-stopped on dc2", "dc2", (x) =>
      checksOn(x, serverOf("dc2")).includes("instance-stopped"),
    );
    assert.deepEqual(checksOn(j, serverOf("dc2")), ["instance-stopped"], show(j));
  });

  it("sees a service certificate near expiry", async () => {
    const id = serverOf("dc3");
    const root = `/proc/${serverStatus(id).pid}/root`;
    const tls = `${root}${echoPartition("dc3").home}/instance/tls`;
    const old = new X509Certificate(readFileSync(`${tls}/cert.pem`));
    const name = old.subject.replace(/^CN=/, "");
    // Issued by the data center's own site CA for the instance's key, 80 of its 90 days ago: 10 days
    // left is inside drift's warning window (14 days) and outside the agent's own renewal window
    // (7 days, agents/node/service-cert.ts), which would otherwise renew it before drift looks.
    const site = join(lab.paths.sites, "dc3", "state");
    const ca = loadCa(
      readFileSync(join(site, "issuing.crt"), "utf8"),
      readFileSync(join(site, "issuing.key")),
    );
    const key = createPrivateKey(readFileSync(`${tls}/key.pem`));
    assert.ok(
      createPublicKey(key).equals(old.publicKey),
      "the instance's key and certificate belong together",
    );
    const csr = createCsr({ commonName: name, dnsNames: [name] }, key);
    const issued = issueFromCsr(ca, "service", csr, {}, { now: new Date(Date.now() - 80 * 86_400_000) });
    writeFileSync(`${tls}/cert.pem`, issued.certificatePem);
    const j = await judgeUntil("certificate-expiry on dc3", "dc3", (x) =>
      checksOn(x, id).includes("certificate-expiry"),
    );
    assert.deepEqual(checksOn(j, id), ["certificate-expiry"], show(j));
    assert.ok(
      j.findings.some((f) => f.subject === "certificate service:echo"),
      show(j),
    );
  });

  it("--remediate sets the boot device back, restarts the instance through its agent, renews the certificate; the next run is clean", async () => {
    const expected: [string, string][] = [
      ["dc1", "setBootDevice"],
      ["dc2", "restartInstance echo"],
      ["dc3", "renewCertificate service:echo"],
    ];
    for (const [dc, step] of expected) {
      const j = judge(dc, true);
      const name = (o: Outcome) => [o.step.action, o.step.target].filter(Boolean).join(" ");
      const done = j.outcomes.find((o) => name(o) === step);
      assert.ok(done, `${dc}: no ${step} step among ${JSON.stringify(j.outcomes)}; findings ${show(j)}`);
      assert.ok(done.ok, `${dc}: ${step} failed: ${done.error}`);
    }
    await judgeUntil("dc1 clean", "dc1", (x) => clean(x));
    await judgeUntil("dc2 clean", "dc2", (x) => clean(x));
    await judgeUntil("dc3 clean", "dc3", (x) => clean(x));
    const cert = report("dc3").certificates.find((c) => c.name === "service:echo")!;
    assert.ok(Date.parse(cert.notAfter) - Date.now() > 80 * 86_400_000, `renewed: ${cert.notAfter}`);
  });

  it("sees an SSH daemon started by hand; --remediate leaves it running and escalates it", async () => {
    const id = serverOf("dc1");
    const dir = scratch as string;
    const keyFile = join(dir, "ssh_host_ed25519_key");
    writeFileSync(keyFile, utils.generateKeyPairSync("ed25519").private, { mode: 0o600 });
    chmodSync(dir, 0o700);
    const sshd = spawn(
      "nsenter",
      [
        "--target",
        String(serverStatus(id).pid),
        "--net",
        "--pid",
        "--",
        TSX,
        join(__dirname, "ssh-daemon.ts"),
        keyFile,
      ],
      { detached: true, stdio: "ignore" },
    );
    started.push(sshd);
    const j = await judgeUntil("no-ssh on dc1", "dc1", (x) => checksOn(x, id).includes("no-ssh"));
    assert.ok(
      j.findings.some((f) => f.check === "no-ssh" && /port 22/.test(f.message)),
      show(j),
    );
    assert.ok(checksOn(j, id).includes("zero-root"), "and a process as root");
    const fixed = judge("dc1", true);
    const steps = fixed.outcomes.map((o) => [o.step.action, o.ok]);
    assert.ok(
      steps.some(([a, ok]) => a === "escalate" && ok),
      `escalated to a human: ${JSON.stringify(fixed.outcomes)}`,
    );
    assert.ok(!steps.some(([a]) => a === "fence"), "not fenced: the lab's stack does not ask for it");
    assert.equal(
      spawnSync("kill", ["-0", String(sshd.pid)]).status,
      0,
      "the SSH daemon is left running for a human",
    );
    assert.ok(checksOn(judge("dc1"), id).includes("no-ssh"), "and it is still reported");
    spawnSync("kill", ["--", `-${sshd.pid}`]);
    await judgeUntil("dc1 clean again", "dc1", (x) => clean(x));
  });

  it("sees a process running as uid 0 other than PID 1", async () => {
    const id = serverOf("dc2");
    await inServer("dc2", ["/bin/sh", "-c", "setsid /bin/sleep 3600 >/dev/null 2>&1 < /dev/null &"]);
    const j = await judgeUntil("zero-root on dc2", "dc2", (x) => checksOn(x, id).includes("zero-root"));
    assert.ok(
      j.findings.some((f) => f.check === "zero-root" && /sleep/.test(f.message) && /uid 0/.test(f.message)),
      show(j),
    );
    await inServer("dc2", ["/usr/bin/pkill", "-x", "sleep"]);
  });

  it("sees a firewall rule added by hand", async () => {
    const id = serverOf("dc3");
    const r = await inServer("dc3", [
      "/usr/sbin/nft",
      "add",
      "rule",
      "inet",
      "zeroroot",
      "input",
      "tcp",
      "dport",
      "2222",
      "accept",
    ]);
    assert.equal(r.code, 0, r.stderr);
    const j = await judgeUntil("firewall-ruleset on dc3", "dc3", (x) =>
      checksOn(x, id).includes("firewall-ruleset"),
    );
    assert.deepEqual(checksOn(j, id), ["firewall-ruleset"], show(j));
    await inServer("dc3", ["/usr/sbin/nft", "-f", "/etc/nftables.conf"]);
    await judgeUntil("dc3 clean again", "dc3", (x) => clean(x));
  });

  it("sees a stale agent report", async () => {
    const id = serverOf("dc2");
    // The stack's own setting (zeroroot:drift.staleReportSeconds, at least 60), so the test waits a minute, not 15.
    const file = stackFileOf(lab, "dc2");
    writeFileSync(
      file,
      readFileSync(file, "utf8").replace(ALERT_WINDOW, `${ALERT_WINDOW}\n    staleReportSeconds: 60`),
    );
    await supervisorOn("dc2", AGENT_HOME).call("supervisor.stopAllProcesses", true);
    const j = await judgeUntil(
      "report-stale on dc2",
      "dc2",
      (x) => checksOn(x, id).includes("report-stale"),
      180_000,
    );
    assert.deepEqual(checksOn(j, id), ["report-stale"], show(j));
    await supervisorOn("dc2", AGENT_HOME).call("supervisor.startAllProcesses", true);
  });

  it("sees a server powered off", async () => {
    const id = serverOf("dc3");
    await bmcOf("dc3").setPower("off");
    const j = judge("dc3");
    assert.deepEqual(checksOn(j, id), ["power-state"], show(j));
  });
});
