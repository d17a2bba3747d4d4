import { strict as assert } from "node:assert";
import { join } from "node:path";
import {
  checkStackConfig,
  datastoreEngineOf,
  formatIssues,
  grantsOf,
  readStackFile,
  type RawStackConfig,
} from "../../../lib/fleet";

const example = readStackFile(join(__dirname, "../../../stacks/Pulumi.dc1.yaml"));
type Values = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
const KEY = "zeroroot:dataAccess";

function withAccess(change: (v: Values) => void): RawStackConfig {
  const values = structuredClone(example.values) as Values;
  change(values);
  return { values, isSecret: example.isSecret, locate: example.locate };
}

describe("zeroroot:dataAccess (lib/fleet/data-access.ts)", () => {
  it("accepts the example grants and resolves them per identity", () => {
    const { value, issues } = checkStackConfig(example);
    assert.deepEqual(issues, [], formatIssues(issues));
    assert.equal(value?.kind, "dataCenter");
    if (value?.kind !== "dataCenter") return;
    assert.deepEqual(grantsOf(value.dataAccess, { dataCenter: "dc1", kind: "user", name: "alice" }), [
      { service: "postgresql", database: "analytics", access: "readwrite" },
    ]);
    // A name alone grants nothing: alice of dc2 is another identity.
    assert.deepEqual(grantsOf(value.dataAccess, { dataCenter: "dc2", kind: "user", name: "alice" }), []);
  });

  // One mistake each: the key path it is reported at and words of the reason.
  const cases: [string, (v: Values) => void, string, RegExp][] = [
    [
      "a service that does not exist",
      (v) => (v[KEY][0].service = "postgres"),
      `${KEY}[0].service`,
      /a datastore service of zeroroot:services \(postgresql, galera\)/,
    ],
    [
      "a service that is not a datastore",
      (v) => {
        // a platform service whose release is not a datastore's
        v["zeroroot:services"].push({
          name: "dask",
          release: "dask@2022.12.1",
          placement: { role: "compute" },
          holdsData: false,
        });
        v[KEY][0].service = "dask";
      },
      `${KEY}[0].service`,
      /a service whose release is postgresql/,
    ],
    [
      "a database name needing quotes",
      (v) => (v[KEY][0].database = "Sales; DROP"),
      `${KEY}[0].database`,
      /a database name/,
    ],
    [
      "a user given as a bare name",
      (v) => (v[KEY][0].grants[0].user = "alice"),
      `${KEY}[0].grants[0].user`,
      /is not an identity/,
    ],
    [
      "a service identity instead of a user",
      (v) => (v[KEY][0].grants[0].user = "dc1/service/alice"),
      `${KEY}[0].grants[0].user`,
      /datastores grant users, not service/,
    ],
    [
      "an unknown access level",
      (v) => (v[KEY][0].grants[0].access = "admin"),
      `${KEY}[0].grants[0].access`,
      /one of read, readwrite/,
    ],
    [
      "a misspelt key",
      (v) => (v[KEY][0].grants[0] = { user: "dc1/user/alice", acess: "read" }),
      `${KEY}[0].grants[0].acess`,
      /./,
    ],
    [
      "the same database twice",
      (v) => v[KEY].splice(1, 0, structuredClone(v[KEY][0])),
      `${KEY}[1].database`,
      /listed once/,
    ],
    [
      "a user granted twice on one database",
      (v) => v[KEY][0].grants.push({ user: "dc1/user/alice", access: "read" }),
      `${KEY}[0].grants[2].user`,
      /granted once/,
    ],
  ];
  for (const [title, change, path, reason] of cases)
    it(`refuses ${title} at ${path}`, () => {
      const { value, issues } = checkStackConfig(withAccess(change));
      assert.equal(value, undefined);
      const hit = issues.find((i) => i.path === path);
      assert.ok(hit, formatIssues(issues));
      assert.match(`${hit.allowed} ${hit.fix}`, reason);
      assert.equal(hit.file, example.file);
    });
  it("suggests the key a misspelling meant", () => {
    const { issues } = checkStackConfig(withAccess((v) => (v["zeroroot:dataAcess"] = v[KEY])));
    assert.ok(
      issues.some((i) => /did you mean zeroroot:dataAccess/.test(i.fix)),
      formatIssues(issues),
    );
  });
  it("recognises datastore releases by name", () => {
    assert.equal(datastoreEngineOf("postgresql"), "postgresql");
    assert.equal(datastoreEngineOf("mariadb-galera"), "mariadb");
    assert.equal(datastoreEngineOf("galera"), "mariadb");
    assert.equal(datastoreEngineOf("postgresqlish"), undefined);
    assert.equal(datastoreEngineOf("dask"), undefined);
  });
});
