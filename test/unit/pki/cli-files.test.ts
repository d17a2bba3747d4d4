import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as path from "node:path";
import * as pki from "../../../lib/pki";
import { cli, cliCeremony, tool } from "./helpers";

const PASS = "correct horse battery staple";

describe("zeroroot pki: files it writes, command-line mistakes, site CAs by kind", function () {
  this.timeout(60_000);
  let dir: string;
  let work: string;
  let root: string;
  let issue: (kind: pki.LeafKind, name: string) => Promise<string>;

  before(async () => {
    ({ dir, work, root, issue } = await cliCeremony(PASS));
    await issue("user", "user-1");
  });

  describe("key material at rest", () => {
    const mode = (file: string) => fs.statSync(file).mode & 0o777;
    const stale = (name: string) => {
      const file = path.join(work, name);
      fs.writeFileSync(file, "previous content\n", { mode: 0o644 });
      fs.chmodSync(file, 0o644);
      return file;
    };

    it("writes every private key 0600, even over an existing 0644 file", async () => {
      const key = stale("over.key");
      assert.equal(
        (await cli(["csr", "--name", "over", "--key-out", key, "--csr-out", path.join(work, "over.csr")]))
          .error,
        undefined,
      );
      assert.equal(mode(key), 0o600);
      const pkcs8 = stale("over.pk8");
      const r = await cli(["export", "--format", "pkcs8", "--key", key, "--out", pkcs8]);
      assert.equal(r.error, undefined, r.error?.message);
      assert.equal(mode(pkcs8), 0o600);
      assert.match(fs.readFileSync(pkcs8, "utf8"), /BEGIN PRIVATE KEY/);
      const cert = await issue("user", "p12-user");
      const p12 = stale("over.p12");
      const k = await cli(
        [
          "export",
          "--format",
          "pkcs12",
          "--key",
          path.join(work, "p12-user.key"),
          "--cert",
          cert,
          "--out",
          p12,
        ],
        "storepass1",
      );
      assert.equal(k.error, undefined, k.error?.message);
      assert.equal(mode(p12), 0o600);
      for (const signer of ["root", "dc1", "dc2"])
        assert.equal(mode(path.join(dir, signer, "key.enc.pem")), 0o600);
      assert.deepEqual(
        fs.readdirSync(work).filter((f) => f.endsWith(".tmp")),
        [],
        "no temporary file is left behind",
      );
    });

    it("refuses a PKCS#12 keystore whose key does not belong to its certificate", async () => {
      const cert = await issue("user", "mismatch-user");
      const out = path.join(work, "mismatch.p12");
      const r = await cli(
        [
          "export",
          "--format",
          "pkcs12",
          "--key",
          path.join(work, "user-1.key"),
          "--cert",
          cert,
          "--out",
          out,
        ],
        "storepass1",
      );
      assert.equal(r.error?.exitCode, 1);
      assert.match(r.error?.message ?? "", /private key does not belong to the certificate "mismatch-user"/);
      assert.equal(fs.existsSync(out), false);
    });

    it(`derives key-encryption keys with ${pki.PKCS8_KDF_ITERATIONS} PBKDF2 iterations (ceremony) and ${pki.PKCS12_KDF_ITERATIONS} (PKCS#12 key and MAC)`, async () => {
      const asn = tool("openssl", ["asn1parse", "-in", path.join(dir, "root", "key.enc.pem")]).out;
      assert.match(
        asn,
        /PBES2[\s\S]*PBKDF2[\s\S]*INTEGER\s+:([0-9A-F]+)[\s\S]*hmacWithSHA256[\s\S]*aes-256-cbc/,
      );
      const hex = /PBKDF2[\s\S]*?INTEGER\s+:([0-9A-F]+)/.exec(asn)?.[1] ?? "";
      assert.equal(parseInt(hex, 16), pki.PKCS8_KDF_ITERATIONS);
      const ks = path.join(work, "over.p12");
      const info = tool("openssl", [
        "pkcs12",
        "-info",
        "-in",
        ks,
        "-passin",
        "pass:storepass1",
        "-noout",
      ]).out;
      assert.match(info, new RegExp(`MAC: sha256, Iteration ${pki.PKCS12_KDF_ITERATIONS}\\b`));
      assert.match(
        info,
        new RegExp(`Shrouded Keybag: PBES2, PBKDF2, AES-256-CBC, Iteration ${pki.PKCS12_KDF_ITERATIONS},`),
      );
    });
  });

  describe("command-line mistakes end with a clear message and a documented exit code, never a stack trace", () => {
    it("--passphrase-fd on a descriptor that is not open", async () => {
      const r = await cli([
        "crl",
        "--dir",
        dir,
        "--dc",
        "dc1",
        "--out",
        path.join(work, "x.crl"),
        "--passphrase-fd",
        "987",
      ]);
      assert.equal(r.error?.exitCode, 2);
      assert.match(r.error?.message ?? "", /--passphrase-fd 987: file descriptor 987 is not open \(EBADF\)/);
    });

    it("a passphrase longer than 1024 bytes on the descriptor", async () => {
      const r = await cli(
        ["crl", "--dir", dir, "--dc", "dc1", "--out", path.join(work, "x.crl")],
        "p".repeat(5000),
      );
      assert.equal(r.error?.exitCode, 1);
      assert.match(r.error?.message ?? "", /longer than 1024 bytes/);
    });

    it("pki export --out into a folder that does not exist", async () => {
      const out = path.join(work, "no-such-folder", "ts.p12");
      const r = await cli(["export", "--format", "truststore", "--cert", root, "--out", out], "storepass1");
      assert.equal(r.error?.exitCode, 2);
      assert.match(
        r.error?.message ?? "",
        /--out .*ts\.p12: the folder .*no-such-folder does not exist; create it or choose another path/,
      );
      const k = await cli([
        "export",
        "--format",
        "pkcs8",
        "--key",
        path.join(work, "user-1.key"),
        "--out",
        out,
      ]);
      assert.equal(k.error?.exitCode, 2);
    });
  });

  describe("pki sign --kind issuing --kinds", () => {
    const siteCsr = async () => {
      const file = path.join(work, "site.csr");
      const r = await cli([
        "csr",
        "--name",
        "dc3 site CA",
        "--key-out",
        path.join(work, "site.key"),
        "--csr-out",
        file,
      ]);
      assert.equal(r.error, undefined, r.error?.message);
      return file;
    };

    it("makes a site CA that may issue only the listed kinds", async () => {
      const out = path.join(work, "site-ca.pem");
      const r = await cli(
        [
          "sign",
          "--dir",
          dir,
          "--kind",
          "issuing",
          "--dc",
          "dc3",
          "--kinds",
          "computer,service",
          "--csr",
          await siteCsr(),
          "--out",
          out,
        ],
        PASS,
      );
      assert.equal(r.error, undefined, r.error?.message);
      const info = pki.parseCertificate(fs.readFileSync(out, "utf8"));
      assert.deepEqual(info.nameScope?.uriHosts, [
        "computer.dc3.zeroroot.example",
        "service.dc3.zeroroot.example",
      ]);
      assert.deepEqual(pki.kindsOfCa(info, "dc3.zeroroot.example"), ["computer", "service"]);
      assert.match(
        tool("openssl", ["x509", "-in", out, "-noout", "-ext", "nameConstraints"]).out,
        /URI:computer\.dc3\.zeroroot\.example\s+URI:service\.dc3\.zeroroot\.example/,
      );
    });

    const bad: [args: string[], message: RegExp][] = [
      [
        ["--kind", "issuing", "--kinds", "computer,robot"],
        /--kinds "computer,robot" is not allowed; allowed: .*user, computer, software, service/,
      ],
      [["--kind", "issuing", "--kinds", "computer,computer"], /distinct kinds/],
      [["--kind", "issuing", "--kinds", ","], /--kinds "," is not allowed/],
      [["--kind", "user", "--kinds", "computer"], /--kinds applies to --kind issuing only/],
    ];
    for (const [args, message] of bad)
      it(`refuses ${args.join(" ")} (exit 2)`, async () => {
        const r = await cli(["sign", "--dir", dir, "--dc", "dc3", "--csr", await siteCsr(), ...args], PASS);
        assert.equal(r.error?.exitCode, 2);
        assert.match(r.error?.message ?? "", message);
      });
  });
});
