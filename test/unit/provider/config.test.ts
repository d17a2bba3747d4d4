/**
 * The provider plugin's configuration (CheckConfig; Configure runs the same judgement and keeps the
 * previous configuration when it refuses) against hostile and mistaken values (config-cases.ts):
 * each is refused with one failure on its key, whose message names the key (and list index), shows
 * what was received (escaped, bounded; a password or a private key never), says why, what is
 * allowed and what to correct, on one line and with no stack trace. The control rows show the
 * rules accept what the stacks and the lab configure. Over gRPC: test/integration/provider/
 * configuration.test.ts.
 */
import { strict as assert } from "node:assert";
import { checkConfig } from "../../../provider/config";
import { ALLOWED, GOOD, NEVER_SHOWN, ROWS } from "./config-cases";

/** A character an escaped message never holds raw: C0, DEL, C1, bidi embeddings and overrides. */
const unescaped = (c: string) => {
  const n = c.charCodeAt(0);
  return n < 0x20 || (n >= 0x7f && n <= 0x9f) || (n >= 0x202a && n <= 0x202e);
};

describe("provider configuration: hostile values are refused, naming the key, the value and what is allowed", () => {
  it("accepts what the stacks and the lab configure", () => {
    assert.deepEqual(checkConfig(GOOD).failures, []);
    for (const siteUrl of [
      "https://10.77.1.2",
      "https://10.77.1.2:8443/",
      "https://site.dc1.zeroroot.example:8443",
      "https://[fd00:77::2]:8443",
    ])
      assert.deepEqual(checkConfig({ ...GOOD, siteUrl }).failures, [], siteUrl);
    assert.deepEqual(checkConfig({ siteServerName: "site.dc1.zeroroot.test" }).failures, []);
    assert.deepEqual(
      checkConfig({ controlPlaneEndpoints: ["https://etcd.dc1.zeroroot.test:2379"] }).failures,
      [],
    );
    assert.deepEqual(checkConfig({}).failures, [], "every key is optional");
  });

  for (const [title, key, value, why, received] of ROWS)
    it(`refuses ${title} (${key})`, () => {
      const failures = checkConfig({ ...GOOD, [key]: value }).failures;
      assert.equal(failures.length, 1, JSON.stringify(failures));
      const [{ property, reason }] = failures;
      assert.equal(property, key);
      assert.match(reason, new RegExp(`^${key}(\\[\\d+\\])? is `), "names the key first");
      assert.ok(reason.includes(received), `shows ${received} as received: ${reason}`);
      assert.match(reason, why);
      assert.match(reason, ALLOWED[key]);
      assert.ok(reason.includes(`correct the zeroroot provider's ${key}`), "says what to correct");
      assert.ok(![...reason].some(unescaped), "one line, no raw control or bidi character");
      assert.doesNotMatch(reason, /\bat .*\.[cm]?[jt]s:\d+/, "no stack trace");
      assert.ok(reason.length < 1000, `bounded (${reason.length} characters)`);
      for (const secret of NEVER_SHOWN) assert.ok(!reason.includes(secret), `never shows ${secret}`);
    });
});
