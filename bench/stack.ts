/**
 * `npm run bench -- stack`: the data-center stack program at 10, 100 and 1,000 servers, under the
 * SDK's mocks as `pulumi up` evaluates it (config validation, StackReference, every component and
 * custom resource), next to a floor measured in the same run: a program registering as many
 * trivial resources under the same mocks. Prints the program's time and retained heap, their
 * ratios to the floor (target: time <= 1.5x), and the state size per server (target: < 4 KB): the
 * JSON the lab runner (lab/orchestrate/deployment.ts) stores for the registered resources, inputs
 * as the plugin's check returns them, outputs of the size real creates return (real certificates
 * from lib/pki, the BMC password the plugin makes) and secrets encrypted; then the bytes per server
 * by resource type, and by property for the per-server types.
 *
 * Runtime: what Pulumi's nodejs language host runs for this project (Pulumi.yaml: node
 * --import=tsx, and its runner @pulumi/pulumi/cmd/run loads source-map-support/register first), for
 * the program and the floor alike. The SDK captures a stack trace for each promise it makes (four
 * per property of a resource), so how stacks are formatted is part of the program's real cost.
 */
import * as pulumi from "@pulumi/pulumi";
import { createCipheriv, createHash, randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as v8 from "node:v8";
import * as vm from "node:vm";
import { Deployment } from "../lab/orchestrate/deployment";
import { evaluateStack, type EvaluatedResource } from "../lab/stack-eval";
import { createCsr, createRootCa, generateKeyPair, issueFromCsr, parseCertificate } from "../lib/pki";
import type { PluginHost, Props } from "../provider/host";
import { makeProvider, withoutInputs } from "../provider/provider";
import { generateManagedPassword } from "../provider/resources/bmcCredential";
import { secret } from "../provider/values";
import { certificateSha256 } from "../lib/pki/fingerprint";
import { fleetStack } from "./stack-fleet";

// As @pulumi/pulumi/cmd/run/index.js does before it loads a program.
// eslint-disable-next-line @typescript-eslint/no-require-imports
require("source-map-support/register");

/** ZEROROOT_BENCH_SIZES=10,100 for a quicker look; the figures to report are the three sizes. */
const SIZES = (process.env.ZEROROOT_BENCH_SIZES ?? "10,100,1000").split(",").map(Number);
const TARGET_TIME_RATIO = 1.5;
const TARGET_STATE_PER_SERVER = 4096;
const ROOT = createRootCa({ commonName: "zeroroot.example root CA" });
const GLOBAL = {
  "organization/zeroroot/global": {
    domain: "zeroroot.example",
    dataCenters: ["dc1", "dc2", "dc3"],
    rootCertificatePem: ROOT.certificatePem,
  },
};

v8.setFlagsFromString("--expose-gc");
const gc = vm.runInNewContext("gc") as () => void;
const heap = () => {
  gc();
  return process.memoryUsage().heapUsed;
};

// eslint-disable-next-line @typescript-eslint/no-require-imports
const settings = require("@pulumi/pulumi/runtime/settings") as { waitForRPCs: () => Promise<void> };

class Trivial extends pulumi.CustomResource {
  constructor(name: string, n: number) {
    super("bench:index:Trivial", name, { n });
  }
}

/** The floor: `count` trivial custom resources (one small input each) under the same mocks. */
async function floor(count: number): Promise<unknown[]> {
  await pulumi.runtime.setMocks(
    { newResource: (a) => ({ id: `${a.name}-id`, state: a.inputs }), call: (a) => a.inputs },
    "zeroroot",
    "floor",
    false,
  );
  const rs = Array.from({ length: count }, (_, i) => new Trivial(`t${i}`, i));
  await settings.waitForRPCs();
  return rs;
}

/** Outputs of the size a real create returns, from real certificates (one of each, reused). */
export function outputModels(): Record<string, Props> {
  const caKey = generateKeyPair();
  const caCert = issueFromCsr(
    ROOT.ca,
    "issuing",
    createCsr({ commonName: "dc1 site CA" }, caKey.privateKey),
    {
      nameScope: { dnsZones: ["dc1.zeroroot.example"], kinds: ["computer", "service"] },
    },
  );
  const ca = {
    certificatePem: caCert.certificatePem,
    info: parseCertificate(caCert.certificatePem),
    privateKey: caKey.privateKey,
  };
  // The computer certificate's PEM is not in state (provider/resources/bmcServer.ts): its serial is.
  const computer = issueFromCsr(
    ca,
    "computer",
    createCsr({ commonName: "dc1-s0001" }, generateKeyPair().privateKey),
  );
  const now = new Date();
  return {
    "zeroroot:fleet:BmcServer": {
      observedPower: "on",
      observedBootDevice: "disk",
      certificateSubject: "CN=dc1-s0001",
      certificateIssuer: "CN=dc1 site CA",
      certificateSerial: computer.serial,
      agentUser: "zr-agent",
      listeningTcpPorts: [],
    },
    // What a create returns (provider/resources/bmcCredential.ts): the password it made, secret.
    "zeroroot:fleet:BmcCredential": {
      username: "zeroroot-a",
      password: secret(generateManagedPassword(16)),
      userId: 3,
      rotatedAt: now.toISOString(),
    },
    "zeroroot:desired-state:DesiredState": {
      version: 1,
      digest: createHash("sha256").update("state").digest("hex"),
      issuedAt: now.toISOString(),
      expiresAt: new Date(now.getTime() + 15_552_000_000).toISOString(),
      signerSha256: certificateSha256(caCert.certificatePem),
    },
  };
}

/** Pulumi-like secret encryption (AES-256-GCM, nonce and tag), so stored secrets have their real size. */
const KEY = randomBytes(32);
const crypter = {
  encrypt(plain: string): string {
    const iv = randomBytes(12);
    const c = createCipheriv("aes-256-gcm", KEY, iv);
    const body = Buffer.concat([c.update(plain, "utf8"), c.final(), c.getAuthTag()]);
    return `v1:${iv.toString("base64")}:${body.toString("base64")}`;
  },
  decrypt(): string {
    throw new Error("the bench never reads its state back");
  },
};

/** The lab runner's state file after registering what the program declares: bytes in all, and by type. */
export async function stateBytes(
  file: string,
  n: number,
  models: Record<string, Props>,
): Promise<{ total: number; byType: Map<string, number>; byProperty: Map<string, number> }> {
  const statePath = join(mkdtempSync(join(tmpdir(), "zr-bench-state-")), "state.json");
  // The deployment loop against the plugin's own provider object in process: its Configure and
  // Check (which fill defaults the program leaves out, so stored inputs are the real ones), and a
  // Create that returns the outputs a real create returns, stored as the plugin stores them
  // (provider.ts: outputs never repeat inputs). The runner saves after every resource (O(n^2)
  // here): the bench saves once at the end instead, with the runner's own save.
  const plugin = makeProvider("0.0.0-bench", "{}");
  const host = {
    configure: async (config: Props) => {
      plugin.configure(config);
      return { acceptSecrets: true };
    },
    // The example releases chain to the examples' root, not the bench's: theirs pass as given.
    check: (urn: string, olds: Props, news: Props) =>
      urn.includes("::zeroroot:release:SoftwareRelease::")
        ? { inputs: news, failures: [] }
        : plugin.check(urn, olds, news),
    create: async (urn: string, news: Props) => ({
      id: urn.split("::").pop() ?? "",
      outs: withoutInputs({ ...news, ...(models[urn.split("::")[2]?.split("$").pop() ?? ""] ?? {}) }, news),
    }),
  };
  const proto = Deployment.prototype as unknown as { save(this: Deployment): void };
  const save = proto.save;
  proto.save = () => undefined;
  const d = new Deployment({ statePath, crypter, host: host as unknown as PluginHost });
  try {
    await evaluateStack(file, {
      stackOutputs: GLOBAL,
      decrypt: () => "bench-bmc-password",
      onResource: async (r: EvaluatedResource) => {
        if (!Deployment.serves(r.type)) return { id: `${r.name}-id`, state: r.inputs };
        const out = await d.register(r.urn, r.type, r.inputs);
        return { id: out.id, state: out.outs };
      },
    });
  } finally {
    proto.save = save;
  }
  save.call(d);
  const text = readFileSync(statePath, "utf8");
  // ZEROROOT_BENCH_SHOW_STATE=1 names the file, to see what a server's resources store.
  if (process.env.ZEROROOT_BENCH_SHOW_STATE) console.log(`state of ${n} servers: ${statePath}`);
  const byType = new Map<string, number>();
  // `<Type> <inputs|outs>.<key>`: which stored facts make a server's bytes (the next thing to cut).
  const byProperty = new Map<string, number>();
  const add = (m: Map<string, number>, k: string, b: number) => m.set(k, (m.get(k) ?? 0) + b);
  const { resources } = JSON.parse(text) as {
    resources: Record<string, { type: string; inputs?: Props; outs?: Props }>;
  };
  for (const r of Object.values(resources)) {
    add(byType, r.type, JSON.stringify(r, null, 1).length);
    for (const side of ["inputs", "outs"] as const)
      for (const [k, v] of Object.entries(r[side] ?? {}))
        add(byProperty, `${r.type.replace(/^.*:/, "")} ${side}.${k}`, JSON.stringify({ [k]: v }).length - 2);
  }
  return { total: Buffer.byteLength(text), byType, byProperty };
}

interface Sample {
  ms: number;
  /** CPU time of this process (user + system): less sensitive than wall time to a loaded machine. */
  cpuMs: number;
  heapBytes: number;
}

/** Mocks with nothing registered: what the previous run left in the runtime is released before the baseline. */
async function resetMocks(): Promise<void> {
  await pulumi.runtime.setMocks(
    { newResource: () => ({ id: "", state: {} }), call: () => ({}) },
    "zeroroot",
    "reset",
    false,
  );
}

/** Wall time, and heap still held by the run (its resources, the runtime's records) once it is done. */
async function measure(fn: () => Promise<unknown>): Promise<Sample> {
  await resetMocks();
  const before = heap();
  const t = performance.now();
  const cpu = process.cpuUsage();
  const kept = await fn();
  const ms = performance.now() - t;
  const used = process.cpuUsage(cpu);
  const heapBytes = heap() - before;
  void kept;
  return { ms, cpuMs: (used.user + used.system) / 1000, heapBytes };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const kb = (b: number) => `${(b / 1024).toFixed(1)} KB`;
const mb = (b: number) => `${(b / 1024 / 1024).toFixed(1)} MB`;

export async function run(): Promise<void> {
  const models = outputModels();
  const decrypt = () => "bench-bmc-password";
  // Warm-up: module loading and JIT belong to neither side.
  const warm = fleetStack(10);
  await evaluateStack(warm, { stackOutputs: GLOBAL, decrypt });
  await floor(50);
  console.log(
    "servers  resources  program    floor      time x    cpu x   heap program  heap floor  heap x   state/server",
  );
  let failed = 0;
  const breakdown: string[] = [];
  let largest = new Map<string, number>();
  for (const n of SIZES) {
    const file = fleetStack(n);
    const count = (await evaluateStack(file, { stackOutputs: GLOBAL, decrypt })).resources.length;
    const reps = n >= 1000 ? 3 : 5;
    const prog: Sample[] = [];
    const flo: Sample[] = [];
    // Alternate, so a change of machine load during the run hits both sides alike.
    for (let i = 0; i < reps; i++) {
      prog.push(await measure(() => evaluateStack(file, { stackOutputs: GLOBAL, decrypt })));
      flo.push(await measure(() => floor(count)));
    }
    const [pm, fm] = [median(prog.map((s) => s.ms)), median(flo.map((s) => s.ms))];
    const [pc, fc] = [median(prog.map((s) => s.cpuMs)), median(flo.map((s) => s.cpuMs))];
    const [ph, fh] = [median(prog.map((s) => s.heapBytes)), median(flo.map((s) => s.heapBytes))];
    const state = await stateBytes(file, n, models);
    const perServer = state.total / n;
    breakdown.push(
      `${n} servers: ${[...state.byType].map(([t, b]) => `${t.replace(/^.*:/, "")} ${kb(b / n)}`).join(", ")}`,
    );
    if (n === Math.max(...SIZES)) largest = state.byProperty;
    const ratio = pm / fm;
    if (ratio > TARGET_TIME_RATIO || perServer >= TARGET_STATE_PER_SERVER) failed++;
    console.log(
      [
        String(n).padStart(7),
        String(count).padStart(10),
        `${pm.toFixed(0)} ms`.padStart(9),
        `${fm.toFixed(0)} ms`.padStart(9),
        `${ratio.toFixed(2)}`.padStart(8),
        `${(pc / Math.max(fc, 1)).toFixed(2)}`.padStart(7),
        mb(ph).padStart(13),
        mb(fh).padStart(11),
        `${(ph / Math.max(fh, 1)).toFixed(2)}`.padStart(8),
        kb(perServer).padStart(14),
      ].join("  "),
    );
  }
  console.log(
    `state per server, by resource type (inputs and outputs, as stored):\n  ${breakdown.join("\n  ")}`,
  );
  const n = Math.max(...SIZES);
  const top = [...largest].sort(([, a], [, b]) => b - a).slice(0, 12);
  console.log(
    `largest stored properties at ${n} servers, bytes per server (compact JSON, before indentation):\n  ${top.map(([k, b]) => `${k} ${(b / n).toFixed(0)}`).join("\n  ")}`,
  );
  console.log(
    `targets: time <= ${TARGET_TIME_RATIO}x the floor, state < ${kb(TARGET_STATE_PER_SERVER)} per server: ${failed === 0 ? "met" : `missed at ${failed} size(s)`}`,
  );
}
