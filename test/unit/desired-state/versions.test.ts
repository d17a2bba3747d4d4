import assert from "node:assert/strict";
import { appliedVersion, publishedVersion } from "../../../lib/desired-state";

describe("the published and applied desired-state versions, read from raw control-plane values", () => {
  const table: [string, string | undefined, number | undefined, number | undefined][] = [
    // what, raw value, published, applied
    ["a signed document", JSON.stringify({ document: { version: 7 }, signature: "x" }), 7, undefined],
    ["an agent's report", JSON.stringify({ desired: { version: 4 }, instances: [] }), undefined, 4],
    ["no value", undefined, undefined, undefined],
    ["not JSON", "{version: 3", undefined, undefined],
    ["JSON null", "null", undefined, undefined],
    ["a bare number", "5", undefined, undefined],
    [
      "a string version",
      JSON.stringify({ document: { version: "9" }, desired: { version: "9" } }),
      undefined,
      undefined,
    ],
    [
      "a negative version",
      JSON.stringify({ document: { version: -1 }, desired: { version: -1 } }),
      undefined,
      undefined,
    ],
    [
      "a fraction",
      JSON.stringify({ document: { version: 1.5 }, desired: { version: 1.5 } }),
      undefined,
      undefined,
    ],
    ["beyond a safe integer", `{"document":{"version":9007199254740993}}`, undefined, undefined],
    ["document null", JSON.stringify({ document: null, desired: null }), undefined, undefined],
    ["document a string", JSON.stringify({ document: "v", desired: "v" }), undefined, undefined],
    ["version 0", JSON.stringify({ document: { version: 0 }, desired: { version: 0 } }), 0, 0],
  ];
  for (const [what, text, published, applied] of table) {
    it(`${what}: published ${String(published)}, applied ${String(applied)}`, () => {
      assert.equal(publishedVersion(text), published);
      assert.equal(appliedVersion(text), applied);
    });
  }
});
