/**
 * Hostile certificates, CSRs and CRLs at every door of lib/pki: issuance (what a node, an operator or
 * a compromised site may send to a CA), verification (what a peer may present) and revocation (what
 * may be handed to a verifier). Each row is one attack and the refusal it must meet: a PkiError code
 * at issuance, a verifyIdentity reason at verification. A row that gets anything else fails.
 */
import { strict as assert } from "node:assert";
import { issuanceRows } from "./pki-issuance";
import { makeFixture } from "./pki-fixture";
import { crlRows } from "./pki-revocation";
import { certificateRows } from "./pki-verification";

describe("hostile certificates, CSRs and CRLs: each refused with its reason", function () {
  this.timeout(120_000);
  const f = makeFixture();
  const tables = { issuance: issuanceRows(f), certificates: certificateRows(f), crls: crlRows(f) };
  it("holds at least 60 hostile inputs", () => {
    const hostile = Object.values(tables)
      .flat()
      .filter(([, , expected]) => expected !== "ok" && expected !== "issued");
    assert.ok(hostile.length >= 60, `${hostile.length} rows`);
  });
  for (const [door, rows] of Object.entries(tables))
    describe(door, () => {
      for (const [title, run, expected] of rows)
        it(`${expected === "ok" ? "accepts" : "refuses"} ${title} (${expected})`, () =>
          assert.equal(run(), expected));
    });
});
