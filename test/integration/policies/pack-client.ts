/**
 * The policy pack process started the way the Pulumi CLI starts it (`run-policy-pack <engine> .`
 * from the pack folder), and a gRPC client that speaks to it as the engine does: GetAnalyzerInfo,
 * Configure (the `--policy-pack-config` file), Analyze (each resource), AnalyzeStack.
 * Optionally every module the process resolves is checked to lie inside one folder.
 */
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as grpc from "@grpc/grpc-js";
import * as analyzerrpc from "@pulumi/pulumi/proto/analyzer_grpc_pb";
import * as analyzerproto from "@pulumi/pulumi/proto/analyzer_pb";
import { Empty } from "google-protobuf/google/protobuf/empty_pb";
import { Struct } from "google-protobuf/google/protobuf/struct_pb";
import type { CapturedResource, PackConfig } from "../../../policies/policies";
import { REPO } from "./pack-install";

// Loaded with --require before anything else: reports each module resolved outside the folder.
const GUARD = `
const Module = require("node:module");
const path = require("node:path");
const inside = process.env.ZEROROOT_PACK_ONLY + path.sep;
const resolve = Module._resolveFilename;
Module._resolveFilename = function (request, parent, ...rest) {
  const f = resolve.call(this, request, parent, ...rest);
  if (path.isAbsolute(f) && !f.startsWith(inside))
    process.stderr.write("OUTSIDE " + f + " (require " + JSON.stringify(request) + ")\\n");
  return f;
};
`;

export interface PackRun {
  readonly port?: string;
  readonly code?: number | null;
  readonly stdout: string;
  readonly stderr: () => string;
  readonly stop: () => void;
}

/**
 * Starts the pack in `dir`; resolves once it printed its port (started) or exited (refused).
 * `confineTo`: report every module resolved outside this folder (as `OUTSIDE <file>` on stderr).
 */
export function startPack(dir: string, confineTo?: string, timeoutMs = 90_000): Promise<PackRun> {
  const own = join(dir, "node_modules/@pulumi/pulumi/cmd/run-policy-pack");
  const runner = existsSync(own) ? own : join(REPO, "node_modules/@pulumi/pulumi/cmd/run-policy-pack");
  const args: string[] = [];
  const guardDir = confineTo ? mkdtempSync(join(tmpdir(), "zeroroot-guard-")) : undefined;
  if (guardDir) {
    writeFileSync(join(guardDir, "guard.js"), GUARD);
    args.push("--require", join(guardDir, "guard.js"));
  }
  const child = spawn(process.execPath, [...args, runner, "127.0.0.1:1", "."], {
    cwd: dir,
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, ZEROROOT_PACK_ONLY: confineTo ?? "" },
  });
  let stdout = "";
  let stderr = "";
  child.stderr.on("data", (d) => (stderr += String(d)));
  child.on("exit", () => guardDir && rmSync(guardDir, { recursive: true, force: true }));
  const stop = () => {
    if (child.exitCode === null) child.kill();
    // The child loaded the guard at start; the file is not needed after.
    if (guardDir) rmSync(guardDir, { recursive: true, force: true });
  };
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      stop();
      reject(new Error(`the pack neither started nor exited in ${timeoutMs} ms: ${stderr}`));
    }, timeoutMs);
    child.stdout.on("data", (d) => {
      stdout += String(d);
      const port = /^(\d+)\s*$/m.exec(stdout)?.[1];
      if (port) {
        clearTimeout(timer);
        resolve({ port, stdout, stderr: () => stderr, stop });
      }
    });
    child.on("exit", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr: () => stderr, stop });
    });
  });
}

type Cb<T> = (e: Error | null, r: T) => void;
interface RawClient {
  getAnalyzerInfo(req: Empty, cb: Cb<analyzerproto.AnalyzerInfo>): void;
  configure(req: analyzerproto.ConfigureAnalyzerRequest, cb: Cb<unknown>): void;
  analyze(req: analyzerproto.AnalyzeRequest, cb: Cb<analyzerproto.AnalyzeResponse>): void;
  analyzeStack(req: analyzerproto.AnalyzeStackRequest, cb: Cb<analyzerproto.AnalyzeResponse>): void;
  close(): void;
}

