import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as path from "node:path";
import { cli, opensslVerify, tempDir, tool } from "../../unit/pki/helpers";

const PASS = "correct horse battery staple";

describe("zeroroot pki (ceremony, signing, revocation) held against openssl and keytool", function () {
  this.timeout(60_000);
  let dir: string;
  let work: string;
  let root: string;
  let dc1: string;

  before(async () => {
    dir = tempDir("ceremony");
    work = tempDir("work");
    const r = await cli(
      [
        "init",
        "--dir",
        dir,
        "--domain",
        "zeroroot.example",
        "--dcs",
        "dc1,dc2",
        "--network",
        "dc1=10.77.1.0/24",
      ],
      PASS,
    );
    assert.equal(r.error, undefined, r.error?.message);
    root = path.join(dir, "root", "ca.pem");
    dc1 = path.join(dir, "dc1", "ca.pem");
  });

  async function issue(
    kind: string,
    name: string,
    extra: string[] = [],
    csrExtra: string[] = [],
  ): Promise<string> {
    const key = path.join(work, `${name}.key`);
    const csr = path.join(work, `${name}.csr`);
    const out = path.join(work, `${name}.pem`);
    assert.equal(
      (await cli(["csr", "--name", name, "--key-out", key, "--csr-out", csr, ...csrExtra])).error,
      undefined,
    );
    const r = await cli(
      ["sign", "--dir", dir, "--kind", kind, "--dc", "dc1", "--csr", csr, "--out", out, ...extra],
      PASS,
    );
    assert.equal(r.error, undefined, r.error?.message);
    return out;
  }

  it("writes the root key encrypted (PKCS#8 ENCRYPTED PRIVATE KEY) and openssl needs the passphrase to read it", () => {
    const key = path.join(dir, "root", "key.enc.pem");
    assert.match(fs.readFileSync(key, "utf8"), /BEGIN ENCRYPTED PRIVATE KEY/);
    assert.notEqual(tool("openssl", ["pkey", "-in", key, "-passin", "pass:wrong", "-noout"]).status, 0);
    assert.equal(tool("openssl", ["pkey", "-in", key, "-passin", `pass:${PASS}`, "-noout"]).status, 0);
  });

  it("makes issuing CAs with path length 0 and critical name constraints to their data center", () => {
    const text = tool("openssl", ["x509", "-in", dc1, "-noout", "-text"]).out;
    assert.match(text, /Basic Constraints: critical\s+CA:TRUE, pathlen:0/);
    assert.match(
      text,
      /Name Constraints: critical\s+Permitted:\s+DNS:dc1\.zeroroot\.example\s+IP:10\.77\.1\.0\/255\.255\.255\.0/,
    );
    assert.equal(opensslVerify(root, root, dc1, "any").status, 0);
  });

  const cases: [kind: string, passes: string[], fails: string[], eku: RegExp][] = [
    ["user", ["sslclient"], ["sslserver"], /TLS Web Client Authentication$/m],
    ["computer", ["sslclient"], ["sslserver"], /TLS Web Client Authentication$/m],
    [
      "service",
      ["sslclient", "sslserver"],
      [],
      /TLS Web Server Authentication, TLS Web Client Authentication/,
    ],
    ["software", [], ["sslclient", "sslserver"], /Code Signing/],
  ];
  for (const [kind, passes, fails, eku] of cases) {
    it(`issues a ${kind} certificate that openssl accepts for ${passes.join(", ") || "no TLS purpose"} and refuses for ${fails.join(", ") || "nothing else"}`, async () => {
      const extra =
        kind === "service"
          ? ["--dns", "pg.dc1.zeroroot.example", "--ip", "10.77.1.5"]
          : kind === "computer"
            ? ["--dns", "srv-001.dc1.zeroroot.example"]
            : [];
      // Computers are named after their data center (identity.ts).
      const cert = await issue(kind, kind === "computer" ? "dc1-computer-1" : `${kind}-1`, extra);
      for (const p of passes)
        assert.equal(opensslVerify(root, dc1, cert, p).status, 0, `${kind} should pass ${p}`);
      for (const p of fails)
        assert.match(
          opensslVerify(root, dc1, cert, p).out,
          /error 26 .*unsuitable certificate purpose/,
          `${kind} should fail ${p}`,
        );
      assert.match(tool("openssl", ["x509", "-in", cert, "-noout", "-text"]).out, eku);
    });
  }

  it("puts the server id in a computer certificate's CN and its host name in the DNS SAN", async () => {
    const cert = await issue("computer", "dc1-srv-007", ["--dns", "srv-007.dc1.zeroroot.example"]);
    const text = tool("openssl", ["x509", "-in", cert, "-noout", "-subject", "-ext", "subjectAltName"]).out;
    assert.match(text, /subject=CN = dc1-srv-007/);
    assert.match(text, /DNS:srv-007\.dc1\.zeroroot\.example/);
  });

  it("revokes a leaf so that openssl verify -crl_check and pki verify --crl both refuse it", async () => {
    const cert = await issue("service", "revoked-svc", ["--dns", "r.dc1.zeroroot.example"]);
    const serial = tool("openssl", ["x509", "-in", cert, "-noout", "-serial"])
      .out.trim()
      .replace(/^serial=/, "");
    const crl = path.join(work, "dc1.crl");
    assert.equal((await cli(["crl", "--dir", dir, "--dc", "dc1", "--out", crl], PASS)).error, undefined);
    assert.equal(opensslVerify(root, dc1, cert, "sslserver", crl).status, 0, "valid before revocation");
    assert.equal(
      (await cli(["revoke", "--dir", dir, "--serial", serial, "--reason", "keyCompromise"])).error,
      undefined,
    );
    assert.equal((await cli(["crl", "--dir", dir, "--dc", "dc1", "--out", crl], PASS)).error, undefined);
    assert.match(opensslVerify(root, dc1, cert, "sslserver", crl).out, /certificate revoked/);
    assert.match(tool("openssl", ["crl", "-in", crl, "-noout", "-text"]).out, /Key Compromise/);
    const r = await cli([
      "verify",
      "--root",
      root,
      "--untrusted",
      dc1,
      "--crl",
      crl,
      "--purpose",
      "serverAuth",
      cert,
    ]);
    assert.match(r.error?.message ?? "", /refused \(revoked\)/);
  });

  it("exports a PKCS#12 keystore with the chain and a truststore that keytool lists", async () => {
    const cert = await issue("service", "java-svc", ["--dns", "j.dc1.zeroroot.example"]);
    const ks = path.join(work, "ks.p12");
    const ts = path.join(work, "ts.p12");
    assert.equal(
      (
        await cli(
          [
            "export",
            "--format",
            "pkcs12",
            "--key",
            path.join(work, "java-svc.key"),
            "--cert",
            cert,
            "--chain",
            path.join(dir, "dc1", "chain.pem"),
            "--alias",
            "svc",
            "--out",
            ks,
          ],
          "storepass1",
        )
      ).error,
      undefined,
    );
    assert.equal(
      (
        await cli(
          ["export", "--format", "truststore", "--cert", root, "--alias", "zeroroot-root", "--out", ts],
          "storepass1",
        )
      ).error,
      undefined,
    );
    const ksList = tool("keytool", [
      "-list",
      "-v",
      "-keystore",
      ks,
      "-storetype",
      "PKCS12",
      "-storepass",
      "storepass1",
    ]).out;
    assert.match(
      ksList,
      /Alias name: svc[\s\S]*Entry type: PrivateKeyEntry[\s\S]*Certificate chain length: 3/,
    );
    assert.match(
      tool("keytool", ["-list", "-keystore", ts, "-storepass", "storepass1"]).out,
      /zeroroot-root, .*trustedCertEntry/,
    );
    assert.match(
      tool("openssl", ["pkcs12", "-info", "-in", ks, "-passin", "pass:storepass1", "-noout"]).out,
      /Shrouded Keybag: PBES2/,
    );
  });

  it("exports PKCS#8 encrypted DER that openssl decrypts only with the passphrase", async () => {
    const out = path.join(work, "k.der");
    assert.equal(
      (
        await cli(
          [
            "export",
            "--format",
            "pkcs8",
            "--key",
            path.join(work, "user-1.key"),
            "--der",
            "--encrypt",
            "--out",
            out,
          ],
          "keypass12",
        )
      ).error,
      undefined,
    );
    assert.equal(
      tool("openssl", ["pkey", "-inform", "DER", "-in", out, "-passin", "pass:keypass12", "-noout"]).status,
      0,
    );
    assert.notEqual(
      tool("openssl", ["pkey", "-inform", "DER", "-in", out, "-passin", "pass:other", "-noout"]).status,
      0,
    );
  });

  describe("clear refusals", () => {
    it("refuses a wrong passphrase", async () => {
      const csr = path.join(work, "user-1.csr");
      const r = await cli(
        ["sign", "--dir", dir, "--kind", "user", "--dc", "dc1", "--csr", csr],
        "not the passphrase",
      );
      assert.match(r.error?.message ?? "", /wrong passphrase/);
    });

    it("refuses a CSR whose signature does not verify", async () => {
      const pem = fs.readFileSync(path.join(work, "user-1.csr"), "utf8");
      const der = Buffer.from(pem.replace(/-----[^-]+-----|\s/g, ""), "base64");
      der[der.length - 5] ^= 0x01;
      const bad = path.join(work, "bad.csr");
      fs.writeFileSync(
        bad,
        `-----BEGIN CERTIFICATE REQUEST-----\n${der.toString("base64")}\n-----END CERTIFICATE REQUEST-----\n`,
      );
      const r = await cli(["sign", "--dir", dir, "--kind", "user", "--dc", "dc1", "--csr", bad], PASS);
      assert.match(r.error?.message ?? "", /signature does not verify/);
    });

    it("refuses a name outside the data center", async () => {
      const csr = path.join(work, "service-1.csr");
      const r = await cli(
        [
          "sign",
          "--dir",
          dir,
          "--kind",
          "service",
          "--dc",
          "dc1",
          "--csr",
          csr,
          "--dns",
          "db.dc2.zeroroot.example",
        ],
        PASS,
      );
      assert.match(r.error?.message ?? "", /"db\.dc2\.zeroroot\.example" is outside what CA/);
      const r2 = await cli(
        ["sign", "--dir", dir, "--kind", "service", "--dc", "dc1", "--csr", csr, "--ip", "10.99.0.1"],
        PASS,
      );
      assert.match(r2.error?.message ?? "", /"10\.99\.0\.1" is outside/);
    });

    it("refuses a weak RSA-2048 key made by openssl", async () => {
      const csr = path.join(work, "weak.csr");
      tool("openssl", [
        "req",
        "-new",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        path.join(work, "weak.key"),
        "-subj",
        "/CN=weak",
        "-out",
        csr,
      ]);
      const r = await cli(["sign", "--dir", dir, "--kind", "user", "--dc", "dc1", "--csr", csr], PASS);
      assert.match(r.error?.message ?? "", /RSA key of 2048 bits is too weak/);
    });

    it("refuses an unknown kind", async () => {
      const r = await cli(
        ["sign", "--dir", dir, "--kind", "robot", "--dc", "dc1", "--csr", path.join(work, "user-1.csr")],
        PASS,
      );
      assert.match(r.error?.message ?? "", /--kind "robot" is unknown/);
      assert.equal(r.error?.exitCode, 2);
    });
  });
});
