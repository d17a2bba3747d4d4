import { strict as assert } from "node:assert";
import {
  applyAccessPlan,
  buildAccessPlan,
  prefixEnd,
  ApplyError,
  type EtcdctlRunner,
} from "../../../lib/controlplane";

/** A fake etcd that understands the etcdctl subcommands the applier uses, JSON output as etcd 3.4 prints it. */
function fakeEtcd() {
  const roles = new Map<string, { permType: number; key: string; range_end?: string }[]>();
  const users = new Map<string, string[]>();
  const calls: string[][] = [];
  const enc = (s: string): string => Buffer.from(s, "latin1").toString("base64");
  const types: Record<string, number> = { read: 0, write: 1, readwrite: 2 };
  const run: EtcdctlRunner = async (a) => {
    calls.push([...a]);
    const [x, y, name] = a;
    if (x === "role" && y === "list") return JSON.stringify({ roles: [...roles.keys()] });
    if (x === "user" && y === "list") return JSON.stringify({ users: [...users.keys()] });
    if (x === "role" && y === "get") return JSON.stringify({ perm: roles.get(name) });
    if (x === "user" && y === "get") return JSON.stringify({ roles: users.get(name) });
    if (x === "role" && y === "add") return (void roles.set(name, []), "");
    if (x === "user" && y === "add") {
      if (a[3] !== "--no-password") throw new Error("expected --no-password");
      return (void users.set(name, []), "");
    }
    if (x === "role" && y === "grant-permission") {
      const prefix = a[3] === "--prefix=true";
      const [type, key] = a.slice(prefix ? 4 : 3);
      const list = roles
        .get(name)!
        .filter((p) => !(p.key === enc(key) && (p.range_end ?? "") === (prefix ? enc(prefixEnd(key)) : "")));
      list.push({
        permType: types[type],
        key: enc(key),
        ...(prefix ? { range_end: enc(prefixEnd(key)) } : {}),
      });
      return (void roles.set(name, list), "");
    }
    if (x === "role" && y === "revoke-permission") {
      const [key, end] = a.slice(3);
      return (
        void roles.set(
          name,
          roles
            .get(name)!
            .filter((p) => !(p.key === enc(key) && (p.range_end ?? "") === (end ? enc(end) : ""))),
        ),
        ""
      );
    }
    if (x === "user" && y === "grant-role") return (void users.get(name)!.push(a[3]), "");
    if (x === "user" && y === "revoke-role")
      return (
        void users.set(
          name,
          users.get(name)!.filter((r) => r !== a[3]),
        ),
        ""
      );
    if (x === "user" && y === "delete") return (void users.delete(name), "");
    if (x === "role" && y === "delete") return (void roles.delete(name), "");
    if (x === "auth" && y === "enable") return "Authentication Enabled";
    throw new Error(`unexpected etcdctl ${a.join(" ")}`);
  };
  return { run, roles, users, calls, enc };
}

const plan = buildAccessPlan({
  dataCenters: ["dc1"],
  computers: [{ id: "dc1-s1", dc: "dc1" }],
  operators: ["alice"],
});

describe("applying the access plan", () => {
  it("creates every user with no password and every role, then enables auth", async () => {
    const etcd = fakeEtcd();
    const res = await applyAccessPlan(plan, etcd.run);
    assert.deepEqual([...etcd.users.keys()].sort(), ["alice", "dc1-s1", "root", "site-dc1"]);
    assert.deepEqual(etcd.users.get("dc1-s1"), ["computer-dc1-s1"]);
    assert.equal(etcd.roles.get("computer-dc1-s1")?.length, 5); // desired, freshness, requests/ (read), report/, releases/
    assert.deepEqual(etcd.calls.at(-1), ["auth", "enable"]);
    assert.ok(res.changes.length > 0);
  });

  it("changes nothing the second time", async () => {
    const etcd = fakeEtcd();
    await applyAccessPlan(plan, etcd.run);
    assert.deepEqual((await applyAccessPlan(plan, etcd.run)).changes, []);
  });

  it("revokes a permission, a role grant, a user and a role the plan does not have", async () => {
    const etcd = fakeEtcd();
    await applyAccessPlan(plan, etcd.run);
    etcd.roles
      .get("computer-dc1-s1")!
      .push({ permType: 2, key: etcd.enc("/computers/"), range_end: etcd.enc("/computers0") });
    etcd.roles.get("computer-dc1-s1")![0].permType = 2; // desired widened to readwrite
    etcd.users.get("dc1-s1")!.push("operator");
    etcd.users.set("mallory", ["root"]);
    etcd.roles.set("extra", []);
    const res = await applyAccessPlan(plan, etcd.run);
    assert.deepEqual(res.changes.map((c) => c.action).sort(), [
      "delete role",
      "delete user",
      "grant",
      "revoke",
      "revoke role",
    ]);
    assert.deepEqual(etcd.users.get("dc1-s1"), ["computer-dc1-s1"]);
    assert.equal(etcd.users.has("mallory"), false);
    assert.deepEqual((await applyAccessPlan(plan, etcd.run)).changes, []);
  });

  it("keeps unknown users when prune is off", async () => {
    const etcd = fakeEtcd();
    etcd.users.set("legacy", []);
    await applyAccessPlan(plan, etcd.run, { prune: false });
    assert.equal(etcd.users.has("legacy"), true);
  });

  it("says which step failed", async () => {
    const run: EtcdctlRunner = async () => {
      throw new Error("Error: etcdserver: permission denied");
    };
    await assert.rejects(
      applyAccessPlan(plan, run),
      (e: Error) =>
        e instanceof ApplyError && /role list failed: Error: etcdserver: permission denied/.test(e.message),
    );
  });
});
