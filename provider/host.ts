/**
 * Drives the plugin the way the Pulumi engine does: start `pulumi-resource-zeroroot`, read its
 * port from stdout, then speak the ResourceProvider gRPC protocol with the SDK's own generated
 * client (`@pulumi/pulumi/proto`). The lab runner deploys through this, and the tests use it, so
 * what they exercise is what `pulumi up`, `refresh` and `destroy` exercise: the same process
 * boundary, the same wire values (secrets, unknowns), state that holds values only.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { appendFileSync } from "node:fs";
import { dirname, join } from "node:path";
import type * as grpcTypes from "@grpc/grpc-js";
import * as pb from "@pulumi/pulumi/proto/provider_pb";
import * as rpc from "@pulumi/pulumi/proto/provider_grpc_pb";
import * as plugin from "@pulumi/pulumi/proto/plugin_pb";
import type * as emptyTypes from "google-protobuf/google/protobuf/empty_pb";
import type * as structTypes from "google-protobuf/google/protobuf/struct_pb";

// The SDK's own copies of grpc-js and google-protobuf, so the generated client's types match.
const sdkDir = dirname(require.resolve("@pulumi/pulumi/package.json"));
// eslint-disable-next-line @typescript-eslint/no-require-imports
const fromSdk = <T>(id: string): T => require(require.resolve(id, { paths: [sdkDir] })) as T;
const grpc = fromSdk<typeof grpcTypes>("@grpc/grpc-js");
const { Struct } = fromSdk<typeof structTypes>("google-protobuf/google/protobuf/struct_pb");
const { Empty } = fromSdk<typeof emptyTypes>("google-protobuf/google/protobuf/empty_pb");
type Empty = emptyTypes.Empty;
type Struct = structTypes.Struct;

export const LAUNCHER = join(__dirname, "pulumi-resource-zeroroot");

export type Props = Record<string, unknown>;

export interface PluginOptions {
  /** The plugin's environment (operator identity, PATH to ipmitool). @default process.env */
  readonly env?: NodeJS.ProcessEnv;
  /** @default - this checkout's launcher */
  readonly launcher?: string;
  /** Deadline of one call; a server's install takes minutes. @default 1800000 */
  readonly callTimeoutMs?: number;
  /** Called with each line the plugin writes to stderr (its logs). @default - kept for errors */
  readonly log?: (line: string) => void;
  /**
   * A file (appended, mode 0600) that keeps the plugin's stderr, its start and its exit (code or
   * signal), written as they happen: what explains a call that fails because the plugin went away.
   * @default - none (the last 200 lines are kept in memory for errors)
   */
  readonly stderrFile?: string;
}

export interface DiffResult {
  readonly changes: boolean;
  readonly replaces: string[];
  /** Input keys that changed (the engine's detailed display). */
  readonly diffs: string[];
  readonly deleteBeforeReplace: boolean;
}

export const urnOf = (stack: string, project: string, type: string, name: string): string =>
  `urn:pulumi:${stack}::${project}::${type}::${name}`;

const struct = (v: Props) =>
  Struct.fromJavaScript(JSON.parse(JSON.stringify(v)) as Parameters<typeof Struct.fromJavaScript>[0]);
const js = (s: Struct | undefined): Props => (s ? (s.toJavaScript() as Props) : {});

/** Appends timestamped lines to `file` (synchronously: the lines that explain a crash must be there). */
function keeper(file: string | undefined): (line: string) => void {
  if (!file) return () => undefined;
  return (line) => {
    try {
      appendFileSync(file, `${new Date().toISOString()} ${line}\n`, { mode: 0o600 });
    } catch {
      // A log that cannot be written must not fail the deployment; the lines still reach `log`.
    }
  };
}

export class PluginHost {
  private constructor(
    private readonly child: ChildProcess,
    private readonly client: rpc.ResourceProviderClient,
    private readonly timeoutMs: number,
    private readonly stderr: string[],
    private readonly stderrFile?: string,
  ) {}

