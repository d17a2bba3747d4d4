/**
 * From `zeroroot:dataAccess` to what a datastore instance reads: the `access` parameter, one line per
 * grant; and the refusal of two identities sharing a name on one service, which PostgreSQL's
 * CN-only certificate map could not tell apart.
 */
import { strict as assert } from "node:assert";
import {
  ACCESS_PARAMETER,
  JOB_ACCESS_PARAMETER,
  checkDatastoreIdentities,
  datastoreParameters,
  serviceSchema,
  type DataAccessConfig,
  type RawStackConfig,
} from "../../../lib/fleet";

const raw: RawStackConfig = { values: {}, isSecret: () => false };
const service = (release: string) =>
  serviceSchema.parse({
    name: "postgresql",
    release,
    placement: { servers: ["dc1-s1"] },
    holdsData: true,
    minimumPersistence: "1h",
  });
const access: DataAccessConfig = [
  {
    service: "postgresql",
    database: "analytics",
    grants: [
      { user: "dc1/user/alice", access: "readwrite" },
      { user: "dc2/user/bob", access: "read" },
    ],
  },
  { service: "other", database: "x", grants: [{ user: "dc1/user/eve", access: "read" }] },
];

describe("datastore parameters from zeroroot:dataAccess", () => {
  it("gives a PostgreSQL instance one access line per grant of its own service", () => {
    assert.deepEqual(datastoreParameters(service("postgresql@15.20.1"), access), {
      [ACCESS_PARAMETER]: "analytics dc1/user/alice readwrite\nanalytics dc2/user/bob read",
      [JOB_ACCESS_PARAMETER]: "",
    });
    // the job lines the stack program computes (lib/compute/job-access.ts) pass through as given
    assert.equal(
      datastoreParameters(
        service("postgresql@15.20.1"),
        access,
        "analytics dc1/user/alice readwrite dc1 10.1.0.21",
      )[JOB_ACCESS_PARAMETER],
      "analytics dc1/user/alice readwrite dc1 10.1.0.21",
    );
  });

  it("gives a datastore with no grant an empty access list, and a non-datastore nothing", () => {
    assert.deepEqual(datastoreParameters(service("postgresql@15.20.1"), []), {
      [ACCESS_PARAMETER]: "",
      [JOB_ACCESS_PARAMETER]: "",
    });
    assert.deepEqual(datastoreParameters(service("lab-echo@1.0.0"), access), {});
  });

  it("refuses two identities with one name on a service (dc1/user/alice and dc2/user/alice)", () => {
    const twins: DataAccessConfig = [
      { service: "postgresql", database: "a", grants: [{ user: "dc1/user/alice", access: "read" }] },
      { service: "postgresql", database: "b", grants: [{ user: "dc2/user/alice", access: "readwrite" }] },
    ];
    const issues = checkDatastoreIdentities(twins, raw);
    assert.equal(issues.length, 1);
    assert.match(issues[0].path, /zeroroot:dataAccess\[1\]\.grants\[0\]\.user/);
    assert.equal(issues[0].received, '"dc2/user/alice"');
    assert.match(issues[0].allowed, /dc1\/user\/alice/);
  });

  it("accepts one identity granted on several databases, and the same name on another service", () => {
    const ok: DataAccessConfig = [
      { service: "postgresql", database: "a", grants: [{ user: "dc1/user/alice", access: "read" }] },
      { service: "postgresql", database: "b", grants: [{ user: "dc1/user/alice", access: "readwrite" }] },
      { service: "galera", database: "a", grants: [{ user: "dc2/user/alice", access: "read" }] },
    ];
    assert.deepEqual(checkDatastoreIdentities(ok, raw), []);
  });
});
