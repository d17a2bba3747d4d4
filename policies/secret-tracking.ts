/**
 * Secret tracking that cannot silently degrade. @pulumi/policy 1.21.0 unwraps secrets before a
 * policy runs (pulumi/pulumi-policy#241), so the pack wraps its internal `deserializeProperties`
 * (policies/secrets.ts explains why). That relies on three facts about internals no release
 * promises to keep; each is verified before the pack serves anything, and the pack refuses to start
 * when one no longer holds, instead of running with secretness unknown:
 *  1. shape: `@pulumi/policy/deserialize` exports `deserializeProperties(struct, proxySecrets)` and
 *     `@pulumi/policy/server` exports the analyzer's `makeAnalyzeRpcFun`/`makeAnalyzeStackRpcFun`;
 *  2. behaviour: the deserializer turns a struct with secret wrappers into plain values;
 *  3. routing: the analyzer calls it through the module export (so the wrapper is reached): a probe
 *     request with a secret goes through both analyzer functions and a probe policy must see the
 *     secret's path.
 */
import { createRequire } from "node:module";
import { RunError } from "@pulumi/pulumi/errors";
import { isDeepStrictEqual } from "node:util";
import { SECRET_PATHS, SECRET_SIG, SPECIAL_SIG_KEY, secretPathsOf, unwrapSdkSecrets } from "./secrets";

interface StructLike {
  toJavaScript(): Record<string, unknown>;
}
type Deserialize = (struct: StructLike, proxySecrets: boolean) => Record<string, unknown>;
type RpcFun = (call: { request: unknown }, cb: (err: unknown, resp: unknown) => void) => Promise<void>;
type MakeRpcFun = (name: string, version: string, level: string, policies: unknown[]) => RpcFun;

const EXPECTED = "@pulumi/policy 1.21.0, the version the pack's package.json pins";
const refuse = (found: string, what: string): never => {
  throw new RunError(
    `zeroroot's policy pack refuses to start: ${what} (found @pulumi/policy ${found}). Without it the ` +
      `zero-password policy cannot tell a Pulumi secret from plain text. Install ${EXPECTED} ` +
      "(`npm ci` in the pack folder), or update policies/secret-tracking.ts for the new internals.",
  );
};

/** The probe: one plain value, one nested secret, one secret in a list. */
const wrap = (value: unknown) => ({ [SPECIAL_SIG_KEY]: SECRET_SIG, value });
const PROBE = { plain: "p", nested: { pw: wrap("s") }, list: [wrap("x"), "y"] };
const PROBE_PLAIN = { plain: "p", nested: { pw: "s" }, list: ["x", "y"] };
const PROBE_PATHS = ["list[0]", "nested.pw"];

let installing: Promise<void> | undefined;

/**
 * Installs and verifies secret tracking, once per process. Rejects with a RunError (printed by the
 * Pulumi runner without a stack trace) when the internals are not the expected ones.
 */
export function installSecretTracking(): Promise<void> {
  installing ??= install();
  return installing;
}

interface Internals {
  readonly version: string;
  readonly mod: { deserializeProperties?: unknown };
  readonly deserialize: Deserialize;
  readonly makeAnalyze: MakeRpcFun;
  readonly makeAnalyzeStack: MakeRpcFun;
  readonly proto: typeof import("@pulumi/pulumi/proto/analyzer_pb");
  readonly Struct: typeof import("google-protobuf/google/protobuf/struct_pb").Struct;
}

/** Shape: the modules and functions the tracking relies on, loaded as @pulumi/policy loads them. */
function loadInternals(): Internals {
  let version = "unknown";
  const load = <T>(what: string, spec: string): T => {
    try {
      // Resolved from @pulumi/policy itself: the very modules its analyzer uses.
      return createRequire(require.resolve("@pulumi/policy/server"))(spec) as T;
    } catch (e) {
      return refuse(version, `${what} cannot be loaded (${(e as Error).message.split("\n")[0]})`);
    }
  };
  version = String(load<{ version?: unknown }>("@pulumi/policy's package.json", "./package.json").version);
  const mod = load<{ deserializeProperties?: unknown }>("@pulumi/policy/deserialize", "./deserialize");
  const server = load<Record<string, unknown>>("@pulumi/policy/server", "./server");
  const original = mod.deserializeProperties;
  if (typeof original !== "function" || original.length !== 2)
    refuse(
      version,
      "@pulumi/policy/deserialize no longer exports deserializeProperties(struct, proxySecrets)",
    );
  const { makeAnalyzeRpcFun, makeAnalyzeStackRpcFun } = server;
  if (typeof makeAnalyzeRpcFun !== "function" || typeof makeAnalyzeStackRpcFun !== "function")
    refuse(version, "@pulumi/policy/server no longer exports makeAnalyzeRpcFun and makeAnalyzeStackRpcFun");
  return {
    version,
    mod,
    deserialize: original as Deserialize,
    makeAnalyze: makeAnalyzeRpcFun as MakeRpcFun,
    makeAnalyzeStack: makeAnalyzeStackRpcFun as MakeRpcFun,
    proto: load("@pulumi/pulumi's analyzer protocol", "@pulumi/pulumi/proto/analyzer_pb"),
    Struct: load<typeof import("google-protobuf/google/protobuf/struct_pb")>(
      "google-protobuf's Struct",
      "google-protobuf/google/protobuf/struct_pb",
    ).Struct,
  };
}

