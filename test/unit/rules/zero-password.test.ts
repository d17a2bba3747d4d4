import { strict as assert } from "node:assert";
import { generateKeyPairSync } from "node:crypto";
import { UNKNOWN, runRule, valuesViewOf, zeroPassword } from "../../../lib/rules";
import { looksLikeSecretToken } from "../../../lib/rules/secrets";
import { bmcServer, clone, desiredState, record, serviceCertificate } from "./fixtures";

const keyPem = generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey.export({
  type: "pkcs8",
  format: "pem",
}) as string;
const run = (kind: Parameters<typeof record>[0], props: unknown, secretPaths: string[] = [], extra = {}) =>
  runRule(zeroPassword, valuesViewOf(record(kind, "r", props, { secretPaths, ...extra })));

describe("rule zero-password", () => {
  it("passes when the BMC password is a secret", () => {
    assert.deepEqual(run("BmcServer", bmcServer, ["bmc.password"]), []);
  });
  it("passes when the whole bmc object is a secret", () => {
    assert.deepEqual(run("BmcServer", bmcServer, ["bmc"]), []);
  });
  it("passes the compliant desired state and certificate", () => {
    assert.deepEqual(run("DesiredState", desiredState), []);
    assert.deepEqual(run("Certificate", serviceCertificate), []);
  });

  it("fails when the BMC password is plain text", () => {
    const f = run("BmcServer", bmcServer);
    assert.deepEqual(
      f.map((x) => x.path),
      ["bmc.password"],
    );
    assert.ok(!f[0].message.includes(bmcServer.bmc.password), "the message must not print the secret");
  });
  it("fails when a service parameter is a password, even as a secret", () => {
    const p = clone(desiredState);
    p.instances[0].parameters.rootPassword = "hunter2";
    assert.deepEqual(
      run("DesiredState", p, ["instances[0].parameters.rootPassword"]).map((x) => x.path),
      ["instances[0].parameters.rootPassword"],
    );
  });
  for (const key of ["apiKey", "api_token", "db_passwd", "client-secret", "private_key", "pwd"]) {
    it(`fails when a plain-text ${key} appears in any input`, () => {
      const p = clone(bmcServer);
      p[key] = "value-1";
      assert.deepEqual(
        run("BmcServer", p, ["bmc.password"]).map((x) => x.path),
        [key],
      );
    });
    it(`passes when ${key} is a secret outside services`, () => {
      const p = clone(bmcServer);
      p[key] = "value-1";
      assert.deepEqual(run("BmcServer", p, ["bmc.password", key]), []);
    });
  }
  it("fails when a high-entropy string is not a secret", () => {
    const p = clone(bmcServer);
    p.hostname = "gh0Xr9T2kLq8Zs5Vw3Nb7Yd1Fj6Hc4Mp";
    assert.deepEqual(
      run("BmcServer", p, ["bmc.password"]).map((x) => x.path),
      ["hostname"],
    );
  });
  it("does not take digests, signatures, URLs or host names for secrets", () => {
    assert.equal(looksLikeSecretToken("dc1-s01.dc1.zeroroot.test", 20, 4.0), false);
    assert.equal(looksLikeSecretToken("c01.dc1.zeroroot.example:8786", 20, 4.0), false, "host:port");
    assert.equal(looksLikeSecretToken("https://example.test/a/b/c/d", 20, 4.0), false);
    assert.equal(looksLikeSecretToken("/srv/zr-mariadb-1/data/x/y", 20, 4.0), false);
    assert.equal(looksLikeSecretToken("gh0Xr9T2kLq8Zs5Vw3Nb7Yd1Fj6Hc4Mp", 20, 4.0), true);
  });
  it("fails when a PEM private key is an input, even as a secret", () => {
    const p = clone(serviceCertificate);
    p.keyPem = keyPem;
    assert.deepEqual(
      run("Certificate", p, ["keyPem"]).map((x) => x.path),
      ["keyPem"],
    );
  });
  it("fails when a private key hides in the dynamic provider's closure", () => {
    const f = run("Certificate", {
      ...serviceCertificate,
      __provider: `exports.handler = () => ${JSON.stringify(keyPem)}`,
    });
    assert.deepEqual(
      f.map((x) => x.path),
      ["__provider"],
    );
  });
  it("passes when the root CA's key output is a secret", () => {
    assert.deepEqual(run("RootCa", { certificatePem: "x", privateKeyPem: keyPem }, ["privateKeyPem"]), []);
  });
  it("fails when the root CA's key output is plain text", () => {
    assert.deepEqual(
      run("RootCa", { privateKeyPem: keyPem }).map((x) => x.path),
      ["privateKeyPem"],
    );
  });
  it("reports nothing that depends on secretness when secretness is unknown", () => {
    assert.deepEqual(run("BmcServer", bmcServer, [], { secretsUnknown: true }), []);
  });
  it("still reports a private key when secretness is unknown", () => {
    assert.equal(
      run("Certificate", { ...serviceCertificate, keyPem }, [], { secretsUnknown: true }).length,
      1,
    );
  });
  it("reports nothing for a value unknown at preview", () => {
    const p = clone(bmcServer);
    p.bmc.password = UNKNOWN;
    assert.deepEqual(run("BmcServer", p), []);
  });
});
