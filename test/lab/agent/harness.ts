/**
 * A computer for the agent's lab tests and benchmark, on the host (as root) but with every part
 * unprivileged: a real 3-member etcd in test namespaces (lab/controlplane), N partitions each with its
 * own supervisord run as the partition uid (setpriv, no capabilities), and the bundled agent run as
 * uid 2000 with the partitions' groups only, in the computer's namespace. Releases and desired state
 * are signed and published the way operators do.
 */
import { spawn, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { bundleAgent } from "../../../agents/node/bundle";
import { TRUST_KIND } from "../../../lib/agent";
import { buildAccessPlan, keys } from "../../../lib/controlplane";
import type { InstanceSpec } from "../../../lib/contracts/resources";
import { buildDesiredState, signDesiredState } from "../../../lib/desired-state";
import {
  PARTITION_DIR_MODES,
  partitionName,
  partitionPaths,
  partitionUid,
  renderSupervisordConf,
} from "../../../lib/hardening";
import * as pki from "../../../lib/pki";
import {
  digestBytes,
  manifestDigest,
  PARTITION_USER,
  RELEASE_KIND,
  signRelease,
  type ReleaseManifest,
  type Signer,
} from "../../../lib/release";
import {
  createTestNet,
  destroyTestNet,
  issueIdentity,
  Probe,
  readClusterState,
  rootEtcdctl,
  startControlPlane,
  stopControlPlane,
  type IssuedIdentity,
  type LabControlPlane,
} from "../../../lab/controlplane";

export const ZONE = "zeroroot.test";
export const DCS = ["dc1", "dc2", "dc3"];
export const COMPUTER = "dc1-s1";
export const AGENT_UID = 2000;

export const canRunLab = (): boolean =>
  process.getuid?.() === 0 && fs.existsSync("/usr/bin/etcd") && fs.existsSync("/usr/bin/supervisord");

function issuingCa(root: pki.CertificateAuthority, dc: string): pki.CertificateAuthority {
  const k = pki.generateKeyPair();
  const cert = pki.issueFromCsr(
    root,
    "issuing",
    pki.createCsr({ commonName: `zeroroot ${dc} issuing CA` }, k.privateKey),
    {
      nameScope: { dnsZones: [`${dc}.${ZONE}`] },
    },
  );
  return pki.loadCa(cert.certificatePem, pki.exportPkcs8(k.privateKey));
}

function softwareSigner(ca: pki.CertificateAuthority, cn: string): Signer {
  const k = pki.generateKeyPair();
  const cert = pki.issueFromCsr(ca, "software", pki.createCsr({ commonName: cn }, k.privateKey), {
    commonName: cn,
  });
  return { privateKey: k.privateKey, certificatePem: cert.certificatePem, chainPem: ca.certificatePem };
}

export interface ReleaseRef {
  readonly manifest: ReleaseManifest;
  readonly digest: string;
}

export interface AgentLabOptions {
  readonly partitions: number;
  /** Agent intervals (seconds). */
  readonly intervals?: Record<string, number>;
  readonly anomaly?: Record<string, number>;
  /** Flags for the agent's node. @default [] */
  readonly nodeFlags?: readonly string[];
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
  private readonly supervisords: ChildProcess[] = [];
  private version = 0;
  private bundle?: string;

  constructor(readonly opts: AgentLabOptions) {
    this.root = fs.mkdtempSync(path.join(os.tmpdir(), "zr-agent-lab-"));
    fs.chmodSync(this.root, 0o755);
    const root = pki.createRootCa({ commonName: "zeroroot agent lab root" });
    this.rootPem = root.certificatePem;
    this.ca = Object.fromEntries(DCS.map((dc) => [dc, issuingCa(root.ca, dc)]));
    this.stateSigner = softwareSigner(this.ca.dc1, "control-plane-dc1");
    this.releaseSigner = softwareSigner(this.ca.dc1, "release-admin");
    this.mallory = softwareSigner(this.ca.dc1, "mallory");
    this.computerId = issueIdentity(this.ca.dc1, this.rootPem, "computer", COMPUTER);
    this.otherComputer = issueIdentity(this.ca.dc1, this.rootPem, "computer", "dc1-s2");
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

  async start(): Promise<void> {
    const net = createTestNet([...DCS, "node"]);
    this.namespace = net.hosts.node.namespace;
    const plan = buildAccessPlan({
      dataCenters: DCS,
      computers: [
        { id: COMPUTER, dc: "dc1" },
        { id: "dc1-s2", dc: "dc1" },
      ],
      operators: ["alice"],
    });
    this.cp = await startControlPlane({
      members: DCS.map((dc) => ({
        dc,
        namespace: net.hosts[dc].namespace,
        address: net.hosts[dc].address,
        dnsName: `etcd.${dc}.${ZONE}`,
      })),
      pki: { rootCertificatePem: this.rootPem, issuing: this.ca },
      plan,
      stateDir: this.stateDir,
      clientNamespaces: [this.namespace],
    });
    this.probe = Probe.start(this.namespace);
    await this.probe.connect("s1", this.cp.endpoints, this.computerId);
    await this.probe.connect("s2", this.cp.endpoints, this.otherComputer);
    this.makePartitions();
    await this.startSupervisords();
    this.writeAgentConfig();
    this.bundle = (await bundleAgent(path.join(this.root, "bundle"))).entry;
  }

  private makePartitions(): void {
    for (let i = 0; i < this.opts.partitions; i++) {
      const user = partitionName(i);
      const uid = partitionUid(i);
      const p = partitionPaths(user, this.partitionsRoot);
      fs.mkdirSync(this.partitionsRoot, { recursive: true, mode: 0o755 });
      for (const d of PARTITION_DIR_MODES) {
        const dir = path.join(p.home, d.rel);
        fs.mkdirSync(dir, { recursive: true });
        fs.chownSync(dir, uid, uid);
        fs.chmodSync(dir, d.mode);
      }
      const conf = path.join(p.supervisorDir, "supervisord.conf");
      fs.writeFileSync(
        conf,
        renderSupervisordConf({ name: user, uid, home: p.home, programs: [], partition: true }),
      );
      fs.chownSync(conf, uid, uid);
      fs.chmodSync(conf, 0o600);
    }
  }

  private async startSupervisords(): Promise<void> {
    for (let i = 0; i < this.opts.partitions; i++) {
      const uid = partitionUid(i);
      const p = partitionPaths(partitionName(i), this.partitionsRoot);
      const child = spawn(
        "ip",
        [
          ...["netns", "exec", this.namespace],
          ...["setpriv", `--reuid=${uid}`, `--regid=${uid}`, "--clear-groups", "--no-new-privs"],
          ...["--inh-caps=-all", "--bounding-set=-all", "--"],
          ...["/usr/bin/supervisord", "--nodaemon", "--configuration", `${p.supervisorDir}/supervisord.conf`],
        ],
        {
          stdio: "ignore",
          env: { PATH: "/usr/bin:/bin", HOME: p.home, LANG: "C.UTF-8" },
          cwd: p.home,
        },
      );
      this.supervisords.push(child);
    }
    await waitFor(
      () =>
        Array.from({ length: this.opts.partitions }, (_, i) =>
          fs.existsSync(partitionPaths(partitionName(i), this.partitionsRoot).socket),
        ).every(Boolean),
      30_000,
      "every partition's supervisord socket",
    );
  }

  /** /etc/zeroroot as the installer would write it, owned by zr-agent. */
  get configDir(): string {
    return path.join(this.root, "etc");
  }

  private writeAgentConfig(): void {
    const dir = this.configDir;
    fs.mkdirSync(dir, { recursive: true });
    const write = (name: string, content: string, mode = 0o640) => {
      fs.writeFileSync(path.join(dir, name), content, { mode });
      fs.chownSync(path.join(dir, name), AGENT_UID, AGENT_UID);
    };
    write("computer.crt", this.computerId.certificateChainPem);
    write("computer.key", this.computerId.privateKeyPem, 0o600);
    write("root.crt", this.rootPem);
    write(
      "agent.json",
      JSON.stringify({
        serverId: COMPUTER,
        hostname: `s1.dc1.${ZONE}`,
        siteUrl: `https://site.dc1.${ZONE}:8443`,
        siteServerName: `site.dc1.${ZONE}`,
        controlPlane: { endpoints: this.cp.endpoints, timeoutMs: 2000 },
        paths: {
          stateDir: path.join(this.root, "agent-state"),
          partitionsRoot: this.partitionsRoot,
          releasesDir: this.releasesDir,
        },
        partitions: this.opts.partitions,
        intervals: {
          reportSeconds: 1,
          sampleSeconds: 1,
          resyncSeconds: 2,
          readySeconds: 3600,
          ...this.opts.intervals,
        },
        anomaly: this.opts.anomaly ?? {},
      }),
    );
    write(
      "trust.json",
      JSON.stringify({
        kind: TRUST_KIND,
        signers: [
          { commonName: "control-plane-dc1", desiredState: ["dc1"] },
          { commonName: "release-admin", releases: ["*"] },
        ],
      }),
    );
    fs.chownSync(dir, 0, AGENT_UID);
    fs.chmodSync(dir, 0o750);
    fs.mkdirSync(path.join(this.root, "agent-state"), { recursive: true, mode: 0o700 });
    fs.chownSync(path.join(this.root, "agent-state"), AGENT_UID, AGENT_UID);
  }

  /** Starts the bundled agent as uid 2000 with the partitions' groups, in the computer's namespace. */
  startAgent(): ChildProcess {
    const groups = Array.from({ length: this.opts.partitions }, (_, i) => partitionUid(i)).join(",");
    const log = fs.openSync(this.agentLog, "a");
    const child = spawn(
      "ip",
      [
        ...["netns", "exec", this.namespace],
        ...[
          "setpriv",
          `--reuid=${AGENT_UID}`,
          `--regid=${AGENT_UID}`,
          `--groups=${groups}`,
          "--no-new-privs",
        ],
        ...["--inh-caps=-all", "--bounding-set=-all", "--"],
        ...[
          process.execPath,
          ...(this.opts.nodeFlags ?? []),
          this.bundle as string,
          "--config-dir",
          this.configDir,
        ],
      ],
      { stdio: ["ignore", log, log], env: { PATH: "/usr/bin:/bin", LANG: "C.UTF-8" }, cwd: "/" },
    );
    fs.closeSync(log);
    this.agent = child;
    return child;
  }

  async stopAgent(): Promise<void> {
    const a = this.agent;
    if (!a || a.exitCode !== null) return;
    const done = new Promise((r) => a.once("exit", r));
    a.kill("SIGTERM");
    await Promise.race([done, sleep(5000)]);
    if (a.exitCode === null) a.kill("SIGKILL");
  }

  /** Writes release files under releasesDir and returns a manifest listing them. */
  makeRelease(
    name: string,
    version: string,
    port: number,
    over: Partial<ReleaseManifest> = {},
    script = `#!/bin/sh\n# ${name} ${version}\nexec /usr/bin/python3 -m http.server --bind 127.0.0.1 "$1"\n`,
  ): ReleaseManifest {
    const dir = path.join(this.releasesDir, `${name}@${version}`, "bin");
    fs.mkdirSync(dir, { recursive: true, mode: 0o755 });
    fs.chmodSync(this.releasesDir, 0o755);
    fs.chmodSync(path.dirname(dir), 0o755);
    fs.writeFileSync(path.join(dir, "serve"), script, { mode: 0o755 });
    return {
      kind: RELEASE_KIND,
      name,
      version,
      files: [{ path: "bin/serve", ...digestBytes(script), mode: "0755" }],
      packages: [],
      programs: [
        { name: "serve", command: "{{release.dir}}/bin/serve {{ports.http}}", user: PARTITION_USER },
      ],
      configTemplates: [{ path: "etc/instance.conf", template: "name={{instance.name}}\n" }],
      ports: [{ name: "http", port, protocol: "tcp", tls: false, requireClientCertificate: false }],
      holdsData: false,
      notAfter: "2099-01-01T00:00:00Z",
      ...over,
    } as ReleaseManifest;
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
    const user = partitionName(partition);
    const uid = partitionUid(partition);
    return {
      name,
      release: { name: rel.manifest.name, version: rel.manifest.version, manifestDigest: rel.digest },
      partition: { user, uid },
      programs: rel.manifest.programs.map((p) => ({
        name: p.name,
        command: p.command,
        user,
        uid,
        capabilities: [],
        noNewPrivileges: true,
      })),
      endpoints: rel.manifest.ports.map((p) => ({
        port: p.port,
        protocol: p.protocol,
        tls: p.tls,
        requireClientCertificate: p.requireClientCertificate,
      })),
      holdsData: rel.manifest.holdsData,
      minimumPersistenceSeconds: rel.manifest.holdsData ? 3600 : 0,
      parameters: {},
      ...over,
    };
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
    const doc = buildDesiredState({
      computerId: opts.computerId ?? COMPUTER,
      dataCenter: "dc1",
      version,
      instances,
      validitySeconds: 3600,
    });
    const signed = signDesiredState(doc, opts.signer ?? this.stateSigner);
    const value = opts.transform ? opts.transform(JSON.parse(JSON.stringify(signed))) : signed;
    await this.etcdctl(["put", keys.desired(COMPUTER), JSON.stringify(value)]);
    return version;
  }

  /** etcdctl as root; retried on a deadline (a loaded 2-core machine makes etcd slow at times). */
  async etcdctl(args: string[]): Promise<string> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await rootEtcdctl(readClusterState(this.stateDir))(args);
      } catch (e) {
        if (attempt >= 3 || !/deadline exceeded/.test(String(e))) throw e;
      }
    }
  }

  /** Every alert the agent raised, oldest first. */
  async alerts(): Promise<
    { kind: string; instance?: string; detail: string; evidence?: Record<string, unknown> }[]
  > {
    const out = await this.etcdctl(["get", "--prefix", keys.alerts(COMPUTER), "--print-value-only"]);
    return out
      .split("\n")
      .filter((l) => l.startsWith("{"))
      .map((l) => JSON.parse(l) as { kind: string; detail: string });
  }

  async status(): Promise<
    | {
        desired: { version: number } | null;
        instances: {
          name: string;
          phase: string;
          programs: { name: string; state: string; pid: number }[];
        }[];
      }
    | undefined
  > {
    const out = (await this.etcdctl(["get", keys.status(COMPUTER), "--print-value-only"])).trim();
    return out ? JSON.parse(out) : undefined;
  }

  async close(): Promise<void> {
    await this.stopAgent();
    await this.probe?.stop();
    for (const s of this.supervisords) if (s.exitCode === null) s.kill("SIGTERM");
    await sleep(500);
    if (fs.existsSync(this.stateDir)) await stopControlPlane(this.stateDir, { removeState: true });
    destroyTestNet();
  }
}

