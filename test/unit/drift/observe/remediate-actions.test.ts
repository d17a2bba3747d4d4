/**
 * The remediation actions' contract with the agent, without a live fleet: what is written to the
 * control plane, what is waited for, and what is refused before anything is written. The real
 * round trip (agent verifies, acts, reports) is in test/lab/drift/drift.test.ts.
 */
import { strict as assert } from "node:assert";
import type { ControlPlaneClient } from "../../../../lib/controlplane";
import { verifyAgentRequestText } from "../../../../lib/agent/requests";
import { outcomesIn, remediationActions } from "../../../../lib/drift/remediate-actions";
import type { DesiredServer } from "../../../../lib/drift/desired";
import type { BmcClient } from "../../../../lib/ipmi";
import { parseAuthorisationList } from "../../../../lib/release";
import { identityOf, makeHierarchy, type Hierarchy } from "../../release/fixtures";

/** An in-memory stand-in for the etcd keys the actions touch; `agent` plays the node's part. */
function store(agent?: (key: string, value: string, kv: Map<string, string>) => void) {
  const kv = new Map<string, string>();
  const client = {
    get: async (k: string) => kv.get(k),
    put: async (k: string, v: string) => {
      kv.set(k, v);
      agent?.(k, v, kv);
    },
    delete: async (k: string) => void kv.delete(k),
  } as unknown as ControlPlaneClient;
  return { kv, client };
}

const server = { server: "dc1-s01", dataCenter: "dc1" } as DesiredServer;
const noBmc = (): BmcClient => assert.fail("no BMC call expected");

describe("remediation actions (drift --remediate)", function () {
  this.timeout(30_000);
  let h: Hierarchy;
  before(() => (h = makeHierarchy()));

  it("asks the agent by a request it can verify, and returns once the agent reports it done", async () => {
    const auth = parseAuthorisationList({
      signers: [{ identity: "dc1/software/control-plane-dc1", desiredState: ["dc1"] }],
    });
    const node = identityOf(h, h.computer);
    const { kv, client } = store((key, value, m) => {
      if (!key.includes("/requests/")) return;
      const v = verifyAgentRequestText(value, {
        root: h.rootPem,
        authorisedSigners: auth,
        node,
        seen: new Set(),
      });
      assert.ok(v.ok, JSON.stringify(v));
      m.set(
        "/computers/dc1-s01/report/status",
        JSON.stringify({ requests: [{ id: v.request.id, outcome: "done", detail: "started" }] }),
      );
    });
    const actions = remediationActions({
      controlPlane: client,
      bmc: noBmc,
      signer: h.controlPlane,
      pollMs: 10,
      agentWaitMs: 2000,
    });
    await actions.restartInstance(server, "echo");
    assert.deepEqual(
      [...kv.keys()].filter((k) => k.includes("/requests/")),
      [],
      "the spent request is removed",
    );
  });

  it("fails with the agent's reason when it refuses, and says so when it never answers", async () => {
    const refusing = store((key, value, m) => {
      if (key.includes("/requests/")) {
        const id = (JSON.parse(value) as { request: { id: string } }).request.id;
        m.set(
          "/computers/dc1-s01/report/status",
          JSON.stringify({ requests: [{ id, outcome: "refused", detail: "unauthorised-signer" }] }),
        );
      }
    });
    const a = remediationActions({
      controlPlane: refusing.client,
      bmc: noBmc,
      signer: h.alice,
      pollMs: 10,
      agentWaitMs: 2000,
    });
    await assert.rejects(a.renewCertificate(server, "service:echo"), /refused request .*unauthorised-signer/);
    const silent = store();
    const b = remediationActions({
      controlPlane: silent.client,
      bmc: noBmc,
      signer: h.controlPlane,
      pollMs: 10,
      agentWaitMs: 100,
    });
    await assert.rejects(b.restartInstance(server, "echo"), /did not report on request .* within 100 ms/);
  });

  it("does not renew a computer certificate (that is a re-enrollment) and writes nothing", async () => {
    const { kv, client } = store();
    const a = remediationActions({ controlPlane: client, bmc: noBmc, signer: h.controlPlane });
    await assert.rejects(a.renewCertificate(server, "computer"), /re-enrolling the server/);
    assert.equal(kv.size, 0);
  });

  it("reads the agent's outcomes tolerantly", () => {
    assert.deepEqual(outcomesIn(undefined), []);
    assert.deepEqual(outcomesIn("{"), []);
    assert.deepEqual(outcomesIn('{"requests":[1,{"id":"a","outcome":"done"}]}'), [
      { id: "a", outcome: "done" },
    ]);
  });
});
