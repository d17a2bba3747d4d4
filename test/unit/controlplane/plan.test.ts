import { strict as assert } from "node:assert";
import {
  allowed,
  buildAccessPlan,
  computerRole,
  keys,
  MEMBER_CN,
  planCommands,
  prefixEnd,
  type AccessPlan,
} from "../../../lib/controlplane";

const input = {
  dataCenters: ["dc1", "dc2", "dc3"],
  computers: [
    { id: "dc1-s1", dc: "dc1" },
    { id: "dc1-s10", dc: "dc1" },
    { id: "dc2-s1", dc: "dc2" },
  ],
  operators: ["alice"],
};

/** Keys a test probes: every kind of key of every computer, site and CRL, plus look-alikes. */
function probeKeys(): string[] {
  const ids = ["dc1-s1", "dc1-s10", "dc2-s1"];
  return [
    ...ids.flatMap((id) => [
      keys.desired(id),
      keys.status(id),
      keys.usage(id),
      keys.alert(id, "cpu-1"),
      `${keys.computer(id)}other`,
    ]),
    "/computers/dc1-s1",
    "/computers/dc1-s1x/desired",
    "/computers/dc1-s1/desiredx",
    keys.site("dc1"),
    `${keys.site("dc1")}ca`,
    keys.crl("dc1"),
    keys.crl("dc2"),
    "/",
    "/other",
  ];
}

