/**
 * What etcd itself enforces of the identity model, against real etcd 3.4 (three members, mutual TLS):
 * revocation (the CRLs of every CA, as lab/controlplane/revocation.ts hands them over), the issuing
 * CAs' name constraints, and the members-only trust anchors of the peer port; and, stated as tests,
 * what it does not: a stolen issuing CA key mints any CN etcd then trusts (docs/security.md).
 * Needs root (namespaces, setpriv), etcd 3.4, openssl and curl.
 */
import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { buildAccessPlan, keys } from "../../../lib/controlplane";
import * as pki from "../../../lib/pki";
import {
  createTestNet,
  destroyTestNet,
  etcdRevocationList,
  issueIdentity,
  Probe,
  publishRevocations,
  startControlPlane,
  stopControlPlane,
  type IssuedIdentity,
  type LabControlPlane,
} from "../../../lab/controlplane";
import { DCS, issuingCa, peerMembers, revoke, serialOf, ZONE } from "./fixture";
import { mintWithStolenKey } from "./stolen-key";

const canRun = process.getuid?.() === 0 && fs.existsSync("/usr/bin/etcd") && fs.existsSync("/usr/bin/curl");

(canRun ? describe : describe.skip)(
  "etcd enforces revocation and the issuing CAs' name constraints",
  function () {
    this.timeout(180_000);
    const root = pki.createRootCa({ commonName: "zeroroot revocation lab root" });
    const rootPem = root.certificatePem;
    /** The offline CAs that certify members, the root user and operators. */
    const offline = Object.fromEntries(DCS.map((dc) => [dc, issuingCa(root.ca, dc)]));
    /** The sites' online CAs that certify computers. */
    const site = Object.fromEntries(DCS.map((dc) => [dc, issuingCa(root.ca, dc, ["computer", "service"])]));
    const crls = () => [
      revoke(root.ca, [], 1),
      ...DCS.flatMap((dc) => [revoke(offline[dc], [], 1), revoke(site[dc], [], 1)]),
    ];
    const otherIssuers = DCS.map((dc) => site[dc].certificatePem);
    const ids: Record<string, IssuedIdentity> = {};
    let cp: LabControlPlane;
    let probe: Probe;
    let stateDir: string;
    let clientNs: string;

    const memberLogs = (): string =>
      DCS.map((dc) => fs.readFileSync(path.join(stateDir, `${dc}.log`), "utf8")).join("\n");
    /** Reads `key` (dc1-s01's desired state) as `id` over a new connection named `name`. */
    const readAs = async (name: string, id: IssuedIdentity, key = keys.desired("dc1-s01")) => {
      await probe.connect(name, cp.endpoints, id, 2000);
      return probe.get(name, key);
    };
    const refused = (a: { ok: boolean; kind?: string }): void => {
      assert.equal(a.ok, false);
      assert.match(String(a.kind), /^(unreachable|timeout)$/);
    };

    before(async () => {
      const net = createTestNet([...DCS, "client"]);
      clientNs = net.hosts.client.namespace;
      stateDir = fs.mkdtempSync(path.join(os.tmpdir(), "zr-cp-revocation-"));
      cp = await startControlPlane({
        members: DCS.map((dc) => ({
          dc,
          namespace: net.hosts[dc].namespace,
          address: net.hosts[dc].address,
          dnsName: `etcd.${dc}.${ZONE}`,
        })),
        pki: { rootCertificatePem: rootPem, issuing: offline, otherIssuers, crls: crls() },
        plan: buildAccessPlan({
          dataCenters: DCS,
          computers: [
            { id: "dc1-s01", dc: "dc1" },
            { id: "dc1-s02", dc: "dc1" },
            { id: "dc2-s01", dc: "dc2" },
          ],
          operators: ["alice"],
        }),
        stateDir,
        clientNamespaces: [clientNs],
      });
      ids.s01 = issueIdentity(site.dc1, rootPem, "computer", "dc1-s01");
      ids.dc2s01 = issueIdentity(site.dc2, rootPem, "computer", "dc2-s01");
      ids.alice = issueIdentity(offline.dc1, rootPem, "user", "alice");
      probe = Probe.start(clientNs);
      assert.equal((await probe.connect("alice", cp.endpoints, ids.alice)).ok, true);
      assert.equal((await probe.put("alice", keys.desired("dc1-s01"), '{"v":1}')).ok, true);
    });

    after(async () => {
      await probe?.stop();
      if (stateDir) await stopControlPlane(stateDir, { removeState: true });
      destroyTestNet();
    });

    it("refuses a revoked computer certificate at its next handshake, and closes its open connection after a rolling restart", async () => {
      const s02 = issueIdentity(site.dc1, rootPem, "computer", "dc1-s02");
      await probe.connect("s02-open", cp.endpoints, s02);
      assert.equal((await probe.put("s02-open", keys.status("dc1-s02"), "up")).ok, true);
      const revoked = [revoke(site.dc1, [serialOf(s02.certificateChainPem)], 2), ...crls()];

      const list = await publishRevocations(
        { crls: revoked, otherIssuers },
        { stateDir, keepOpenConnections: true },
      );
      assert.deepEqual(list.serials, [pki.normaliseSerial(serialOf(s02.certificateChainPem))]);
      await probe.connect("s02-new", cp.endpoints, s02, 2000);
      refused(await probe.get("s02-new", keys.status("dc1-s02")));
      assert.match(memberLogs(), new RegExp(`certificate serial ${list.serials[0]} revoked`));
      // etcd checks the CRL at the handshake only: a connection opened before the revocation goes on.
      assert.equal((await probe.get("s02-open", keys.status("dc1-s02"))).ok, true);

      await publishRevocations({ crls: revoked, otherIssuers }, { stateDir });
      refused(await probe.get("s02-open", keys.status("dc1-s02")));
      assert.equal((await readAs("s01", ids.s01)).value, '{"v":1}');
    });

    it("refuses every certificate of a site's CA once the root revokes that CA, and only those", async () => {
      const rootCrl = revoke(root.ca, [serialOf(site.dc2.certificatePem)], 2);
      await publishRevocations(
        { crls: [rootCrl, ...crls().slice(1)], otherIssuers },
        { stateDir, keepOpenConnections: true },
      );
      refused(await readAs("dc2s01", ids.dc2s01, keys.status("dc2-s01")));
      refused(await readAs("dc2-root", mintWithStolenKey(site.dc2, rootPem, "root")));
      assert.equal((await readAs("s01-b", ids.s01)).value, '{"v":1}');
      await publishRevocations({ crls: crls(), otherIssuers }, { stateDir, keepOpenConnections: true });
      assert.equal((await readAs("dc2s01-again", ids.dc2s01, keys.status("dc2-s01"))).ok, true);
    });

    it("keeps a forged CRL away from etcd: a CRL not signed by the CA it names is refused", () => {
      // The same subject as site.dc1 (same name), another key: what a forger can make without the CA's key.
      const forger = issuingCa(root.ca, "dc1", ["computer", "service"]);
      assert.deepEqual(
        pki.parseCertificate(forger.certificatePem).subjectDer,
        pki.parseCertificate(site.dc1.certificatePem).subjectDer,
      );
      assert.throws(
        () =>
          etcdRevocationList({ caPems: [rootPem, ...otherIssuers], crlPems: [revoke(forger, ["01"], 9)] }),
        /signed by none of the 4 CAs given/,
      );
    });

    it("reports a CRL past its nextUpdate in the list it builds (etcd itself does not look)", () => {
      const old = new Date(Date.now() - 30 * 86_400_000);
      const stale = pki.issueCrl(site.dc1, [], {
        number: 1,
        thisUpdate: old,
        nextUpdate: new Date(old.getTime() + 86_400_000),
      });
      const list = etcdRevocationList({
        caPems: [rootPem, ...otherIssuers],
        crlPems: [stale, revoke(site.dc2, [], 1)],
      });
      assert.deepEqual(
        list.sources.map((x) => [x.ca, x.stale]),
        [
          ["zeroroot dc1 site CA", true],
          ["zeroroot dc2 site CA", false],
        ],
      );
    });

    it("reads only the first CRL of its file (why the lab hands it one merged list)", async () => {
      const file = path.join(stateDir, "revoked.crl");
      const saved = fs.readFileSync(file);
      try {
        const s02 = issueIdentity(site.dc1, rootPem, "computer", "dc1-s02");
        fs.writeFileSync(
          file,
          revoke(site.dc2, [], 5) + revoke(site.dc1, [serialOf(s02.certificateChainPem)], 5),
        );
        assert.equal((await readAs("bundle", s02, keys.status("dc1-s02"))).ok, true);
        // A file etcd cannot read refuses everyone (fail closed).
        fs.writeFileSync(file, "not a CRL\n");
        refused(await readAs("garbage", ids.s01));
      } finally {
        fs.writeFileSync(file, saved);
      }
    });

    it("refuses a certificate whose identity URI or DNS name lies outside its CA's name constraints", async () => {
      for (const san of ["URI:zeroroot://computer.dc1.zeroroot.test/dc1-s01", "DNS:s01.dc1.zeroroot.test"]) {
        refused(await readAs(`outside-${san}`, mintWithStolenKey(site.dc2, rootPem, "dc1-s01", san)));
      }
      // etcd's JSON log escapes the quotes around the name.
      assert.match(
        memberLogs(),
        /URI \\"zeroroot:\/\/computer\.dc1\.zeroroot\.test\/dc1-s01\\" is not permitted by any constraint/,
      );
      assert.match(
        memberLogs(),
        /DNS name \\"s01\.dc1\.zeroroot\.test\\" is not permitted by any constraint/,
      );
    });

    it("accepts what a stolen dc2 CA key mints with a dc1 CN and no out-of-scope name: etcd authorises by CN only", async () => {
      const inScope = "URI:zeroroot://computer.dc2.zeroroot.test/dc1-s01";
      assert.equal(
        (await readAs("cn-uri", mintWithStolenKey(site.dc2, rootPem, "dc1-s01", inScope))).value,
        '{"v":1}',
      );
      assert.equal(
        (await readAs("cn-bare", mintWithStolenKey(site.dc2, rootPem, "dc1-s01"))).value,
        '{"v":1}',
      );
      const asRoot = mintWithStolenKey(
        site.dc2,
        rootPem,
        "root",
        "URI:zeroroot://service.dc2.zeroroot.test/root",
      );
      await probe.connect("stolen-root", cp.endpoints, asRoot, 2000);
      assert.equal((await probe.put("stolen-root", keys.desired("dc1-s01"), '{"v":1}')).ok, true);
    });

    it("gives a member's own certificate nothing on the client port (no etcd user has the member CN)", async () => {
      const member = issueIdentity(offline.dc1, rootPem, "service", "etcd-peer", {
        dnsNames: [`etcd.dc1.${ZONE}`],
      });
      assert.equal((await readAs("member", member)).kind, "permission-denied");
    });

    it("refuses at the peer port a member-named certificate from a CA that certifies no member, or from another address", async () => {
      const peer = (id: IssuedIdentity, from = "zr-cp-test-dc1") => peerMembers(id, rootPem, from);
      const names = { dnsNames: [`etcd.dc1.${ZONE}`] };
      const member = issueIdentity(offline.dc1, rootPem, "service", "etcd-peer", names);
      assert.match(await peer(member), /"name":"dc1"/);
      assert.match(await peer(issueIdentity(site.dc1, rootPem, "service", "etcd-peer", names)), /^refused: /);
      assert.match(
        memberLogs(),
        /failed to verify client certificate: x509: certificate signed by unknown authority/,
      );
      // The member's own certificate from another address: etcd checks a peer's names against where it connects from.
      assert.match(await peer(member, clientNs), /^refused: /);
      assert.match(memberLogs(), /does not match any of DNSNames \[\\"etcd\.dc1\.zeroroot\.test\\"\]/);
    });
  },
);