  /** Starts the plugin and waits for the port it prints (bounded: 60 s). */
  static async start(opts: PluginOptions = {}): Promise<PluginHost> {
    const child = spawn(opts.launcher ?? LAUNCHER, [], {
      env: opts.env ?? process.env,
      stdio: ["ignore", "pipe", "pipe"],
    });
    // A plugin must not outlive the process driving it (the engine kills its plugins too).
    const keep = keeper(opts.stderrFile);
    const reap = () => {
      keep(`plugin ${String(child.pid)} killed: the process driving it (${process.pid}) is exiting`);
      child.kill("SIGKILL");
    };
    process.once("exit", reap);
    child.once("exit", () => process.off("exit", reap));
    const stderr: string[] = [];
    keep(`plugin ${String(child.pid)} started: ${opts.launcher ?? LAUNCHER}`);
    child.stderr.setEncoding("utf8").on("data", (d: string) => {
      for (const line of d.split("\n").filter(Boolean)) {
        stderr.push(line);
        if (stderr.length > 200) stderr.shift();
        keep(line);
        opts.log?.(line);
      }
    });
    child.once("exit", (code, signal) =>
      keep(`plugin ${String(child.pid)} exited: ${signal ? `signal ${signal}` : `code ${String(code)}`}`),
    );
    const port = await new Promise<number>((resolve, reject) => {
      let out = "";
      const timer = setTimeout(() => fail(new Error("the plugin printed no port within 60 s")), 60_000);
      const fail = (e: Error) => {
        clearTimeout(timer);
        child.kill("SIGKILL");
        reject(new Error(`${e.message}; its stderr: ${stderr.slice(-5).join(" | ")}`));
      };
      child.stdout.setEncoding("utf8").on("data", (d: string) => {
        out += d;
        const m = /^(\d+)\s*\n/.exec(out);
        if (m) {
          clearTimeout(timer);
          resolve(Number(m[1]));
        }
      });
      child.on("error", fail);
      child.on("exit", (code) =>
        fail(new Error(`the plugin exited with ${String(code)} before printing its port`)),
      );
    });
    const client = new rpc.ResourceProviderClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
    return new PluginHost(child, client, opts.callTimeoutMs ?? 1_800_000, stderr, opts.stderrFile);
  }

  private call<Req, Res>(name: string, what: string, req: Req): Promise<Res> {
    const method = (this.client as unknown as Record<string, (...a: unknown[]) => unknown>)[name].bind(
      this.client,
    ) as (
      r: Req,
      m: grpcTypes.Metadata,
      o: Partial<grpcTypes.CallOptions>,
      cb: (e: grpcTypes.ServiceError | null, res: Res) => void,
    ) => void;
    return new Promise((resolve, reject) =>
      method(req, new grpc.Metadata(), { deadline: Date.now() + this.timeoutMs }, (err, res) =>
        err
          ? reject(new Error(`${name} ${what}: ${err.details || err.message}${this.lost(err)}`))
          : resolve(res),
      ),
    );
  }

  async getPluginInfo(): Promise<string> {
    const r = await this.call<Empty, plugin.PluginInfo>("getPluginInfo", "", new Empty());
    return r.getVersion();
  }

  async getSchema(): Promise<Props> {
    const r = await this.call<pb.GetSchemaRequest, pb.GetSchemaResponse>(
      "getSchema",
      "",
      new pb.GetSchemaRequest(),
    );
    return JSON.parse(r.getSchema()) as Props;
  }

  /** Configure, as the engine sends an explicit provider's inputs (`args`). */
  async configure(config: Props = {}): Promise<{ acceptSecrets: boolean }> {
    const req = new pb.ConfigureRequest()
      .setAcceptsecrets(true)
      .setAcceptresources(true)
      .setSendsOldInputs(true)
      .setSendsOldInputsToDelete(true)
      .setArgs(struct(config));
    const r = await this.call<pb.ConfigureRequest, pb.ConfigureResponse>("configure", "", req);
    return { acceptSecrets: r.getAcceptsecrets() };
  }

