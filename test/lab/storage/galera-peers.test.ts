/**
 * Who may join the cluster (root; the release in three namespaces, lab/releases/mariadb-galera/
 * harness.ts, with the host's MariaDB and Galera): two members with service certificates of the
 * platform form a cluster; a third whose certificate comes from a foreign CA (same names, same
 * configuration) is refused at the TLS handshake by both sides and never becomes a member.
 */
import { strict as assert } from "node:assert";
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { GaleraHarness } from "../../../lab/releases/mariadb-galera/harness";

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
});
