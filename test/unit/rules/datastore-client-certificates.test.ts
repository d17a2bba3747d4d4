import { strict as assert } from "node:assert";
import {
  UNKNOWN,
  datastoreClientCertificates,
  datastoresViewFromObserved,
  datastoresViewOfDesiredState,
  runRule,
} from "../../../lib/rules";
import { clone, desiredState, record } from "./fixtures";
import { mariadbManifest, pgManifest, runOnRelease } from "./datastore-fixtures";

const dsWith = (release: string, endpoint: object) => {
  const p = clone(desiredState);
  p.instances[0].release.name = release;
  p.instances[0].endpoints = [endpoint];
  return runRule(datastoreClientCertificates, datastoresViewOfDesiredState(record("DesiredState", "ds", p)));
};
const ok = { port: 5432, protocol: "tcp", tls: true, requireClientCertificate: true };

describe("rule datastore-client-certificates", () => {
  it("passes datastore endpoints with TLS and client certificates", () => {
    assert.deepEqual(dsWith("postgresql", ok), []);
    assert.deepEqual(runOnRelease(datastoreClientCertificates, pgManifest), []);
    assert.deepEqual(runOnRelease(datastoreClientCertificates, mariadbManifest), []);
  });
  const cases: [string, string, object, string][] = [
    [
      "a PostgreSQL endpoint without client certificates",
      "postgresql",
      { ...ok, requireClientCertificate: false },
      "instances[0].endpoints[0].requireClientCertificate",
    ],
    [
      "a MariaDB endpoint without TLS",
      "mariadb",
      { ...ok, port: 3306, tls: false },
      "instances[0].endpoints[0].tls",
    ],
    [
      "a Galera endpoint missing requireClientCertificate",
      "galera",
      { port: 4567, tls: true },
      "instances[0].endpoints[0].requireClientCertificate",
    ],
  ];
  for (const [title, release, endpoint, path] of cases)
    it(`fails on ${title}`, () =>
      assert.deepEqual(
        dsWith(release, endpoint).map((f) => f.path),
        [path],
      ));
  it("fails on a release whose port does not require client certificates", () => {
    const f = runOnRelease(
      datastoreClientCertificates,
      pgManifest,
      (m) => (m.ports[0].requireClientCertificate = false),
    );
    assert.deepEqual(
      f.map((x) => x.path),
      ["manifest.ports[0].requireClientCertificate"],
    );
  });
  it("recognises a datastore release by its packages whatever its name", () => {
    const f = runOnRelease(
      datastoreClientCertificates,
      { ...pgManifest, name: "warehouse" },
      (m) => (m.ports[0].tls = false),
    );
    assert.equal(f.length, 1);
  });
  it("ignores services that are not datastores (mutual-tls judges those)", () =>
    assert.deepEqual(dsWith("dask", { ...ok, requireClientCertificate: false }), []));
  it("reports nothing for values unknown at preview", () =>
    assert.deepEqual(dsWith("postgresql", { ...ok, requireClientCertificate: UNKNOWN }), []));
  it("on a live host judges only what was observed", () => {
    const v = datastoresViewFromObserved("dc1-s01", [
      {
        name: "mariadb",
        engine: "mariadb",
        endpoints: [{ port: 3306 }, { port: 4567, requireClientCertificate: false }],
      },
    ]);
    assert.deepEqual(
      runRule(datastoreClientCertificates, v).map((f) => f.path),
      ["datastores[0].endpoints[1].requireClientCertificate"],
    );
  });
});
