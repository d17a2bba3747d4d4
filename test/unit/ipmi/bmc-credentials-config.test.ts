/**
 * `zeroroot:dataCenter.bmcCredentials`: defaults, refusals, and the keeper that decides when a new
 * password is made (the rotation period the program runs in, and a generation bumped by hand).
 */
import { strict as assert } from "node:assert";
import {
  bmcCredentialsSchema,
  bmcPasswordKeepers,
  rotationPeriod,
  type BmcRotation,
} from "../../../lib/fleet";

describe("BMC credential rotation settings", () => {
  it("defaults to a quarterly rotation of 16-character passwords on user ids 3 and 4, channel 1", () => {
    assert.deepEqual(bmcCredentialsSchema.parse(undefined), {
      rotation: "quarterly",
      generation: 0,
      userIds: [3, 4],
      channel: 1,
      usernameBase: "zeroroot",
      passwordBytes: 16,
    });
  });

  const refused: [string, unknown, RegExp][] = [
    ["an unknown rotation", { rotation: "daily" }, /monthly, quarterly, yearly/],
    ["a negative generation", { generation: -1 }, /0 to 1000000/],
    ["a fractional generation", { generation: 1.5 }, /whole number/],
    ["the same user id twice", { userIds: [3, 3] }, /two distinct BMC user ids/],
    ["the anonymous user", { userIds: [1, 3] }, /1 is the anonymous user/],
    ["three user ids", { userIds: [3, 4, 5] }, /two distinct BMC user ids|Too big|too_big|array/i],
    ["a 24-byte password field", { passwordBytes: 24 }, /16 or 20/],
    ["an upper-case user name base", { usernameBase: "ZR" }, /\[a-z0-9-\]/],
    ["an unknown key", { rotate: "monthly" }, /rotate|unrecognized/i],
  ];
  for (const [what, value, expected] of refused)
    it(`refuses ${what}`, () => {
      const r = bmcCredentialsSchema.safeParse(value);
      assert.equal(r.success, false);
      assert.match(JSON.stringify(r.error?.issues), expected);
    });

  const periods: [BmcRotation, string, string][] = [
    ["monthly", "2026-12-01T17:00:00Z", "2026-12"],
    ["monthly", "2027-01-01T00:00:00Z", "2027-01"],
    ["quarterly", "2026-12-31T23:59:59Z", "2026-Q4"],
    ["quarterly", "2027-01-01T00:00:00Z", "2027-Q1"],
    ["quarterly", "2026-04-01T00:00:00Z", "2026-Q2"],
    ["yearly", "2026-06-15T12:00:00Z", "2026"],
  ];
  for (const [rotation, at, expected] of periods)
    it(`${rotation} at ${at} is period ${expected} (UTC)`, () =>
      assert.equal(rotationPeriod(rotation, new Date(at)), expected));

  it("keeps the password within a period and changes the keeper at the next period or generation", () => {
    const c = bmcCredentialsSchema.parse({});
    const a = bmcPasswordKeepers(c, new Date("2026-10-02T00:00:00Z"));
    assert.deepEqual(a, { period: "2026-Q4", generation: "0" });
    assert.deepEqual(bmcPasswordKeepers(c, new Date("2026-12-30T00:00:00Z")), a);
    assert.notDeepEqual(bmcPasswordKeepers(c, new Date("2027-01-01T00:00:00Z")), a);
    assert.notDeepEqual(bmcPasswordKeepers({ ...c, generation: 1 }, new Date("2026-10-02T00:00:00Z")), a);
  });

  it("refuses an invalid date rather than inventing a period", () =>
    assert.throws(() => rotationPeriod("monthly", new Date("not a date")), /invalid date/));
});
