/**
 * A node's stored state for the agent's re-verification tests: a genuine signed desired state and a
 * genuine signed release, as the agent writes them, in a temp state directory; and an AgentContext
 * built over it in process (no control plane, no supervisord).
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { parseAgentConfig, STATE_KIND, type AgentState } from "../../../lib/agent";
import { buildDesiredState, desiredStateDigest, signDesiredState } from "../../../lib/desired-state";
import { exportPkcs8 } from "../../../lib/pki";
import { manifestDigest, parseAuthorisationList, signRelease } from "../../../lib/release";
import { AgentContext } from "../../../agents/node/context";
import type { Alert } from "../../../agents/node/alerts";
import { makeHierarchy, type Hierarchy, type Party } from "../release/fixtures";
import { instance, manifest } from "./fixtures";

export interface Node {
  readonly dir: string;
  readonly stateFile: string;
  readonly partitionsRoot: string;
  /** Builds the agent's context over the state directory, as the agent does at start. */
  start(): { ctx: AgentContext; alerts: readonly Alert[]; log: string[] };
}

export const AUTHORISATION = parseAuthorisationList({
  signers: [
    { identity: "dc1/software/control-plane-dc1", desiredState: ["dc1"] },
    { identity: "dc1/software/alice", releases: ["*"] },
  ],
});

export function makeNode(h: Hierarchy): Node {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "zr-agent-state-"));
  const partitionsRoot = path.join(dir, "partitions");
  const config = parseAgentConfig({
    serverId: "dc1-s01",
    hostname: "dc1-s01.dc1.zeroroot.example",
    siteUrl: "https://site.dc1.zeroroot.example:8443",
    siteServerName: "site.dc1.zeroroot.example",
    partitions: 4,
    paths: {
      stateDir: path.join(dir, "state"),
      partitionsRoot,
      releasesDir: path.join(dir, "releases"),
      dpkgStatus: path.join(dir, "status"),
    },
  });
  return {
    dir,
    stateFile: path.join(dir, "state", "state.json"),
    partitionsRoot,
    start() {
      const log: string[] = [];
      const ctx = new AgentContext(
        {
          config,
          rootPem: h.rootPem,
          certificateChainPem: `${h.computer.certificatePem}${h.computer.chainPem ?? ""}`,
          privateKeyPem: exportPkcs8(h.computer.privateKey).toString(),
          trust: { authorisation: AUTHORISATION, crls: [] },
          log: (m) => log.push(m),
        },
        { isOnline: () => false, channel: () => undefined },
      );
      return { ctx, alerts: ctx.alerts.queued(), log };
    },
  };
}

const inDays = (d: number) => new Date(Date.now() + d * 86_400_000).toISOString().replace(/\.\d+Z$/, "Z");

/** A genuine state as the agent stores it after applying version 3 of dc1-s01's document. */
export function genuineState(
  h: Hierarchy,
  over: { signer?: Party; computerId?: string; version?: number; now?: Date; validitySeconds?: number } = {},
): AgentState {
  const m = manifest({ notAfter: inDays(30) });
  const digest = manifestDigest(m);
  const inst = instance({
    release: { name: "web", version: "1.0.0", manifestDigest: digest },
    parameters: { greeting: "hello" },
    holdsData: true,
    minimumPersistenceSeconds: 86_400,
  });
  const doc = buildDesiredState({
    computerId: over.computerId ?? "dc1-s01",
    dataCenter: "dc1",
    version: over.version ?? 3,
    instances: [inst],
    validitySeconds: over.validitySeconds ?? 86_400,
    now: over.now,
  });
  return {
    kind: STATE_KIND,
    desired: {
      version: 3,
      digest: desiredStateDigest(doc),
      signed: signDesiredState(doc, over.signer ?? h.controlPlane),
      appliedAt: new Date().toISOString(),
    },
    releases: { web: { version: "1.0.0", digest } },
    releaseDocs: { "web@1.0.0": { digest, signed: signRelease(m, h.alice) } },
    instances: {},
  };
}

export function writeState(node: Node, state: unknown): void {
  fs.mkdirSync(path.dirname(node.stateFile), { recursive: true, mode: 0o700 });
  fs.writeFileSync(node.stateFile, typeof state === "string" ? state : JSON.stringify(state));
}

/** The files set aside next to the state file. */
export function setAside(node: Node): string[] {
  return fs.readdirSync(path.dirname(node.stateFile)).filter((f) => f.startsWith("state.json.set-aside-"));
}

export { makeHierarchy, type Hierarchy };
