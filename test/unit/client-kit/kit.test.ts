import { strict as assert } from "node:assert";
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { FD, runCli, type CliRun } from "../../helpers/cli";
import * as pki from "../../../lib/pki";
import { hierarchy, listing, otherCsr, sign, stackDir, tempDir, type Hierarchy } from "./fixture";

const PASSWORD = "kit-keystore-pw-9f2c";

describe("zeroroot client kit (two steps: key and CSR here, then the signed certificate)", function () {
  this.timeout(60_000);
  let h: Hierarchy;
  let stacks: string;
  let work: string;
  let out: string;
  let rootFile: string;
  let chain: Record<string, string>;

  const step1 = (user = "alice", dir = out, extra: string[] = []) =>
    runCli(["client", "kit", "--user", user, "--dc", "dc1", "--out", dir, ...extra]);
  const step2 = (cert: string, forWhat = "psql", extra: string[] = [], opts: { fd?: string } = {}) =>
    runCli(
      [
        "client",
        "kit",
        "--user",
        "alice",
        "--dc",
        "dc1",
        "--for",
        forWhat,
        "--out",
        out,
        "--cert",
        cert,
        "--chain",
        chain.dc1,
        "--stacks",
        stacks,
        ...extra,
      ],
      opts,
    );
  const write = (name: string, text: string | Buffer) => {
    const file = path.join(work, name);
    fs.writeFileSync(file, text);
    return file;
  };
  const csr = () => fs.readFileSync(path.join(out, "alice.csr"), "utf8");

  before(async () => {
    h = hierarchy("kit test");
    stacks = stackDir(h.rootPem);
    // dc2 runs the replica of dc1's PostgreSQL primary: alice's analytics becomes one multi-host string
    fs.copyFileSync(
      path.join(__dirname, "../../../stacks/Pulumi.dc2.yaml"),
      path.join(stacks, "Pulumi.dc2.yaml"),
    );
    work = tempDir("work");
    rootFile = write("root.pem", h.rootPem);
    chain = {
      dc1: write("dc1-chain.pem", h.dcs.dc1.chainPem),
      dc2: write("dc2-chain.pem", h.dcs.dc2.chainPem),
    };
    out = path.join(tempDir("out"), "alice-kit");
    const r = await step1();
    assert.equal(r.code, 0, r.err);
  });

  describe("step 1", () => {
    it("makes a private directory, a 0600 key and a CSR for the user's name, and says what to send to whom", async () => {
      assert.equal(fs.statSync(out).mode & 0o777, 0o700);
      assert.equal(fs.statSync(path.join(out, "alice.key")).mode & 0o777, 0o600);
      const parsed = pki.parseCsr(csr());
      assert.equal(parsed.commonName, "alice");
      const key = pki.loadPrivateKey(fs.readFileSync(path.join(out, "alice.key")));
      assert.ok(crypto.createPublicKey(key).export({ type: "spki", format: "der" }).equals(parsed.spkiDer));
      const again = await step1("carol", tempDir("carol"));
      assert.match(
        again.out,
        /zeroroot pki sign --dir <ceremony> --kind user --dc dc1 --name carol --csr carol\.csr/,
      );
      assert.match(again.out, /public key SHA-256: [0-9a-f]{64}/);
      assert.match(again.out, /never leaves this machine/);
    });
    it("prints the SHA-256 of the CSR's public key, for the CA holder to check out of band", async () => {
      const dir = tempDir("fp");
      const r = await step1("dave", dir);
      const spki = pki.parseCsr(fs.readFileSync(path.join(dir, "dave.csr"))).spkiDer;
      assert.ok(r.out.includes(crypto.createHash("sha256").update(spki).digest("hex")));
    });
    it("never replaces a key: a second step 1 is refused and changes nothing", async () => {
      const before = fs.readFileSync(path.join(out, "alice.key"));
      const r = await step1();
      assert.equal(r.code, 1);
      assert.match(r.err, /already exists: a key is never replaced/);
      assert.ok(fs.readFileSync(path.join(out, "alice.key")).equals(before));
    });
    const badArgs: [string, string[], RegExp][] = [
      ["a user name with a path", ["--user", "../../etc/x"], /--user: name .* is not a plain name/],
      ["an upper-case user name", ["--user", "Alice"], /not a plain name/],
      ["a data center that is not an id", ["--dc", "DC 1"], /--dc: .* is not a data center id/],
      ["--out with parent steps", ["--out", "kits/../../alice"], /contains "\.\."/],
      ["an unknown client", ["--for", "psql,odbc"], /--for "psql,odbc" is not allowed/],
      ["step-2 options without --cert", ["--root", "x.pem"], /--root belongs to step 2/],
    ];
    for (const [title, args, reason] of badArgs)
      it(`refuses ${title} (exit 2) and creates nothing`, async () => {
        const parent = tempDir("bad");
        const base = { user: "alice", dc: "dc1", out: path.join(parent, "k") };
        const merged = ["--user", base.user, "--dc", base.dc, "--out", base.out];
        for (let i = 0; i < args.length; i += 2) {
          const at = merged.indexOf(args[i]);
          if (at >= 0) merged[at + 1] = args[i + 1];
          else merged.push(args[i], args[i + 1]);
        }
        const r = await runCli(["client", "kit", ...merged], { cwd: parent });
        assert.equal(r.code, 2, r.err);
        assert.match(r.err, reason);
        assert.deepEqual(listing(parent), []);
      });
    it("refuses a --out that is a symbolic link, or writable by others", async () => {
      const parent = tempDir("link");
      fs.symlinkSync(work, path.join(parent, "k"));
      assert.match((await step1("alice", path.join(parent, "k"))).err, /is a symbolic link/);
      const open = path.join(parent, "open");
      fs.mkdirSync(open, { mode: 0o777 });
      fs.chmodSync(open, 0o777);
      assert.match((await step1("alice", open)).err, /writable by others/);
      assert.deepEqual(fs.readdirSync(open), []);
    });
  });

  describe("step 2", () => {
    let cert: string;
    before(() => {
      cert = write("alice.crt", sign(h.dcs.dc1.ca, "user", csr()));
    });

    it("writes the psql kit: chain, 0600 key, root, and a verify-full connection string per granted data set", async () => {
      const r = await step2(cert, "psql", [], {});
      assert.equal(r.code, 0, r.err);
      const kit = path.join(out, "psql");
      assert.deepEqual(fs.readdirSync(kit).sort(), [
        "alice.crt",
        "alice.key",
        "connections.json",
        "connections.txt",
        "root.crt",
      ]);
      assert.equal(fs.statSync(path.join(kit, "alice.key")).mode & 0o777, 0o600);
      const v = pki.verifyIdentity(
        fs.readFileSync(path.join(kit, "alice.crt"), "utf8"),
        fs.readFileSync(path.join(kit, "root.crt")),
        { use: "clientAuth" },
      );
      assert.ok(v.ok && pki.formatIdentity(v.identity) === "dc1/user/alice");
      const text = fs.readFileSync(path.join(kit, "connections.txt"), "utf8");
      assert.match(
        text,
        /host=s01\.dc1\.zeroroot\.example,s01\.dc2\.zeroroot\.example port=5432,5432 dbname=analytics user=alice sslmode=verify-full/,
      );
      assert.match(text, new RegExp(`sslkey=${path.join(kit, "alice.key").replace(/[.]/g, "\\.")}`));
      assert.match(text, /target_session_attrs=read-write/);
      assert.doesNotMatch(text, /password=|sslpassword/i);
    });
    it("takes the root from the global stack's offline root when --root is not given", async () => {
      const r = await step2(cert, "python");
      assert.equal(r.code, 0, r.err);
      assert.ok(
        pki
          .parseCertificate(fs.readFileSync(path.join(out, "python", "root.crt")))
          .der.equals(pki.parseCertificate(h.rootPem).der),
      );
    });
    it("writes the jdbc kit with a PKCS#8 DER key, a keystore and a truststore; the password appears nowhere", async () => {
      const r = await step2(cert, "jdbc", ["--passphrase-fd", FD], { fd: `${PASSWORD}\n` });
      assert.equal(r.code, 0, r.err);
      const kit = path.join(out, "jdbc");
      assert.deepEqual(fs.readdirSync(kit).sort(), [
        "alice.crt",
        "alice.pk8",
        "connections.json",
        "connections.txt",
        "keystore.p12",
        "root.crt",
        "truststore.p12",
      ]);
      const der = fs.readFileSync(path.join(kit, "alice.pk8"));
      const key = crypto.createPrivateKey({ key: der, format: "der", type: "pkcs8" });
      assert.ok(
        crypto
          .createPublicKey(key)
          .export({ type: "spki", format: "der" })
          .equals(pki.parseCertificate(fs.readFileSync(cert)).spkiDer),
      );
      for (const f of ["alice.pk8", "keystore.p12"])
        assert.equal(fs.statSync(path.join(kit, f)).mode & 0o777, 0o600, f);
      assert.match(
        fs.readFileSync(path.join(kit, "connections.txt"), "utf8"),
        /jdbc:postgresql:\/\/s01\.dc1\.zeroroot\.example:5432,.*\/analytics\?user=alice&sslmode=verify-full&.*sslkey=[^&]*alice\.pk8/,
      );
      for (const f of [
        ...fs.readdirSync(kit).map((n) => fs.readFileSync(path.join(kit, n)).toString("latin1")),
        r.out,
        r.err,
      ])
        assert.ok(!f.includes(PASSWORD), "the keystore password leaked");
    });
    it("asks for no password and prompts for none without a terminal: a jdbc kit without --passphrase-fd is refused", async () => {
      const r = await step2(cert, "jdbc");
      assert.equal(r.code, 2);
      assert.match(r.err, /no terminal to prompt for the keystore password: pass --passphrase-fd N/);
    });
    it("replaces an existing kit as a whole and leaves no temporary directory", async () => {
      fs.writeFileSync(path.join(out, "psql", "stale.txt"), "old");
      assert.equal((await step2(cert, "psql")).code, 0);
      assert.ok(!fs.existsSync(path.join(out, "psql", "stale.txt")));
      assert.deepEqual(
        fs.readdirSync(out).filter((n) => n.startsWith(".")),
        [],
      );
    });

    // Each hostile input is refused with its reason, and the kit directory is left exactly as it was.
    const hostile: [string, () => string[] | Promise<string[]>, number, RegExp][] = [
      [
        "another user's certificate",
        () => [write("bob.crt", sign(h.dcs.dc1.ca, "user", otherCsr("bob")))],
        1,
        /wrong-user.*dc1\/user\/bob, not dc1\/user\/alice/,
      ],
      [
        "a service certificate with the user's name",
        () => [write("svc.crt", sign(h.dcs.dc1.ca, "service", csr()))],
        1,
        /wrong-kind.*service certificate/,
      ],
      [
        "a certificate of dc2 when the kit asks dc1",
        () => [write("dc2.crt", sign(h.dcs.dc2.ca, "user", csr())), "--chain", chain.dc2],
        1,
        /wrong-data-center.*issued by data center dc2/,
      ],
      [
        "an expired certificate",
        () => [write("old.crt", sign(h.dcs.dc1.ca, "user", csr(), new Date(Date.now() - 400 * 86_400_000)))],
        1,
        /\(expired\).*ask the CA holder for a new certificate/,
      ],
      [
        "a certificate of another key (another CSR)",
        () => [write("other.crt", sign(h.dcs.dc1.ca, "user", otherCsr("alice")))],
        1,
        /wrong-key.*not the key of step 1/,
      ],
      [
        "a certificate of a foreign hierarchy",
        () => {
          const f = hierarchy("foreign");
          return [
            write("foreign.crt", sign(f.dcs.dc1.ca, "user", csr())),
            "--chain",
            write("foreign-chain.pem", f.dcs.dc1.chainPem),
          ];
        },
        1,
        /untrusted-root/,
      ],
      [
        "a certificate without its issuing CA",
        () => [write("alone.crt", sign(h.dcs.dc1.ca, "user", csr())), "--chain", rootFile],
        1,
        /untrusted-root.*--chain/,
      ],
      [
        "an oversized certificate file",
        () => [write("huge.crt", Buffer.alloc(1_200_000, 0x41))],
        1,
        /larger than \d+ bytes/,
      ],
      [
        "garbage instead of a certificate",
        () => [
          write("junk.crt", "-----BEGIN CERTIFICATE-----\nnot base64 at all\n-----END CERTIFICATE-----\n"),
        ],
        1,
        /refused \(malformed\)/,
      ],
      ["a device instead of a file", () => ["/dev/zero"], 2, /is not a regular file/],
      ["a missing file", () => [path.join(work, "nope.crt")], 2, /cannot read .*ENOENT/],
    ];
    for (const [title, args, code, reason] of hostile)
      it(`refuses ${title}, writing nothing`, async () => {
        const before = listing(out);
        const [certFile, ...extra] = await args();
        const r: CliRun = await step2(certFile, "psql,jdbc", ["--root", rootFile, ...extra], {
          fd: `${PASSWORD}\n`,
        });
        assert.equal(r.code, code, r.err);
        assert.match(r.err, reason);
        assert.doesNotMatch(r.err, /\n\s+at /, "no stack trace");
        assert.deepEqual(listing(out), before);
      });

    it("refuses a key that others can read, and names the fix", async () => {
      fs.chmodSync(path.join(out, "alice.key"), 0o644);
      try {
        const r = await step2(cert);
        assert.equal(r.code, 1);
        assert.match(r.err, /readable or writable by others \(mode 644\); run `chmod 600`/);
      } finally {
        fs.chmodSync(path.join(out, "alice.key"), 0o600);
      }
    });
    it("refuses a --stacks directory that does not exist (exit 2), writing nothing", async () => {
      const before = listing(out);
      const r = await step2(cert, "psql", ["--stacks", path.join(work, "no-such-dir")]);
      assert.equal(r.code, 2, r.err);
      assert.match(r.err, /--stacks ".*no-such-dir": cannot list it \(ENOENT\)/);
      assert.deepEqual(listing(out), before);
    });
    it("skips a stack file that does not validate, with a warning naming it", async () => {
      const broken = stackDir(h.rootPem);
      fs.writeFileSync(path.join(broken, "Pulumi.dc2.yaml"), "config:\n  zeroroot:dataCenter: 12\n");
      const r = await step2(cert, "psql", ["--stacks", broken]);
      assert.equal(r.code, 0, r.err);
      assert.match(r.err, /warning: .*Pulumi\.dc2\.yaml skipped: \d+ configuration error\(s\)/);
      assert.match(fs.readFileSync(path.join(out, "psql", "connections.txt"), "utf8"), /dbname=analytics/);
    });
    it("refuses step 2 in a directory without the key of step 1", async () => {
      const empty = tempDir("empty");
      const r = await runCli([
        "client",
        "kit",
        "--user",
        "alice",
        "--dc",
        "dc1",
        "--for",
        "psql",
        "--out",
        empty,
        "--cert",
        cert,
        "--root",
        rootFile,
      ]);
      assert.equal(r.code, 2);
      assert.match(r.err, /alice\.key" does not exist: the key of step 1 is needed/);
      assert.deepEqual(fs.readdirSync(empty), []);
    });
  });
});
