import { strict as assert } from "node:assert";
import { contains, overlaps, parseCidr, type Cidr } from "../../../lib/fleet";

const cidr = (t: string) => {
  const c = parseCidr(t);
  assert.notEqual(typeof c, "string", `${t}: ${String(c)}`);
  return c as Cidr;
};

describe("network arithmetic", () => {
  const table: [string, string, boolean][] = [
    ["10.77.1.0/24", "10.77.1.254", true],
    ["10.77.1.0/24", "10.77.2.1", false],
    ["10.0.0.0/8", "10.255.0.1", true],
    ["fd00:77::/64", "fd00:77::10", true],
    ["fd00:77::/64", "fd00:78::10", false],
    ["10.77.1.0/24", "fd00:77::10", false],
  ];
  for (const [net, ip, expected] of table)
    it(`${net} ${expected ? "contains" : "does not contain"} ${ip}`, () =>
      assert.equal(contains(cidr(net), ip), expected));

  it("detects overlap both ways and none between families", () => {
    assert.ok(overlaps(cidr("10.77.0.0/16"), cidr("10.77.5.0/24")));
    assert.ok(overlaps(cidr("10.77.5.0/24"), cidr("10.77.0.0/16")));
    assert.ok(!overlaps(cidr("10.77.5.0/24"), cidr("10.77.6.0/24")));
    assert.ok(!overlaps(cidr("10.0.0.0/8"), cidr("fd00::/8")));
  });

  it("explains malformed networks", () => {
    assert.match(String(parseCidr("10.77.1.0")), /CIDR notation/);
    assert.match(String(parseCidr("10.77.1.0/33")), /\/0 to \/32/);
    assert.match(String(parseCidr("10.77.1.9/24")), /host bits set; the network is 10\.77\.1\.0\/24/);
    assert.match(String(parseCidr("fd00::1/64")), /host bits set; the network is fd00:0:0:0:0:0:0:0\/64/);
  });
});
