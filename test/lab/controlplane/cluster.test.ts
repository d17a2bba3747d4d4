/**
 * The control plane against real etcd: three members in their own namespaces, mutual TLS from the
 * lab's hierarchy, the access plan applied. Needs root (namespaces, setpriv) and etcd 3.4.
 */
import { strict as assert } from "node:assert";
import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { promisify } from "node:util";
import { buildAccessPlan, keys, applyAccessPlan, type AccessPlan } from "../../../lib/controlplane";
import {
  createCsr,
  createRootCa,
  generateKeyPair,
  issueFromCsr,
  exportPkcs8,
  type CertificateAuthority,
} from "../../../lib/pki";
import {
  controlPlaneHealth,
  createTestNet,
  destroyTestNet,
  issueIdentity,
  Probe,
  readClusterState,
  rootEtcdctl,
  startAllMembers,
  startControlPlane,
  stopControlPlane,
  stopMember,
  type LabControlPlane,
  type IssuedIdentity,
} from "../../../lab/controlplane";
import { DCS, issuingCa, ZONE } from "./fixture";

const run = promisify(execFile);

const canRun = process.getuid?.() === 0 && fs.existsSync("/usr/bin/etcd");

(canRun ? describe : describe.skip)(
  "control plane on real etcd (3 members, mutual TLS, per-computer roles)",
  function () {
    this.timeout(120_000);
    let cp: LabControlPlane;
    let plan: AccessPlan;
    let probe: Probe;
    let stateDir: string;
    let rootPem: string;
    let ca: Record<string, CertificateAuthority>;
    const ids: Record<string, IssuedIdentity> = {};

    const memberLogs = (): string =>
      DCS.map((dc) => fs.readFileSync(path.join(stateDir, `${dc}.log`), "utf8")).join("\n");

    before(async () => {
      const net = createTestNet([...DCS, "client"]);
      const root = createRootCa({ commonName: "zeroroot lab root" });
      rootPem = root.certificatePem;
      ca = Object.fromEntries(DCS.map((dc) => [dc, issuingCa(root.ca, dc)]));
      plan = buildAccessPlan({
        dataCenters: DCS,
        computers: [
          { id: "dc1-s1", dc: "dc1" },
          { id: "dc2-s1", dc: "dc2" },
        ],
        operators: ["alice"],
      });
      stateDir = fs.mkdtempSync(path.join(os.tmpdir(), "zr-cp-lab-"));
      cp = await startControlPlane({
        members: DCS.map((dc) => ({
          dc,
          namespace: net.hosts[dc].namespace,
          address: net.hosts[dc].address,
          dnsName: `etcd.${dc}.${ZONE}`,
        })),
        pki: { rootCertificatePem: rootPem, issuing: ca },
        plan,
        stateDir,
        clientNamespaces: [net.hosts.client.namespace],
      });
      ids.s1 = issueIdentity(ca.dc1, rootPem, "computer", "dc1-s1");
      ids.s2 = issueIdentity(ca.dc2, rootPem, "computer", "dc2-s1");
      ids.alice = issueIdentity(ca.dc3, rootPem, "user", "alice");
      probe = Probe.start(net.hosts.client.namespace);
      for (const [name, id] of Object.entries(ids))
        assert.equal((await probe.connect(name, cp.endpoints, id)).ok, true);
    });

    after(async () => {
      await probe?.stop();
      if (stateDir) await stopControlPlane(stateDir, { removeState: true });
      destroyTestNet();
    });

    it("runs each member as its own unprivileged user, healthy", async () => {
      const health = await controlPlaneHealth(stateDir);
      assert.deepEqual(
        health.map((h) => [h.dc, h.healthy]),
        DCS.map((dc) => [dc, true]),
      );
      const uids = health.map((h) =>
        /^Uid:\s+(\d+)\s+(\d+)\s+(\d+)/m.exec(fs.readFileSync(`/proc/${h.pid}/status`, "utf8"))?.slice(1, 4),
      );
      assert.deepEqual(uids, [
        ["2010", "2010", "2010"],
        ["2011", "2011", "2011"],
        ["2012", "2012", "2012"],
      ]);
      const capEff = fs.readFileSync(`/proc/${health[0].pid}/status`, "utf8").match(/^CapEff:\s+(\w+)/m)?.[1];
      assert.equal(capEff, "0000000000000000");
    });

    it("applying the plan again changes nothing", async () => {
      assert.ok(cp.applied.changes.length > 0);
      const again = await applyAccessPlan(plan, rootEtcdctl(readClusterState(stateDir)));
      assert.deepEqual(again.changes, []);
    });

    it("lets an operator write a computer's desired state, which that computer reads", async () => {
      assert.equal((await probe.put("alice", keys.desired("dc1-s1"), '{"v":1}')).ok, true);
      assert.equal((await probe.get("s1", keys.desired("dc1-s1"))).value, '{"v":1}');
    });

    it("lets a computer read its own desired state and write its reports", async () => {
      assert.equal((await probe.get("s1", keys.desired("dc1-s1"))).value, '{"v":1}');
      assert.equal((await probe.put("s1", keys.status("dc1-s1"), '{"ok":true}')).ok, true);
      assert.equal((await probe.get("alice", keys.status("dc1-s1"))).value, '{"ok":true}');
    });

    it("refuses a computer writing its own desired state (permission denied)", async () => {
      const a = await probe.put("s1", keys.desired("dc1-s1"), '{"v":999}');
      assert.equal(a.kind, "permission-denied");
      assert.equal((await probe.get("s1", keys.desired("dc1-s1"))).value, '{"v":1}');
    });

    it("refuses a computer reading or writing another computer's keys (permission denied)", async () => {
      await probe.put("alice", keys.desired("dc2-s1"), '{"v":1}');
      assert.equal((await probe.get("s1", keys.desired("dc2-s1"))).kind, "permission-denied");
      assert.equal((await probe.put("s1", keys.status("dc2-s1"), "x")).kind, "permission-denied");
      assert.equal((await probe.get("s2", keys.status("dc1-s1"))).kind, "permission-denied");
    });

    it("refuses a client with no certificate", async () => {
      const st = readClusterState(stateDir);
      await assert.rejects(
        run("ip", [
          "netns",
          "exec",
          "zr-cp-test-client",
          "etcdctl",
          `--endpoints=${st.endpoints[0]}`,
          `--cacert=${st.trustAnchorFile}`,
          "--dial-timeout=2s",
          "--command-timeout=3s",
          "get",
          keys.desired("dc1-s1"),
        ]),
        /bad certificate|certificate required|deadline exceeded|context deadline|handshake/i,
      );
      assert.match(memberLogs(), /didn't provide a certificate/);
    });

    it("refuses a valid certificate whose CN is no user of the plan (permission denied)", async () => {
      await probe.connect("stranger", cp.endpoints, issueIdentity(ca.dc1, rootPem, "computer", "dc1-s9"));
      assert.equal((await probe.get("stranger", keys.desired("dc1-s9"))).kind, "permission-denied");
    });

    it("connects by DNS name without Node's TLS ServerName warning", () => {
      assert.doesNotMatch(probe.stderr, /ServerName|DEP0123/);
    });

    it("refuses a certificate from a foreign CA, even with a known CN", async () => {
      const foreignRoot = createRootCa({ commonName: "foreign root" });
      const foreign = issueIdentity(issuingCa(foreignRoot.ca, "dc1"), rootPem, "computer", "dc1-s1");
      await probe.connect("foreign", cp.endpoints, foreign, 2000);
      const a = await probe.get("foreign", keys.desired("dc1-s1"));
      assert.equal(a.ok, false);
      assert.match(String(a.kind), /^(unreachable|timeout)$/);
      assert.match(memberLogs(), /signed by unknown authority/);
    });

    it("refuses a certificate of the hierarchy without clientAuth (software signing)", async () => {
      const k = generateKeyPair();
      const cert = issueFromCsr(ca.dc1, "software", createCsr({ commonName: "dc1-s1" }, k.privateKey));
      await probe.connect(
        "codesign",
        cp.endpoints,
        {
          trustAnchorsPem: rootPem,
          certificateChainPem: cert.certificatePem + ca.dc1.certificatePem,
          privateKeyPem: exportPkcs8(k.privateKey).toString(),
        },
        2000,
      );
      const a = await probe.get("codesign", keys.desired("dc1-s1"));
      assert.equal(a.ok, false);
      assert.match(String(a.kind), /^(unreachable|timeout)$/);
      assert.match(memberLogs(), /incompatible key usage/);
    });

    it("delivers an operator's put to the computer's watch on its desired state", async () => {
      const w = await probe.watch("s1", keys.desired("dc1-s1"));
      await probe.put("alice", keys.desired("dc1-s1"), '{"v":2}');
      const e = await probe.nextEvent((x) => x.watch === w && x.value === '{"v":2}');
      assert.equal(e.key, keys.desired("dc1-s1"));
    });

    it("keeps quorum with one member stopped, refuses service with all stopped, and serves again when restarted", async () => {
      await stopMember("dc3", stateDir);
      assert.equal((await probe.put("alice", keys.desired("dc1-s1"), '{"v":3}')).ok, true);
      assert.equal((await probe.get("s1", keys.desired("dc1-s1"))).value, '{"v":3}');
      await Promise.all(DCS.map((dc) => stopMember(dc, stateDir)));
      const down = await probe.get("s1", keys.desired("dc1-s1"));
      assert.equal(down.ok, false);
      assert.match(String(down.kind), /^(unreachable|timeout)$/);
      await startAllMembers(stateDir);
      let back = await probe.get("s1", keys.desired("dc1-s1"));
      for (let i = 0; i < 10 && !back.ok; i++) back = await probe.get("s1", keys.desired("dc1-s1"));
      assert.equal(back.value, '{"v":3}');
    });
  },
);