  async check(urn: string, olds: Props, news: Props) {
    const req = new pb.CheckRequest().setUrn(urn).setOlds(struct(olds)).setNews(struct(news));
    const r = await this.call<pb.CheckRequest, pb.CheckResponse>("check", urn, req);
    return {
      inputs: js(r.getInputs()),
      failures: r.getFailuresList().map((f) => ({ property: f.getProperty(), reason: f.getReason() })),
    };
  }

  /** `olds` are the stored outputs, `oldInputs` the stored inputs (the engine sends both). */
  async diff(id: string, urn: string, olds: Props, news: Props, oldInputs: Props = {}): Promise<DiffResult> {
    const req = new pb.DiffRequest()
      .setId(id)
      .setUrn(urn)
      .setOlds(struct(olds))
      .setNews(struct(news))
      .setOldInputs(struct(oldInputs));
    const r = await this.call<pb.DiffRequest, pb.DiffResponse>("diff", urn, req);
    return {
      changes: r.getChanges() === pb.DiffResponse.DiffChanges.DIFF_SOME,
      replaces: r.getReplacesList(),
      diffs: r.getDiffsList(),
      deleteBeforeReplace: r.getDeletebeforereplace(),
    };
  }

  async create(urn: string, inputs: Props): Promise<{ id: string; outs: Props }> {
    const req = new pb.CreateRequest().setUrn(urn).setProperties(struct(inputs));
    const r = await this.call<pb.CreateRequest, pb.CreateResponse>("create", urn, req);
    return { id: r.getId(), outs: js(r.getProperties()) };
  }

  /** A refresh sends the stored outputs and inputs; an import only the id. */
  async read(
    id: string,
    urn: string,
    props: Props,
    inputs: Props = {},
  ): Promise<{ id: string; props: Props; inputs: Props }> {
    const req = new pb.ReadRequest()
      .setId(id)
      .setUrn(urn)
      .setProperties(struct(props))
      .setInputs(struct(inputs));
    const r = await this.call<pb.ReadRequest, pb.ReadResponse>("read", urn, req);
    return { id: r.getId(), props: js(r.getProperties()), inputs: js(r.getInputs()) };
  }

  async update(id: string, urn: string, olds: Props, news: Props, oldInputs: Props = {}): Promise<Props> {
    const req = new pb.UpdateRequest()
      .setId(id)
      .setUrn(urn)
      .setOlds(struct(olds))
      .setNews(struct(news))
      .setOldInputs(struct(oldInputs));
    const r = await this.call<pb.UpdateRequest, pb.UpdateResponse>("update", urn, req);
    return js(r.getProperties());
  }

  async delete(id: string, urn: string, props: Props, oldInputs: Props = {}): Promise<void> {
    const req = new pb.DeleteRequest()
      .setId(id)
      .setUrn(urn)
      .setProperties(struct(props))
      .setOldInputs(struct(oldInputs));
    await this.call<pb.DeleteRequest, unknown>("delete", urn, req);
  }

  /** The plugin's last stderr lines (for a failure message). */
  logs(): readonly string[] {
    return [...this.stderr];
  }

  /**
   * For a call that failed at the transport (the connection reset or refused, not an error the
   * plugin answered with): whether the plugin is still running, its last stderr lines and where
   * the rest is kept.
   */
  private lost(err: grpcTypes.ServiceError): string {
    // The plugin answers its own errors as UNKNOWN (server.ts); these are the connection's.
    if (err.code !== grpc.status.UNAVAILABLE && err.code !== grpc.status.INTERNAL) return "";
    const c = this.child;
    const state =
      c.exitCode !== null || c.signalCode !== null
        ? `the plugin exited (${c.signalCode ? `signal ${c.signalCode}` : `code ${String(c.exitCode)}`})`
        : "the plugin is still running";
    const last = this.stderr.slice(-5).join(" | ");
    return ` [${state}${last ? `; its last stderr: ${last}` : ""}${this.stderrFile ? `; all of it in ${this.stderrFile}` : ""}]`;
  }

  async close(): Promise<void> {
    this.client.close();
    if (this.child.exitCode !== null) return;
    const exited = new Promise((r) => this.child.once("exit", r));
    this.child.kill("SIGTERM");
    await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
    if (this.child.exitCode === null) this.child.kill("SIGKILL");
  }
}
