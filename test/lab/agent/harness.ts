/**
 * A computer for the agent's lab tests and benchmark, on the host (as root) but with every part
 * unprivileged: a real 3-member etcd in test namespaces (control-plane-fixture.ts), N partitions each
 * with its own supervisord run as the partition uid, and the bundled agent run as uid 2000 with the
 * partitions' groups only, in the computer's namespace (node-fixture.ts). Releases and desired state
 * are signed and published the way operators do (releases-fixture.ts).
 */
import type { ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { bundleAgent } from "../../../agents/node/bundle";
import { keys } from "../../../lib/controlplane";
import type { InstanceSpec } from "../../../lib/contracts/resources";
import type * as pki from "../../../lib/pki";
import { manifestDigest, signRelease, type ReleaseManifest, type Signer } from "../../../lib/release";
import {
  destroyTestNet,
  stopControlPlane,
  type IssuedIdentity,
  type LabControlPlane,
  Probe,
} from "../../../lab/controlplane";
import {
  COMPUTER,
  etcdctl,
  makeHierarchy,
  readAlerts,
  readStatus,
  startLabControlPlane,
  type ReportedAlert,
  type ReportedStatus,
} from "./control-plane-fixture";
import { sleep } from "./helpers";
import { INIT_ROOT_BASE, startInit, stopInit, writeInitConfig, type InitFixture } from "./init-fixture";
import {
  AGENT_UID,
  makePartitions,
  spawnAgent,
  spawnSupervisords,
  stopProcess,
  waitForSupervisords,
  writeAgentConfig,
} from "./node-fixture";
import {
  enterNode,
  enteredPid,
  startNodeNamespaces,
  stopNodeNamespaces,
  type NodeNamespaces,
} from "./node-namespaces";
import { instanceSpec, makeRelease, signedDesired, type ReleaseRef } from "./releases-fixture";

export { COMPUTER, DCS, ZONE } from "./control-plane-fixture";
export { canRunLab, partitionPrograms, sleep, waitFor, type ProgramProcess } from "./helpers";
export { AGENT_UID } from "./node-fixture";
export type { ReleaseRef } from "./releases-fixture";

export interface AgentLabOptions {
  readonly partitions: number;
  /** Agent intervals (seconds). */
  readonly intervals?: Record<string, number>;
  readonly anomaly?: Record<string, number>;
  /** Flags for the agent's node. @default [] */
  readonly nodeFlags?: readonly string[];
  /** agent.json controlPlane.requireFreshness. @default false */
  readonly requireFreshness?: boolean;
  /**
   * Run the image's PID 1 (agents/init/zr-init.py) for the partitions: their supervisords then run
   * only while they hold an instance, started and stopped at the agent's request. @default false -
   * every partition's supervisord is started by the fixture and runs throughout
   */
  readonly init?: boolean;
}

export class AgentLab {
  readonly root: string;
  readonly rootPem: string;
  readonly ca: Record<string, pki.CertificateAuthority>;
  /** Signs desired state for dc1 (trust.json: desiredState ["dc1"]). */
  readonly stateSigner: Signer;
  /** Signs releases (trust.json: releases ["*"]). */
  readonly releaseSigner: Signer;
  /** A software-signing certificate of the hierarchy that trust.json does not name. */
  readonly mallory: Signer;
  readonly computerId: IssuedIdentity;
  readonly otherComputer: IssuedIdentity;
  cp!: LabControlPlane;
  probe!: Probe;
  namespace!: string;
  agent?: ChildProcess;
  init?: InitFixture;
  /** The computer's own PID and mount namespaces, when the image's PID 1 does not provide them. */
  node?: NodeNamespaces;
  private supervisords: ChildProcess[] = [];
  private version = 0;
  private bundle?: string;

  constructor(readonly opts: AgentLabOptions) {
    // PID 1 mounts its own /tmp: a lab that runs it keeps its files elsewhere
    this.root = fs.mkdtempSync(path.join(opts.init ? INIT_ROOT_BASE : os.tmpdir(), "zr-agent-lab-"));
    fs.chmodSync(this.root, 0o755);
    const h = makeHierarchy();
    this.rootPem = h.rootPem;
    this.ca = h.ca;
    this.stateSigner = h.stateSigner;
    this.releaseSigner = h.releaseSigner;
    this.mallory = h.mallory;
    this.computerId = h.computerId;
    this.otherComputer = h.otherComputer;
  }

  get stateDir(): string {
    return path.join(this.root, "cp");
  }
  get agentLog(): string {
    return path.join(this.root, "agent.log");
  }
  get partitionsRoot(): string {
    return path.join(this.root, "parts");
  }
  get releasesDir(): string {
    return path.join(this.root, "releases");
  }
  /** /etc/zeroroot as the installer would write it, owned by zr-agent. */
  get configDir(): string {
    return path.join(this.root, "etc");
  }

  async start(): Promise<void> {
    const { cp, namespace } = await startLabControlPlane(this, this.stateDir);
    this.cp = cp;
    this.namespace = namespace;
    this.probe = Probe.start(this.namespace);
    await this.probe.connect("s1", this.cp.endpoints, this.computerId);
    await this.probe.connect("s2", this.cp.endpoints, this.otherComputer);
    makePartitions(this.partitionsRoot, this.opts.partitions);
    if (this.opts.init) {
      const config = writeInitConfig(this.root, this.partitionsRoot, this.opts.partitions, AGENT_UID);
      this.init = await startInit(this.root, config, this.namespace);
    } else {
      this.node = await startNodeNamespaces(this.namespace);
      // kept before waiting, so that close() stops them even if one never comes up
      this.supervisords = spawnSupervisords(this.nodePid1, this.partitionsRoot, this.opts.partitions);
      await waitForSupervisords(this.partitionsRoot, this.opts.partitions);
    }
    writeAgentConfig({
      configDir: this.configDir,
      agentStateDir: path.join(this.root, "agent-state"),
      partitionsRoot: this.partitionsRoot,
      releasesDir: this.releasesDir,
      partitions: this.opts.partitions,
      computerId: this.computerId,
      rootPem: this.rootPem,
      endpoints: this.cp.endpoints,
      intervals: this.opts.intervals,
      anomaly: this.opts.anomaly,
      requireFreshness: this.opts.requireFreshness,
      // without PID 1, a socket that does not exist: the fixture's supervisords run throughout
      initSocket: path.join(this.root, this.opts.init ? "init.sock" : "no-init.sock"),
    });
    this.bundle = (await bundleAgent(path.join(this.root, "bundle"))).entry;
  }

  /** Host pid of the computer's PID 1 (the image's, or the reaper of node-namespaces.ts). */
  get nodePid1(): number {
    const pid = this.init ? this.init.hostPid() : this.node?.pid1;
    if (!pid) throw new Error("the agent lab's computer is not running");
    return pid;
  }

  /** Host pid of the running agent (node, under nsenter). */
  agentPid(): number | undefined {
    return this.agent ? enteredPid(this.agent) : undefined;
  }

  /** argv prefix that runs a command on the computer, as the agent sees its processes. */
  onNode(workDir?: string): string[] {
    return enterNode(this.nodePid1, workDir);
  }

  /** Starts the bundled agent as uid 2000 with the partitions' groups, in the computer's namespaces. */
  startAgent(nodeFlags = this.opts.nodeFlags): ChildProcess {
    this.agent = spawnAgent({
      nodePid1: this.nodePid1,
      partitions: this.opts.partitions,
      bundle: this.bundle as string,
      configDir: this.configDir,
      logFile: this.agentLog,
      nodeFlags,
    });
    return this.agent;
  }

  async stopAgent(): Promise<void> {
    await stopProcess(this.agent);
  }

  /** Writes release files under releasesDir and returns a manifest listing them. */
  makeRelease(
    name: string,
    version: string,
    port: number,
    over: Partial<ReleaseManifest> = {},
    script = `#!/bin/sh\n# ${name} ${version}\nexec /usr/bin/python3 -m http.server --bind 127.0.0.1 "$1"\n`,
  ): ReleaseManifest {
    return makeRelease(this.releasesDir, name, version, port, over, script);
  }

  /** Signs and publishes a release at /releases/<name>@<version>; `raw` publishes a document as given. */
  async publishRelease(
    m: ReleaseManifest,
    signer: Signer = this.releaseSigner,
    raw?: unknown,
  ): Promise<ReleaseRef> {
    const doc = raw ?? signRelease(m, signer);
    await this.etcdctl(["put", keys.release(m.name, m.version), JSON.stringify(doc)]);
    return { manifest: m, digest: manifestDigest(m) };
  }

  instance(name: string, rel: ReleaseRef, partition: number, over: Partial<InstanceSpec> = {}): InstanceSpec {
    return instanceSpec(name, rel, partition, over);
  }

  /** Signs (by default) and writes desired state; returns its version. */
  async putDesired(
    instances: readonly InstanceSpec[],
    opts: {
      version?: number;
      signer?: Signer;
      computerId?: string;
      transform?: (signed: unknown) => unknown;
    } = {},
  ): Promise<number> {
    const version = opts.version ?? ++this.version;
    this.version = Math.max(this.version, version);
    const value = signedDesired(instances, {
      version,
      signer: opts.signer ?? this.stateSigner,
      computerId: opts.computerId ?? COMPUTER,
      transform: opts.transform,
    });
    await this.etcdctl(["put", keys.desired(COMPUTER), JSON.stringify(value)]);
    return version;
  }

  /** etcdctl as root; retried on a deadline (a loaded 2-core machine makes etcd slow at times). */
  async etcdctl(args: string[]): Promise<string> {
    return etcdctl(this.stateDir, args);
  }

  /** Every alert the agent raised, oldest first. */
  async alerts(): Promise<ReportedAlert[]> {
    return readAlerts(this.stateDir);
  }

  async status(): Promise<ReportedStatus | undefined> {
    return readStatus(this.stateDir);
  }

  async close(): Promise<void> {
    await this.stopAgent();
    await this.probe?.stop();
    for (const s of this.supervisords) await stopProcess(s);
    await stopNodeNamespaces(this.node);
    await stopInit(this.init);
    await sleep(500);
    if (fs.existsSync(this.stateDir)) await stopControlPlane(this.stateDir, { removeState: true });
    destroyTestNet();
    if (this.opts.init) fs.rmSync(this.root, { recursive: true, force: true });
  }
}
