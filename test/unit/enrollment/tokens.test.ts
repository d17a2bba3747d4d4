import { strict as assert } from "node:assert";
import { TokenStore } from "../../../lib/enrollment";

const MAC = "52:54:00:01:01:11";

function storeAt(start = 1_000_000) {
  const clock = { t: start };
  return { clock, store: new TokenStore([], () => clock.t) };
}

describe("enrollment tokens", () => {
  it("accepts a fresh token once, from its server's MAC (any case)", () => {
    const { store } = storeAt();
    const token = store.arm("dc1-s01", MAC);
    assert.deepEqual(store.redeem(token, MAC.toUpperCase()), { ok: true, serverId: "dc1-s01" });
  });

  it("refuses a reused token and raises an alert naming the server, never the token", () => {
    const { store } = storeAt();
    const token = store.arm("dc1-s01", MAC);
    store.redeem(token, MAC);
    const second = store.redeem(token, MAC);
    assert.equal(second.ok, false);
    if (!second.ok) {
      assert.equal(second.alert.reason, "reused");
      assert.equal(second.alert.serverId, "dc1-s01");
      assert.ok(!JSON.stringify(second.alert).includes(token));
    }
  });

  it("refuses a token from another MAC and burns it", () => {
    const { store } = storeAt();
    const token = store.arm("dc1-s01", MAC);
    const wrong = store.redeem(token, "52:54:00:01:01:99");
    assert.equal(wrong.ok, false);
    if (!wrong.ok) assert.equal(wrong.alert.reason, "wrong-mac");
    const after = store.redeem(token, MAC);
    assert.equal(after.ok, false);
    if (!after.ok) assert.equal(after.alert.reason, "reused");
  });

  it("refuses an expired token", () => {
    const { store, clock } = storeAt();
    const token = store.arm("dc1-s01", MAC, 1000);
    clock.t += 1001;
    const r = store.redeem(token, MAC);
    assert.equal(r.ok, false);
    if (!r.ok) assert.equal(r.alert.reason, "expired");
  });

  it("refuses a token replaced by a newer install of the same server", () => {
    const { store } = storeAt();
    const old = store.arm("dc1-s01", MAC);
    const fresh = store.arm("dc1-s01", MAC);
    const r = store.redeem(old, MAC);
    assert.equal(r.ok, false);
    if (!r.ok) assert.equal(r.alert.reason, "superseded");
    assert.equal(store.redeem(fresh, MAC).ok, true);
  });

  it("refuses a token it never issued", () => {
    const { store } = storeAt();
    store.arm("dc1-s01", MAC);
    const r = store.redeem("not-a-token", MAC);
    assert.equal(r.ok, false);
    if (!r.ok) assert.equal(r.alert.reason, "unknown-token");
  });

  it("keeps only hashes of tokens", () => {
    const { store } = storeAt();
    const token = store.arm("dc1-s01", MAC);
    const persisted = JSON.stringify(store.toJSON());
    assert.ok(!persisted.includes(token));
    assert.match(persisted, /"tokenHash":"[0-9a-f]{64}"/);
  });

  it("consumes a token only when the use of it succeeds (a refused CSR leaves it live)", () => {
    const { store } = storeAt();
    const token = store.arm("dc1-s01", MAC);
    assert.throws(
      () =>
        store.redeemWith(token, MAC, () => {
          throw new Error("CSR refused");
        }),
      /CSR refused/,
    );
    assert.ok(store.isLive(token));
    const r = store.redeemWith(token, MAC, (serverId) => `cert of ${serverId}`);
    assert.deepEqual(r, { ok: true, serverId: "dc1-s01", value: "cert of dc1-s01" });
    assert.equal(store.isLive(token), false);
  });

  it("refuses an asynchronous use, which would let two redemptions interleave", () => {
    const { store } = storeAt();
    const token = store.arm("dc1-s01", MAC);
    assert.throws(() => store.redeemWith(token, MAC, async () => "late"), /synchronous/);
    assert.ok(store.isLive(token), "nothing consumed");
  });

  it("forgets records a week after they expired, so the store stays bounded", () => {
    const { clock, store } = storeAt();
    store.arm("dc1-s01", MAC, 1000);
    clock.t += 8 * 86_400_000;
    store.arm("dc1-s02", "52:54:00:01:01:12");
    assert.deepEqual(
      store.toJSON().map((r) => r.serverId),
      ["dc1-s02"],
    );
  });
});