describe("control-plane access plan", () => {
  const plan: AccessPlan = buildAccessPlan(input);

  it("gives each computer one user named by its certificate CN and one role of its own", () => {
    const u = plan.users.find((x) => x.name === "dc1-s1");
    assert.deepEqual(u, { name: "dc1-s1", kind: "computer", roles: ["computer-dc1-s1"] });
    assert.deepEqual(
      plan.roles.map((r) => r.name),
      [
        "root",
        "operator",
        "site-dc1",
        "site-dc2",
        "site-dc3",
        "computer-dc1-s1",
        "computer-dc1-s10",
        "computer-dc2-s1",
      ],
    );
  });

  for (const id of ["dc1-s1", "dc1-s10", "dc2-s1"]) {
    it(`grants computer ${id} nothing outside its own keys`, () => {
      for (const key of probeKeys()) {
        for (const access of ["read", "write"] as const) {
          if (allowed(plan, id, key, access))
            assert.ok(key.startsWith(keys.computer(id)), `${id} may ${access} ${key}`);
        }
      }
    });
  }

  it("lets a computer read but never write its desired state, and read-write its reports", () => {
    assert.equal(allowed(plan, "dc1-s1", keys.desired("dc1-s1"), "read"), true);
    assert.equal(allowed(plan, "dc1-s1", keys.desired("dc1-s1"), "write"), false);
    for (const k of [keys.status("dc1-s1"), keys.usage("dc1-s1"), keys.alert("dc1-s1", "a1")]) {
      assert.equal(allowed(plan, "dc1-s1", k, "write"), true, k);
      assert.equal(allowed(plan, "dc1-s1", k, "read"), true, k);
    }
  });

  it("does not let computer dc1-s1 reach dc1-s10 through a shared prefix", () => {
    assert.equal(allowed(plan, "dc1-s1", keys.desired("dc1-s10"), "read"), false);
    assert.equal(allowed(plan, "dc1-s1", keys.status("dc1-s10"), "write"), false);
  });

  it("lets operators write every computer's desired state and CRLs, but not sites", () => {
    assert.equal(allowed(plan, "alice", keys.desired("dc2-s1"), "write"), true);
    assert.equal(allowed(plan, "alice", keys.crl("dc3"), "write"), true);
    assert.equal(allowed(plan, "alice", `${keys.site("dc1")}x`, "write"), false);
  });

  it("lets a site service read only its own data center's computers and write its own site and CRL", () => {
    assert.equal(allowed(plan, "site-dc1", keys.status("dc1-s1"), "read"), true);
    assert.equal(allowed(plan, "site-dc1", keys.status("dc2-s1"), "read"), false);
    assert.equal(allowed(plan, "site-dc1", keys.desired("dc1-s1"), "write"), false);
    assert.equal(allowed(plan, "site-dc1", keys.crl("dc1"), "write"), true);
    assert.equal(allowed(plan, "site-dc1", keys.crl("dc2"), "write"), false);
    assert.equal(allowed(plan, "site-dc1", `${keys.site("dc2")}x`, "read"), false);
  });

  it("gives no user the root role except root", () => {
    assert.deepEqual(
      plan.users.filter((u) => u.roles.includes("root")).map((u) => u.name),
      ["root"],
    );
  });

  it("holds no password anywhere: every user is created with --no-password", () => {
    const cmds = planCommands(plan);
    const adds = cmds.filter((c) => c[0] === "user" && c[1] === "add");
    assert.equal(adds.length, plan.users.length);
    for (const c of adds) assert.deepEqual(c.slice(3), ["--no-password"]);
    assert.doesNotMatch(JSON.stringify({ plan, cmds }), /passw(or)?d["']?\s*:|--new-user-password|:[^"]*@/i);
  });

  it("ends the command list by enabling authentication", () => {
    assert.deepEqual(planCommands(plan).at(-1), ["auth", "enable"]);
  });

  it("grants every prefix with a trailing slash", () => {
    for (const r of plan.roles)
      for (const p of r.permissions) if (p.prefix) assert.ok(p.key.endsWith("/"), `${r.name}: ${p.key}`);
  });

  it("refuses, in one message, a computer of an unknown data center, a duplicate CN and reserved names", () => {
    assert.throws(
      () =>
        buildAccessPlan({
          dataCenters: ["dc1"],
          computers: [
            { id: "dc1-s1", dc: "dc9" },
            { id: "site-dc1", dc: "dc1" },
            { id: "root", dc: "dc1" },
          ],
          operators: ["dc1-s1", MEMBER_CN, "bad name"],
        }),
      (e: Error) => {
        assert.match(e.message, /computers\[0\]\.dc: "dc9" is not one of dataCenters \(dc1\)/);
        assert.match(
          e.message,
          /computers\[1\]\.id: user name "site-dc1" is already the site service of dc1/,
        );
        assert.match(e.message, /computers\[2\]\.id: user name "root"/);
        assert.match(e.message, /operators\[0\]: user name "dc1-s1" is already computer dc1-s1/);
        assert.match(e.message, /operators\[1\]: user name "etcd-peer"/);
        assert.match(e.message, /operators\[2\]: "bad name" is not a usable CN/);
        return true;
      },
    );
  });

  it("refuses a computer named for another data center (etcd would know it by that CN)", () => {
    assert.throws(
      () => buildAccessPlan({ dataCenters: ["dc1", "dc2"], computers: [{ id: "dc2-s1", dc: "dc1" }] }),
      /computers\[0\]\.id: computer name "dc2-s1" is not of data center dc1/,
    );
  });

  it("refuses ids that could escape a prefix", () => {
    for (const id of ["a/b", "A1", "", "../x", "a*"])
      assert.throws(() => keys.desired(id), /not a valid id/, id);
    assert.throws(() => keys.alert("dc1-s1", "a/b"), /alert id/);
  });

  it("computes etcd's range end for a prefix", () => {
    assert.equal(prefixEnd("/computers/a/"), "/computers/a0");
    assert.equal(computerRole("x"), "computer-x");
  });
  it("lets every computer read signed releases but never write them; operators publish them", () => {
    const rel = keys.release("mariadb", "10.11.6");
    assert.equal(rel, "/releases/mariadb@10.11.6");
    for (const id of ["dc1-s1", "dc2-s1"]) {
      assert.equal(allowed(plan, id, rel, "read"), true, id);
      assert.equal(allowed(plan, id, rel, "write"), false, id);
    }
    assert.equal(allowed(plan, "alice", rel, "write"), true);
    assert.equal(allowed(plan, "site-dc1", rel, "write"), false);
    assert.equal(allowed(plan, "dc1-s1", "/releasesx", "read"), false);
    assert.throws(() => keys.release("../x", "1.0.0"), /cannot be a key/);
    assert.throws(() => keys.release("x", "1.0.0/../../computers"), /cannot be a key/);
  });

  it("gives each data center's timestamp service (CN timestamp.<dc>.<domain>) read of its computers' documents and write of their freshness only", () => {
    const p = buildAccessPlan({ ...input, domain: "zeroroot.example" });
    const ts = "timestamp.dc1.zeroroot.example";
    assert.deepEqual(
      p.users.find((u) => u.name === ts),
      { name: ts, kind: "timestamp", roles: ["timestamp-dc1"] },
    );
    assert.equal(allowed(p, ts, keys.desired("dc1-s1"), "read"), true);
    assert.equal(allowed(p, ts, keys.freshness("dc1-s1"), "write"), true);
    assert.equal(allowed(p, ts, keys.freshness("dc2-s1"), "write"), false);
    assert.equal(allowed(p, ts, keys.desired("dc1-s1"), "write"), false);
    assert.equal(allowed(p, ts, keys.status("dc1-s1"), "read"), false);
    assert.equal(allowed(p, ts, keys.crl("dc1"), "write"), false);
    // the computer reads its statement and cannot write it; operators cannot be the timestamp service's etcd user
    assert.equal(allowed(p, "dc1-s1", keys.freshness("dc1-s1"), "read"), true);
    assert.equal(allowed(p, "dc1-s1", keys.freshness("dc1-s1"), "write"), false);
    assert.equal(allowed(p, "dc1-s1", keys.freshness("dc1-s10"), "read"), false);
    assert.equal(
      buildAccessPlan(input).users.some((u) => u.kind === "timestamp"),
      false,
    );
    assert.throws(
      () => buildAccessPlan({ ...input, domain: "Bad_Domain" }),
      /domain: "Bad_Domain" is not a lower-case DNS domain/,
    );
  });
});
