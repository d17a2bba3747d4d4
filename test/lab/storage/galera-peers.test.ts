/**
 * Who may be a member of the cluster (root; the release in three namespaces, lab/releases/mariadb-galera/
 * harness.ts, with the host's MariaDB and Galera): two members with service certificates of the
 * platform form a cluster; a third whose certificate comes from a foreign CA (same names, same
 * configuration) is refused at the TLS handshake by both sides and never becomes a member. Galera's
 * TLS checks neither CRLs nor the peer's name, so a third member with a valid platform certificate
 * of another service, or with a revoked one, does get in; the release's guard (galera_guard.py)
 * then evicts it. The tests print how long it was a member.
 *
 * Revocation across data centers: as in the lab, each member's agent file (tls/crls.pem) holds its
 * own data center's CRLs only; another data center's CRL reaches it only by the release fetching it
 * from that data center's site (crlSources, agents/crl/crl_sources.py; the harness's sites are
 * `openssl s_server` instances). Without that fetch the guards refuse every member of another data
 * center for want of a CRL (fail closed), so "certificate accepted" before the revocation and the
 * "certificate revoked" eviction after it both need the other sites' CRLs.
 */
import { strict as assert } from "node:assert";
import { execFileSync } from "node:child_process";
import { X509Certificate } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { GaleraHarness } from "../../../lab/releases/mariadb-galera/harness";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("Galera membership needs a platform certificate (harness)", function () {
  this.timeout(15 * 60_000);
  const h = new GaleraHarness({ id: "galpeer", baseDir: "/var/tmp/zr-galera-peers", subnet: "10.213.10" });
  before(function () {
    if (!existsSync("/usr/lib/galera/libgalera_smm.so")) this.skip();
    h.setUp();
  });
  after(() => h.tearDown());

  it("keeps a member with a foreign CA's certificate out, while the platform's members stay Synced", async () => {
    h.start(0);
    h.start(1);
    await h.waitSynced([0, 1], 2, 300_000);
    const dir = join(h.opts.baseDir, "foreign");
    mkdirSync(dir, { recursive: true });
    const ossl = (...a: string[]) => execFileSync("openssl", a, { stdio: "pipe" });
    const f = (n: string) => join(dir, n);
    ossl(
      "req",
      "-x509",
      "-newkey",
      "ec",
      "-pkeyopt",
      "ec_paramgen_curve:P-256",
      "-nodes",
      "-keyout",
      f("ca.key"),
      "-out",
      f("ca.pem"),
      "-subj",
      "/CN=foreign root",
      "-days",
      "2",
    );
    ossl(
      "req",
      "-newkey",
      "ec",
      "-pkeyopt",
      "ec_paramgen_curve:P-256",
      "-nodes",
      "-keyout",
      f("key.pem"),
      "-out",
      f("csr.pem"),
      "-subj",
      `/CN=galera.${h.members[2].ns}.dc3.zeroroot.test`,
    );
    writeFileSync(f("ext"), "extendedKeyUsage=serverAuth,clientAuth\n");
    ossl(
      "x509",
      "-req",
      "-in",
      f("csr.pem"),
      "-CA",
      f("ca.pem"),
      "-CAkey",
      f("ca.key"),
      "-CAcreateserial",
      "-out",
      f("cert.pem"),
      "-days",
      "1",
      "-extfile",
      f("ext"),
    );
    const tls = join(h.members[2].instanceDir, "tls");
    for (const [to, from] of [
      ["key.pem", "key.pem"],
      ["cert.pem", "cert.pem"],
      ["chain.pem", "ca.pem"],
    ])
      writeFileSync(join(tls, to), readFileSync(f(from)));
    execFileSync("chown", ["-R", "65534:65534", tls]);
    h.start(2);
    await new Promise((r) => setTimeout(r, 45_000));
    const states = [0, 1, 2].map((i) => h.state(i));
    const log = (i: number) => readFileSync(join(h.members[i].instanceDir, "../log/mariadbd.log"), "utf8");
    process.stderr.write(`      after 45 s: ${JSON.stringify(states)}\n`);
    assert.deepEqual(states.slice(0, 2), [
      { state: "Synced", size: 2 },
      { state: "Synced", size: 2 },
    ]);
    assert.notEqual(states[2]?.state, "Synced", "the foreign member is not Synced");
    assert.match(log(0), /Failed to establish connection: tlsv1 alert unknown ca/);
    assert.match(log(2), /certificate verify failed/);
  });

  /** Gives member 2 a new certificate of dc3's CA named `name` (kind service) and starts it afresh. */
  const restartMember2As = (name: string): string => {
    h.kill(2);
    const issued = h.issue("dc3", "service", name, { dnsNames: [name] });
    const tls = join(h.members[2].instanceDir, "tls");
    writeFileSync(join(tls, "key.pem"), issued.key, { mode: 0o600 });
    writeFileSync(join(tls, "cert.pem"), issued.cert);
    writeFileSync(join(tls, "chain.pem"), issued.chain);
    execFileSync("chown", ["-R", "65534:65534", tls]);
    h.start(2);
    return issued.serial;
  };
  const accessLog = (i: number) => readFileSync(join(h.members[i].instanceDir, "../log/access.log"), "utf8");
  /**
   * Seconds until the members `stay` (default 0 and 1) are Synced as a cluster of 2 again, the guard of
   * one of them having evicted the third for `why` (once one has, the other no longer sees it).
   */
  const evicted = async (why: RegExp, stay: [number, number] = [0, 1]): Promise<number> => {
    const t0 = Date.now();
    for (;;) {
      const logs = stay.map((i) => accessLog(i));
      const s = stay.map((i) => h.state(i));
      if (logs.some((l) => why.test(l)) && s.every((x) => x?.state === "Synced" && x.size === 2))
        return (Date.now() - t0) / 1000;
      if (Date.now() - t0 > 240_000)
        throw new Error(
          `not evicted for ${why} by members ${stay.join(" and ")} within 240 s: ${JSON.stringify(s)}\n${logs.map((l) => l.slice(-2000)).join("\n---\n")}`,
        );
      await sleep(1000);
    }
  };

  it("evicts a member presenting a valid platform service certificate of another service (postgresql)", async () => {
    const t0 = Date.now();
    restartMember2As(`postgresql.${h.members[2].ns}.dc3.zeroroot.test`);
    const secs = await evicted(
      /evicted from the cluster: dc3\/service\/postgresql\.\S+ is not a galera service certificate/,
    );
    process.stderr.write(
      `      evicted ${((Date.now() - t0) / 1000).toFixed(0)} s after its start (${secs.toFixed(0)} s of waiting)\n`,
    );
    await sleep(10_000);
    assert.deepEqual(
      [h.state(0), h.state(1)],
      [
        { state: "Synced", size: 2 },
        { state: "Synced", size: 2 },
      ],
    );
    const s2 = h.state(2);
    assert.ok(!(s2?.state === "Synced" && s2.size === 3), `member 2 stays out: ${JSON.stringify(s2)}`);
  });

  it("accepts member 2 with a Galera service certificate, then evicts it once that certificate is revoked", async () => {
    const serial = restartMember2As(`galera.${h.members[2].ns}.dc3.zeroroot.test`);
    const joined = await h.waitSynced([0, 1, 2], 3, 300_000);
    await sleep(15_000); // the guards have checked it
    assert.match(accessLog(0), /certificate accepted/);
    assert.deepEqual(
      [0, 1, 2].map((i) => h.state(i)?.size),
      [3, 3, 3],
      "still a cluster of 3 after the guards' checks",
    );
    const t0 = Date.now();
    h.revoke(serial);
    await evicted(/evicted from the cluster: certificate refused: certificate revoked/);
    process.stderr.write(
      `      Synced as a third member after ${joined.toFixed(0)} s; evicted ${((Date.now() - t0) / 1000).toFixed(0)} s after its certificate was revoked\n`,
    );
    const s2 = h.state(2);
    assert.ok(!(s2?.state === "Synced" && s2.size === 3), `member 2 stays out: ${JSON.stringify(s2)}`);
  });

  it("evicts dc2's member once dc2's CA revoked it: dc1's and dc3's members see it by fetching dc2's site's CRLs", async () => {
    restartMember2As(`galera.${h.members[2].ns}.dc3.zeroroot.test`);
    const joined = await h.waitSynced([0, 1, 2], 3, 300_000);
    const member1 = new RegExp(
      `member \\S+ at ${h.members[1].address.replace(/\./g, "\\.")}: certificate accepted`,
    );
    const t1 = Date.now();
    while (![0, 2].every((i) => member1.test(accessLog(i)))) {
      if (Date.now() - t1 > 120_000)
        assert.fail(`dc2's member not accepted by dc1's and dc3's guards:\n${accessLog(2).slice(-3000)}`);
      await sleep(1000);
    }
    const crls = (i: number, file: string) =>
      (readFileSync(join(h.members[i].instanceDir, file), "utf8").match(/BEGIN X509 CRL/g) ?? []).length;
    for (const i of [0, 2]) {
      assert.equal(crls(i, "tls/crls.pem"), 2, "the agent's file: the root's and its own data center's");
      assert.equal(crls(i, "run/crls.pem"), 4, "in use: the root's and every data center's");
    }
    const serial = new X509Certificate(readFileSync(join(h.members[1].instanceDir, "tls", "cert.pem")))
      .serialNumber;
    const t0 = Date.now();
    h.revoke(serial);
    const revoked = new RegExp(
      `at ${h.members[1].address.replace(/\./g, "\\.")} evicted from the cluster: certificate refused: certificate revoked`,
    );
    await evicted(revoked, [0, 2]);
    process.stderr.write(
      `      all three Synced after ${joined.toFixed(0)} s; dc2's member evicted by ${[0, 2]
        .filter((i) => revoked.test(accessLog(i)))
        .map((i) => h.members[i].dc)
        .join(" and ")}'s guard ${((Date.now() - t0) / 1000).toFixed(0)} s after dc2's CA revoked it\n`,
    );
    const s1 = h.state(1);
    assert.ok(!(s1?.state === "Synced" && s1.size === 3), `dc2's member stays out: ${JSON.stringify(s1)}`);
  });
});
