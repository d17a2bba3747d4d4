import { strict as assert } from "node:assert";
import { UNKNOWN, certificate, certificateViewOf, runRule } from "../../../lib/rules";
import { clone, record, serviceCertificate } from "./fixtures";

const run = (p: unknown) => runRule(certificate, certificateViewOf(record("Certificate", "c", p)));

describe("rule certificate", () => {
  it("passes a service certificate made by the profile", () => assert.deepEqual(run(serviceCertificate), []));
  it("passes each kind with its own EKU", () => {
    const eku = {
      user: ["clientAuth"],
      computer: ["clientAuth"],
      software: ["codeSigning"],
      issuing: [],
      root: [],
    };
    for (const [kind, extendedKeyUsage] of Object.entries(eku))
      assert.deepEqual(run({ ...serviceCertificate, kind, extendedKeyUsage, validityDays: 300 }), [], kind);
  });
  const cases: [string, (p: ReturnType<typeof clone>) => void, string][] = [
    ["fails when the key is RSA 2048", (p) => (p.keyType = "rsa-2048"), "keyType"],
    ["fails when a service certificate is valid too long", (p) => (p.validityDays = 825), "validityDays"],
    ["fails when validity is zero", (p) => (p.validityDays = 0), "validityDays"],
    [
      "fails when a service certificate lacks clientAuth",
      (p) => (p.extendedKeyUsage = ["serverAuth"]),
      "extendedKeyUsage",
    ],
    [
      "fails when a service certificate may sign code",
      (p) => p.extendedKeyUsage.push("codeSigning"),
      "extendedKeyUsage",
    ],
    [
      "fails when a computer certificate has serverAuth",
      (p) => ((p.kind = "computer"), (p.extendedKeyUsage = ["serverAuth", "clientAuth"])),
      "extendedKeyUsage",
    ],
    ["fails for an unknown kind", (p) => (p.kind = "wildcard"), "kind"],
  ];
  for (const [title, mutate, path] of cases) {
    it(title, () => {
      const p = clone(serviceCertificate);
      mutate(p);
      assert.deepEqual(
        run(p).map((f) => f.path),
        [path],
      );
    });
  }
  it("reports nothing for values unknown at preview", () => {
    assert.deepEqual(
      run({ ...serviceCertificate, keyType: UNKNOWN, validityDays: UNKNOWN, extendedKeyUsage: UNKNOWN }),
      [],
    );
    assert.deepEqual(run({ ...serviceCertificate, kind: UNKNOWN, validityDays: 9999 }), []);
  });
});