export interface Diagnostic {
  readonly policy: string;
  readonly urn: string;
  readonly mandatory: boolean;
  readonly message: string;
}

const LEVEL = {
  advisory: analyzerproto.EnforcementLevel.ADVISORY,
  mandatory: analyzerproto.EnforcementLevel.MANDATORY,
  disabled: analyzerproto.EnforcementLevel.DISABLED,
  remediate: analyzerproto.EnforcementLevel.REMEDIATE,
} as const;

/** The engine's side of the analyzer protocol. */
export class PackClient {
  private readonly raw: RawClient;
  constructor(port: string) {
    const Ctor = (
      analyzerrpc as unknown as { AnalyzerClient: new (a: string, c: grpc.ChannelCredentials) => RawClient }
    ).AnalyzerClient;
    this.raw = new Ctor(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  }
  close(): void {
    this.raw.close();
  }
  private call<Q, R>(fn: (q: Q, cb: Cb<R>) => void, req: Q): Promise<R> {
    return new Promise((resolve, reject) => fn.call(this.raw, req, (e, r) => (e ? reject(e) : resolve(r))));
  }
  info(): Promise<analyzerproto.AnalyzerInfo> {
    return this.call(this.raw.getAnalyzerInfo, new Empty());
  }
  /** Sends a normalised pack config (policies/config.ts) as the CLI sends the config file. */
  async configure(config: PackConfig): Promise<void> {
    const req = new analyzerproto.ConfigureAnalyzerRequest();
    for (const [name, { enforcementLevel, ...props }] of Object.entries(config)) {
      const pc = new analyzerproto.PolicyConfig();
      pc.setEnforcementlevel(LEVEL[(enforcementLevel as keyof typeof LEVEL) ?? "mandatory"]);
      pc.setProperties(Struct.fromJavaScript(props as never));
      req.getPolicyconfigMap().set(name, pc);
    }
    await this.call(this.raw.configure, req);
  }
  /** Analyze for each resource, then AnalyzeStack over all: what a preview asks. */
  async preview(resources: readonly CapturedResource[]): Promise<Diagnostic[]> {
    const out: Diagnostic[] = [];
    for (const r of resources)
      out.push(
        ...diagnostics(await this.call(this.raw.analyze, fill(new analyzerproto.AnalyzeRequest(), r))),
      );
    const stack = new analyzerproto.AnalyzeStackRequest();
    stack.setResourcesList(resources.map((r) => fill(new analyzerproto.AnalyzerResource(), r)));
    out.push(...diagnostics(await this.call(this.raw.analyzeStack, stack)));
    return out;
  }
}

function fill<T extends analyzerproto.AnalyzeRequest | analyzerproto.AnalyzerResource>(
  m: T,
  r: CapturedResource,
): T {
  m.setType(r.type);
  m.setName(r.name);
  m.setUrn(r.urn);
  // JSON drops undefined values, as the engine's marshalling does; secret wrappers stay.
  m.setProperties(Struct.fromJavaScript(JSON.parse(JSON.stringify(r.props)) as never));
  const opts = new analyzerproto.AnalyzerResourceOptions();
  // The protocol carries protect, never retainOnDelete.
  opts.setProtect(r.opts?.protect === true);
  m.setOptions(opts);
  return m;
}

const diagnostics = (resp: analyzerproto.AnalyzeResponse): Diagnostic[] =>
  resp.getDiagnosticsList().map((d) => ({
    policy: d.getPolicyname(),
    urn: d.getUrn(),
    mandatory: d.getEnforcementlevel() === analyzerproto.EnforcementLevel.MANDATORY,
    message: d.getMessage(),
  }));
