import { strict as assert } from "node:assert";
import { resourceType } from "../../../lib/contracts/resources";
import { evaluatePolicies, policies } from "../../../policies/policies";
import { mariadbManifest, pgManifest } from "./datastore-fixtures";

const DATASTORE_POLICIES = [
  "datastore-client-certificates",
  "pg-hba-cert-only",
  "mariadb-certificate-users",
  "encryption-at-rest",
];

/** A SoftwareRelease as the stack program registers it: the manifest among its inputs. */
const release = (manifest: { name: string; version: string }) => ({
  type: resourceType("SoftwareRelease"),
  name: `${manifest.name}-${manifest.version}`,
  urn: `urn:pulumi:dc1::zeroroot::${resourceType("SoftwareRelease")}::${manifest.name}`,
  props: { name: manifest.name, version: manifest.version, manifest },
});
const only = (names: readonly string[]) => ({ only: names });

describe("the datastore rules in the policy pack", () => {
  it("are policies of the pack, mandatory by default", () => {
    for (const name of DATASTORE_POLICIES)
      assert.ok(
        policies.some((p) => p.name === name),
        name,
      );
  });
  it("pass the compliant PostgreSQL and MariaDB releases", () =>
    assert.deepEqual(
      evaluatePolicies([release(pgManifest), release(mariadbManifest)], {}, only(DATASTORE_POLICIES)),
      [],
    ));
  it("report a trust line of a release's pg_hba template, naming the resource and the line", () => {
    const m = structuredClone(pgManifest);
    m.configTemplates[1].template += "host all all 0.0.0.0/0 trust\n";
    const v = evaluatePolicies([release(m)], {}, only(DATASTORE_POLICIES));
    assert.deepEqual(
      v.map((x) => [x.policy, x.enforcementLevel, x.path]),
      [["pg-hba-cert-only", "mandatory", "manifest.configTemplates[1]:5"]],
    );
    assert.equal(v[0].urn, release(m).urn);
  });
  it("report a MariaDB release without encryption at rest and with a password user", () => {
    const m = structuredClone(mariadbManifest);
    m.configTemplates[0].template = "[mariadbd]\nrequire_secure_transport = ON\n";
    m.configTemplates[1].template = "CREATE USER bob IDENTIFIED BY 'x';\n";
    const v = evaluatePolicies([release(m)], {}, only(DATASTORE_POLICIES));
    assert.deepEqual([...new Set(v.map((x) => x.policy))].sort(), [
      "encryption-at-rest",
      "mariadb-certificate-users",
    ]);
  });
  it("can be set advisory in the pack config like every policy", () => {
    const m = structuredClone(pgManifest);
    m.ports[0].requireClientCertificate = false;
    const v = evaluatePolicies(
      [release(m)],
      { "datastore-client-certificates": { enforcementLevel: "advisory" } },
      only(DATASTORE_POLICIES),
    );
    assert.deepEqual(
      v.map((x) => [x.policy, x.enforcementLevel]),
      [["datastore-client-certificates", "advisory"]],
    );
  });
});
