/** The site config is checked whole at start; the registry's lookups never reach Object.prototype. */
import { strict as assert } from "node:assert";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadSiteConfig, resolveSiteConfig } from "../../../agents/site/config";
import { Registry } from "../../../agents/site/registry";

const GOOD = {
  dataCenter: "dc1",
  domain: "zeroroot.test",
  stateDir: "/var/lib/zeroroot-site",
  addresses: ["10.78.1.2"],
  networks: ["10.78.1.0/24"],
  rootCertificatePath: "/etc/zeroroot/root.pem",
  imageDir: "/srv/images",
  imageSha256: "a".repeat(64),
  operators: ["dc1/user/operator"],
};

describe("site config", () => {
  it("parses operators as identities", () => {
    assert.deepEqual(resolveSiteConfig(GOOD, "site.json").operatorIdentities, [
      { dataCenter: "dc1", kind: "user", name: "operator" },
    ]);
  });

  for (const [entry, message] of [
    ["operator", /operators\[0\]: "operator" is not an identity; allowed: "<data center>\/<kind>\/<name>"/],
    [
      "dc1/service/operator",
      /operators\[0\]: "dc1\/service\/operator" is a service identity; operators are people with user certificates/,
    ],
    ["dc1/user/Alice\n", /operators\[0\]: name "Alice\\n" .* is not a plain name/],
    ["dc1/admin/alice", /operators\[0\]: "admin" is not a certificate kind/],
  ] as const)
    it(`refuses the operator entry ${JSON.stringify(entry)} with its key path`, () => {
      assert.throws(() => resolveSiteConfig({ ...GOOD, operators: [entry] }, "site.json"), message);
    });

  it("refuses unknown keys, wrong types and a __proto__ key, naming the file and the key path", () => {
    const dir = mkdtempSync(join(tmpdir(), "zr-site-config-"));
    const file = join(dir, "site.json");
    writeFileSync(file, JSON.stringify({ ...GOOD, port: "8443", operator: [] }));
    assert.throws(
      () => loadSiteConfig(file),
      (e: Error) => {
        assert.match(e.message, new RegExp(`site config ${file} is not valid`));
        assert.match(e.message, /port: Invalid input: expected number, received string \(received "8443"\)/);
        assert.match(e.message, /Unrecognized key: "operator"/);
        return true;
      },
    );
    writeFileSync(
      file,
      JSON.stringify(GOOD).replace('"operators"', '"node":{"hosts":{"__proto__":"10.0.0.1"}},"operators"'),
    );
    assert.throws(() => loadSiteConfig(file), /node\.hosts\.__proto__: the key is not allowed/);
  });
});

describe("site registry", () => {
  it("finds no server named __proto__, constructor or toString, even from a registry file that lists __proto__", () => {
    const dir = mkdtempSync(join(tmpdir(), "zr-site-registry-"));
    writeFileSync(
      join(dir, "registry.json"),
      '{"servers":{"__proto__":{"serverId":"x","mac":"52:54:00:00:00:01","phase":"ready","hostname":"x"}},"tokens":[]}',
    );
    const r = new Registry(dir);
    for (const name of ["constructor", "toString", "hasOwnProperty", "valueOf"])
      assert.equal(r.server(name), undefined, name);
    assert.equal(r.server("__proto__")?.serverId, "x", "an own entry, not the prototype");
    assert.equal(({} as Record<string, unknown>).phase, undefined, "Object.prototype untouched");
    assert.equal(
      new Registry(mkdtempSync(join(tmpdir(), "zr-site-registry-"))).server("__proto__"),
      undefined,
    );
  });
});
