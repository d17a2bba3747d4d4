/** The image spec judged by the rule book (lib/rules): what the policy pack will see at preview. */
import { strict as assert } from "node:assert";
import { resolveHardenedImageSpec, toHardenedImageInputs } from "../../../lib/hardening";
import { hostViewOfImage, noSsh, runRule, zeroRoot } from "../../../lib/rules";

const view = (args: Parameters<typeof resolveHardenedImageSpec>[0] = {}) =>
  hostViewOfImage({ ref: "img", props: { ...toHardenedImageInputs(resolveHardenedImageSpec(args), "dc1") } });

describe("hardening spec under the rule book", () => {
  it("passes no-ssh and zero-root by default", () => {
    assert.deepEqual(runRule(noSsh, view()), []);
    assert.deepEqual(runRule(zeroRoot, view()), []);
  });

  it("passes with extra platform users and open service ports", () => {
    const v = view({
      allowedTcpPorts: [8443, 5432],
      extraUsers: [{ name: "zr-p1", uid: 2001, programs: [{ name: "db", command: "/usr/bin/true" }] }],
    });
    assert.deepEqual(runRule(noSsh, v), []);
    assert.deepEqual(runRule(zeroRoot, v), []);
  });

  it("is caught by no-ssh when its inputs are edited to open port 22 (the wiring can fail)", () => {
    const inputs = toHardenedImageInputs(resolveHardenedImageSpec(), "dc1");
    const edited = { ...inputs, firewall: { ...inputs.firewall, allowedTcpPorts: [22] } };
    assert.notDeepEqual(runRule(noSsh, hostViewOfImage({ ref: "img", props: { ...edited } })), []);
  });
});
