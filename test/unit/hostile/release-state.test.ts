/**
 * Hostile releases and desired-state documents, as text a node reads from the control plane or its own
 * disk: each is refused with its own reason, quickly, with a bounded message, and nothing throws.
 */
import { strict as assert } from "node:assert";
import { checkRelease } from "../../../lib/agent";
import { verifyDesiredStateText } from "../../../lib/desired-state";
import {
  manifestDigest,
  memoryFileSource,
  parseAuthorisationList,
  verifyReleaseText,
} from "../../../lib/release";
import type { Identity } from "../../../lib/pki";
import { FILES, baseManifest, identityOf, makeHierarchy, type Hierarchy } from "../release/fixtures";
import { RELEASES, genuineRelease, type Case } from "./release-cases";
import { STATES, genuineState } from "./state-cases";

const AUTHORISATION = parseAuthorisationList({
  signers: [
    { identity: "dc1/software/alice", releases: ["mariadb-*"] },
    { identity: "dc1/software/bob", releases: ["*"], desiredState: ["*"] },
    { identity: "dc1/software/alice-old", releases: ["*"], desiredState: ["*"] },
    { identity: "dc1/software/control-plane-dc1", desiredState: ["dc1"] },
    { identity: "dc2/software/state-signer-dc2", desiredState: ["dc2"] },
  ],
});

/** The refusal, checked to be quick and its message bounded (a huge document must not echo back). */
function refused(c: Case, verify: () => { ok: boolean; reason?: string; detail?: string }): void {
  const start = Date.now();
  const r = verify();
  const ms = Date.now() - start;
  assert.equal(r.ok ? "accepted" : r.reason, c.reason, r.ok ? "" : r.detail);
  assert.ok((r.detail ?? "").length < 2000, `message of ${r.detail?.length} characters`);
  assert.ok(ms < 2000, `took ${ms} ms`);
}

describe("hostile releases and desired states: each refused with its reason", function () {
  this.timeout(60_000);
  let h: Hierarchy;
  let node: Identity;
  before(() => {
    h = makeHierarchy();
    node = identityOf(h, h.computer);
  });

  it("holds at least 30 cases", () => assert.ok(RELEASES.length + STATES.length >= 30));

  it("accepts the genuine release and document the cases are made from (each case changes one thing)", () => {
    const r = verifyReleaseText(genuineRelease(h), {
      root: h.rootPem,
      authorisation: AUTHORISATION,
      files: memoryFileSource(FILES),
    });
    assert.ok(r.ok, r.ok ? "" : r.detail);
    const d = verifyDesiredStateText(genuineState(h), {
      root: h.rootPem,
      authorisedSigners: AUTHORISATION,
      node,
    });
    assert.ok(d.ok, d.ok ? "" : d.detail);
  });

  for (const c of RELEASES)
    it(`refuses ${c.name} (${c.reason})`, () =>
      refused(c, () => {
        const m = baseManifest();
        const check = checkRelease({
          document: c.text(h),
          ref: { name: m.name, version: m.version, manifestDigest: manifestDigest(m) },
          trust: { root: h.rootPem, authorisation: AUTHORISATION, crls: c.crls?.(h) },
          last: c.last?.(h) as { version: string; digest: string } | undefined,
          files: memoryFileSource(c.files ?? FILES),
          packages: new Map([["galera-4", "26.4.14-1"]]),
          now: new Date(),
        });
        // checkRelease prefixes its own "release <name>@<version>: "; the reason is lib/release's
        return check.ok ? { ok: true } : { ok: false, reason: check.reason, detail: check.detail };
      }));

  for (const c of STATES)
    it(`refuses ${c.name} (${c.reason})`, () =>
      refused(c, () => {
        const last = c.last?.(h);
        return verifyDesiredStateText(c.text(h), {
          root: h.rootPem,
          authorisedSigners: AUTHORISATION,
          node,
          crls: c.crls?.(h),
          lastAppliedVersion: last?.version as number | undefined,
          lastAppliedDigest: last?.digest,
        });
      }));
});
