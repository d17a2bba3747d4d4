/**
 * The signed operator requests `zeroroot drift --remediate` writes for a node's agent: the agent acts
 * only for a signer granted desiredState in its own data center, for itself, while current, once.
 */
import { strict as assert } from "node:assert";
import {
  REQUEST_LIMITS,
  signAgentRequest,
  verifyAgentRequestText,
  type SignedAgentRequest,
  type VerifyAgentRequestOptions,
} from "../../../../lib/agent/requests";
import type { Identity } from "../../../../lib/pki";
import { allowed, buildAccessPlan, keys } from "../../../../lib/controlplane";
import { parseAuthorisationList, signCanonical, type AuthorisationList } from "../../../../lib/release";
import { identityOf, makeHierarchy, type Hierarchy, type Party } from "../../release/fixtures";

describe("operator requests to an agent (restart, renew)", function () {
  this.timeout(30_000);
  let h: Hierarchy;
  let node: Identity;
  let auth: AuthorisationList;
  const NOW = new Date(); // the fixtures' certificates are valid now

  before(() => {
    h = makeHierarchy();
    node = identityOf(h, h.computer);
    auth = parseAuthorisationList({
      signers: [
        { identity: "dc1/software/control-plane-dc1", desiredState: ["dc1"] },
        { identity: "dc1/software/alice", releases: ["*"] },
        { identity: "dc1/software/bob", desiredState: ["*"] },
        { identity: "dc2/software/state-signer-dc2", desiredState: ["dc2"] },
      ],
    });
  });

  const request = (over: Record<string, unknown> = {}, signer: Party = h.controlPlane, now = NOW) =>
    signAgentRequest(
      {
        id: "r1",
        dataCenter: "dc1",
        computerId: "dc1-s01",
        action: "restart-instance",
        instance: "lab-echo",
        reason: "drift: instance stopped",
        ...over,
      } as Parameters<typeof signAgentRequest>[0],
      signer,
      { now },
    );
  const opts = (over: Partial<VerifyAgentRequestOptions> = {}): VerifyAgentRequestOptions => ({
    root: h.rootPem,
    authorisedSigners: auth,
    node,
    seen: new Set(),
    now: NOW,
    ...over,
  });
  const verify = (s: SignedAgentRequest | string, o = opts()) =>
    verifyAgentRequestText(typeof s === "string" ? s : JSON.stringify(s), o);

  it("accepts a request signed by this data center's desired-state signer, for this computer", () => {
    const v = verify(request());
    assert.ok(v.ok, JSON.stringify(v));
    assert.equal(v.request.action, "restart-instance");
    assert.equal(v.signer, "dc1/software/control-plane-dc1");
  });

  const refusals: [string, () => string, RegExp, Partial<VerifyAgentRequestOptions>?][] = [
    ["unsigned", () => JSON.stringify({ request: request().request }), /^unsigned$/],
    [
      "tampered after signing (another instance)",
      () => JSON.stringify({ ...request(), request: { ...request().request, instance: "mariadb" } }),
      /bad-signature/,
    ],
    [
      "signed by a release signer without a desiredState grant",
      () => JSON.stringify(request({}, h.alice)),
      /unauthorised-signer/,
    ],
    [
      "signed by another data center's state signer",
      () => JSON.stringify(request({}, h.dc2StateSigner)),
      /unauthorised-signer|wrong-data-center/,
    ],
    [
      "signed by a computer's key (an online machine)",
      () => JSON.stringify(request({}, h.computer)),
      /wrong-eku|wrong-kind|untrusted/,
    ],
    [
      "signed by a software certificate minted by the online site CA",
      () => JSON.stringify(request({}, h.mintedByOnlineCa)),
      /untrusted|wrong|unauthorised/,
    ],
    ["signed by a foreign hierarchy's alice", () => JSON.stringify(request({}, h.foreignAlice)), /untrusted/],
    ["signed by a revoked signer", () => JSON.stringify(request({}, h.bob)), /revoked/, { crls: [] }],
    ["for another computer", () => JSON.stringify(request({ computerId: "dc1-s02" })), /wrong-computer/],
    [
      "for another data center's computer of the same name",
      () => JSON.stringify(request({ dataCenter: "dc2" })),
      /wrong-computer/,
    ],
    [
      "expired",
      () => JSON.stringify(request({}, h.controlPlane, new Date(NOW.getTime() - 3_600_000))),
      /expired/,
    ],
    [
      "issued in the future",
      () => JSON.stringify(request({}, h.controlPlane, new Date(NOW.getTime() + 3_600_000))),
      /not-yet-valid/,
    ],
    [
      "an action outside the closed list (destroy)",
      () => JSON.stringify(forge({ action: "destroy-instance" })),
      /malformed/,
    ],
    [
      "valid for longer than allowed",
      () => JSON.stringify(forge({ expiresAt: new Date(NOW.getTime() + 86_400_000).toISOString() })),
      /validity-too-long/,
    ],
    [
      "larger than the bound",
      () => JSON.stringify({ ...request(), pad: "x".repeat(REQUEST_LIMITS.bytes) }),
      /too-large/,
    ],
    ["not JSON", () => "{", /malformed/],
    ["nested deeper than a request is", () => "[".repeat(50) + "]".repeat(50), /too-deep/],
  ];
  /** A request signed as-is by the authorised signer, bypassing signAgentRequest's checks. */
  const forge = (over: Record<string, unknown>) => {
    const r = { ...request().request, ...over };
    return { request: r, signature: signCanonical(r, h.controlPlane) };
  };

  for (const [what, make, reason, extra] of refusals)
    it(`refuses a request ${what}`, () => {
      const o = extra?.crls ? opts({ crls: [h.crlRevokingBob] }) : opts(extra);
      const v = verify(make(), o);
      assert.equal(v.ok, false, `${what} was accepted`);
      if (!v.ok) assert.match(v.reason, reason, `${what}: ${v.reason}: ${v.detail}`);
    });

  it("refuses the same request a second time (replay)", () => {
    const s = request();
    const v = verify(s, opts({ seen: new Set(["r1"]) }));
    assert.equal(v.ok, false);
    if (!v.ok) assert.equal(v.reason, "replayed");
  });

  it("refuses to sign a request for an action outside the list", () => {
    assert.throws(
      () => request({ action: "wipe" }),
      /request\.action: got "wipe"; allowed: restart-instance, renew-certificate/,
    );
  });

  it("lets operators write a computer's requests, and the computer only read its own", () => {
    const plan = buildAccessPlan({
      dataCenters: ["dc1"],
      computers: [
        { id: "dc1-s01", dc: "dc1" },
        { id: "dc1-s02", dc: "dc1" },
      ],
      operators: ["alice"],
    });
    const key = keys.request("dc1-s01", "r1");
    assert.equal(allowed(plan, "alice", key, "write"), true);
    assert.equal(allowed(plan, "dc1-s01", key, "read"), true);
    assert.equal(allowed(plan, "dc1-s01", key, "write"), false, "an agent cannot forge its own orders");
    assert.equal(allowed(plan, "dc1-s02", key, "read"), false, "nor read another computer's");
    assert.throws(() => keys.request("dc1-s01", "../desired"), /request id/);
  });
});