async function install(): Promise<void> {
  const ins = loadInternals();
  const probeStruct = () => ins.Struct.fromJavaScript(PROBE as never);
  // Behaviour: secrets come out as plain values (what the tracking compensates for).
  let plain: unknown;
  try {
    plain = ins.deserialize(probeStruct(), false);
  } catch (e) {
    refuse(ins.version, `deserializeProperties failed on a probe (${(e as Error).message})`);
  }
  if (!isDeepStrictEqual(plain, PROBE_PLAIN))
    refuse(ins.version, "deserializeProperties no longer turns secret values into plain values");

  ins.mod.deserializeProperties = (struct: StructLike, proxySecrets: boolean) => {
    const props = ins.deserialize(struct, proxySecrets);
    if (!proxySecrets) {
      const { secretPaths } = unwrapSdkSecrets(struct.toJavaScript());
      Object.defineProperty(props, SECRET_PATHS, { value: secretPaths, enumerable: false });
    }
    return props;
  };

  // Routing: a probe through the analyzer's own functions must reach the wrapper.
  let seen: string[][];
  try {
    seen = await probeAnalyzer(ins, probeStruct);
  } catch (e) {
    ins.mod.deserializeProperties = ins.deserialize;
    return refuse(ins.version, `the analyzer failed on a probe request (${(e as Error).message})`);
  }
  if (seen.length !== 2 || !seen.every((paths) => isDeepStrictEqual(paths, PROBE_PATHS))) {
    ins.mod.deserializeProperties = ins.deserialize;
    refuse(
      ins.version,
      "the analyzer does not reach the wrapped deserializeProperties, so secret paths are not recorded",
    );
  }
}

/** Sends the probe through `analyze` and `analyzeStack`; returns the secret paths each policy saw. */
async function probeAnalyzer(ins: Internals, probeStruct: () => unknown): Promise<string[][]> {
  const { AnalyzeRequest, AnalyzeStackRequest, AnalyzerResource, AnalyzerResourceOptions } = ins.proto;
  const seen: string[][] = [];
  const record = (props: unknown) => {
    const raw = (props as Record<string, unknown>)["__getSpecialProxyTarget"] ?? props;
    const paths = secretPathsOf(raw);
    seen.push(paths instanceof Set ? [...paths].sort() : []);
  };
  const probe = { name: "secret-tracking-probe", description: "probe", enforcementLevel: "advisory" };
  const resourcePolicy = { ...probe, validateResource: (a: { props: unknown }) => record(a.props) };
  const stackPolicy = {
    ...probe,
    validateStack: (a: { resources: { props: unknown }[] }) => a.resources.forEach((r) => record(r.props)),
  };
  const fill = <T extends InstanceType<typeof AnalyzeRequest> | InstanceType<typeof AnalyzerResource>>(
    r: T,
  ) => {
    r.setType("zeroroot:probe:Probe");
    r.setName("probe");
    r.setUrn("urn:pulumi:probe::probe::zeroroot:probe:Probe::probe");
    r.setProperties(probeStruct() as never);
    r.setOptions(new AnalyzerResourceOptions());
    return r;
  };
  const stackRequest = new AnalyzeStackRequest();
  stackRequest.setResourcesList([fill(new AnalyzerResource())]);
  await call(ins.makeAnalyze("probe", "0.0.0", "advisory", [resourcePolicy]), fill(new AnalyzeRequest()));
  await call(ins.makeAnalyzeStack("probe", "0.0.0", "advisory", [stackPolicy]), stackRequest);
  return seen;
}

function call(fn: RpcFun, request: unknown): Promise<void> {
  return new Promise((resolve, reject) => {
    fn({ request }, (err) =>
      err ? reject(err instanceof Error ? err : new Error(String(err))) : resolve(),
    ).catch(reject);
  });
}
