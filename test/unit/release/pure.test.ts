import { strict as assert } from "node:assert";
import {
  canonicalJson,
  compareSemVer,
  parseSemVer,
  validateManifest,
  matchesPattern,
  parseAuthorisationList,
  normaliseFingerprint,
  CanonicalFormError,
  ManifestError,
  AuthorisationError,
} from "../../../lib/release";
import { baseManifest } from "./fixtures";

describe("canonical JSON (the bytes a signature covers)", () => {
  it("sorts object keys at every depth and drops whitespace", () => {
    assert.equal(
      canonicalJson({ b: 1, a: { d: [3, { z: true, y: null }], c: "x" } }),
      '{"a":{"c":"x","d":[3,{"y":null,"z":true}]},"b":1}',
    );
  });
  it("escapes strings as JSON.stringify does (RFC 8785 form)", () => {
    assert.equal(canonicalJson({ s: 'é"\n\u2028' }), '{"s":"é\\"\\n\u2028"}');
  });
  for (const bad of [1.5, NaN, Infinity, new Date(0), Buffer.from("x"), 2 ** 60]) {
    it(`refuses ${String(bad)} (${typeof bad}), which has no single canonical form`, () => {
      assert.throws(
        () => canonicalJson({ a: [bad] }),
        (e: unknown) => e instanceof CanonicalFormError && e.path === "$.a[0]",
      );
    });
  }
});

describe("semantic version precedence (rollback protection depends on it)", () => {
  const ordered = [
    "1.0.0-alpha",
    "1.0.0-alpha.1",
    "1.0.0-alpha.beta",
    "1.0.0-beta",
    "1.0.0-beta.2",
    "1.0.0-beta.11",
    "1.0.0-rc.1",
    "1.0.0",
    "1.0.1",
    "1.2.0",
    "1.10.0",
    "2.0.0",
    "10.0.0",
  ];
  for (let i = 0; i + 1 < ordered.length; i++) {
    it(`orders ${ordered[i]} before ${ordered[i + 1]}`, () => {
      assert.ok(compareSemVer(ordered[i], ordered[i + 1]) < 0);
      assert.ok(compareSemVer(ordered[i + 1], ordered[i]) > 0);
    });
  }
  it("ignores build metadata for precedence", () => assert.equal(compareSemVer("1.0.0+a", "1.0.0+b"), 0));
  for (const bad of ["1.2", "v1.2.3", "01.2.3", "1.2.3-", "1.2.3-01", ""]) {
    it(`refuses "${bad}" as a version`, () => assert.equal(parseSemVer(bad), undefined));
  }
});

describe("release manifest validation", () => {
  it("accepts the baseline manifest", () => assert.doesNotThrow(() => validateManifest(baseManifest())));
  const cases: [string, Record<string, unknown>, string][] = [
    [
      "a program that names root as its user",
      { programs: [{ name: "p", command: "x", user: "root" }] },
      "manifest.programs[0].user",
    ],
    [
      "a program with an unknown placeholder",
      { programs: [{ name: "p", command: "{{secret}}", user: "{{partition.user}}" }] },
      "manifest.programs[0].command",
    ],
    ["a version that is not semver", { version: "10.11" }, "manifest.version"],
    [
      "a file path escaping the release directory",
      { files: [{ path: "../etc/passwd", sha256: "a".repeat(64), size: 1 }] },
      "manifest.files[0].path",
    ],
    [
      "a file digest that is not sha256 hex",
      { files: [{ path: "bin/x", sha256: "abc", size: 1 }] },
      "manifest.files[0].sha256",
    ],
    [
      "a port asking client certificates without TLS",
      { ports: [{ name: "sql", port: 3306, protocol: "tcp", tls: false, requireClientCertificate: true }] },
      "manifest.ports[0].requireClientCertificate",
    ],
    [
      "a privileged port",
      { ports: [{ name: "sql", port: 443, protocol: "tcp", tls: true, requireClientCertificate: true }] },
      "manifest.ports[0].port",
    ],
    ["an expiry that is not an ISO-8601 UTC instant", { notAfter: "next year" }, "manifest.notAfter"],
    ["a release that brings nothing", { files: [], packages: [] }, "manifest.files"],
    ["an unknown field", { extra: 1 }, "manifest.extra"],
  ];
  for (const [what, over, path] of cases) {
    it(`refuses ${what}, naming ${path}`, () => {
      assert.throws(
        () => validateManifest(baseManifest(over)),
        (e: unknown) => e instanceof ManifestError && e.path === path,
      );
    });
  }
});

describe("signer authorisation list", () => {
  it("matches release-name patterns with * only", () => {
    assert.ok(matchesPattern("mariadb-*", "mariadb-galera"));
    assert.ok(!matchesPattern("mariadb-*", "mariadb"));
    assert.ok(!matchesPattern("neo", "neo-storage"));
    assert.ok(!matchesPattern("a.b", "aXb"), "a dot is literal");
  });
  it("normalises openssl's fingerprint form", () => {
    const hex = "ab".repeat(32);
    assert.equal(normaliseFingerprint(hex.toUpperCase().match(/../g)!.join(":")), `sha256:${hex}`);
  });
  for (const [what, data, message] of [
    [
      "an entry with both identity and fingerprint",
      { signers: [{ identity: "dc1/software/a", fingerprint: `sha256:${"0".repeat(64)}`, releases: ["*"] }] },
      /exactly one of "identity"/,
    ],
    ["an entry that grants nothing", { signers: [{ identity: "dc1/software/a" }] }, /grants nothing/],
    ["a file without a signers list", { alice: ["*"] }, /"signers" array/],
    [
      "an unknown key",
      { signers: [{ identity: "dc1/software/a", release: ["*"] }] },
      /unknown key "release"/,
    ],
    [
      "a signer named by common name alone, saying how to migrate",
      { signers: [{ commonName: "alice", releases: ["*"] }] },
      /signers\[0\]\.commonName: .*replace "commonName": "alice" with "identity": .*"dc1\/software\/alice"/,
    ],
    [
      "a signer identity of another kind than software",
      { signers: [{ identity: "dc1/service/alice", releases: ["*"] }] },
      /signers\[0\]\.identity: "dc1\/service\/alice" is a service identity/,
    ],
    [
      "a signer identity that is not dc/kind/name",
      { signers: [{ identity: "alice", releases: ["*"] }] },
      /signers\[0\]\.identity: "alice" is not an identity/,
    ],
    [
      "a signer name that is not a plain name",
      { signers: [{ identity: "dc1/software/Alice Smith", releases: ["*"] }] },
      /is not a plain name/,
    ],
    [
      "a fingerprint that is not SHA-256",
      { signers: [{ fingerprint: "sha1:abc", releases: ["*"] }] },
      /is not a SHA-256 fingerprint/,
    ],
    [
      "a list of more signers than the bound",
      { signers: Array.from({ length: 1001 }, () => ({ identity: "dc1/software/a", releases: ["*"] })) },
      /1001 entries; at most 1000/,
    ],
  ] as const) {
    it(`refuses ${what}`, () =>
      assert.throws(
        () => parseAuthorisationList(data, "auth.json"),
        (e: unknown) =>
          e instanceof AuthorisationError && /^auth\.json/.test(e.message) && message.test(e.message),
      ));
  }
  it("reads a signer's identity into its triple", () => {
    const list = parseAuthorisationList({
      signers: [{ identity: "dc2/software/bob", desiredState: ["dc2"] }],
    });
    assert.deepEqual(list.signers[0].identity, { dataCenter: "dc2", kind: "software", name: "bob" });
  });
});