export interface ProgramProcess {
  readonly pid: number;
  readonly uid: number;
  readonly ppid: number;
  readonly startTicks: number;
  readonly cmdline: string;
}

/** Processes of partition `index` started by its supervisord (children of the pid in its pid file). */
export function partitionPrograms(lab: AgentLab, index: number): ProgramProcess[] {
  const p = partitionPaths(partitionName(index), lab.partitionsRoot);
  let sup: number;
  try {
    sup = Number(fs.readFileSync(p.pidFile, "utf8").trim());
  } catch {
    return [];
  }
  const out: ProgramProcess[] = [];
  for (const d of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${d}/stat`, "utf8");
      const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      if (Number(f[1]) !== sup) continue;
      const uid = Number(/^Uid:\s+(\d+)/m.exec(fs.readFileSync(`/proc/${d}/status`, "utf8"))?.[1]);
      const cmdline = fs.readFileSync(`/proc/${d}/cmdline`, "utf8").split("\0").join(" ").trim();
      out.push({ pid: Number(d), uid, ppid: sup, startTicks: Number(f[19]), cmdline });
    } catch {
      // gone
    }
  }
  return out;
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export async function waitFor<T>(
  fn: () => T | Promise<T>,
  timeoutMs: number,
  what: string,
  stepMs = 100,
): Promise<Exclude<T, undefined | false | null>> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v as Exclude<T, undefined | false | null>;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline)
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for ${what}${last ? ` (${String(last)})` : ""}`,
      );
    await sleep(stepMs);
  }
}
