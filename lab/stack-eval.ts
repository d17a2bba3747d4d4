/**
 * Evaluates a zeroroot stack program without the Pulumi CLI, through the SDK's documented mock
 * hooks (`pulumi.runtime.setMocks`). A test harness, not a deployment engine: `zeroroot policy
 * check`, the unit tests and the lab runner use it to see the resources a stack registers; the lab
 * runner passes `onResource` to perform each resource's real effect through the provider plugin, as
 * `pulumi up` would.
 */
import * as pulumi from "@pulumi/pulumi";
import { dirname } from "node:path";
import { readStackFile } from "../lib/fleet";
import { configFromEngine } from "../stacks/config";
import { defineStack, type StackOptions } from "../stacks/program";

export interface EvaluatedResource {
  readonly type: string;
  readonly name: string;
  /** Inputs as the engine would receive them; secrets stay wrapped (see `isSecretValue`). */
  readonly inputs: Record<string, unknown>;
  readonly custom: boolean;
  readonly urn: string;
  readonly provider?: string;
  /** Resource options the engine sees that policies judge (custom resources). */
  readonly options?: { readonly protect: boolean; readonly retainOnDelete: boolean };
  /** Types of the resource's aliases: tokens it had before (custom resources). */
  readonly aliasTypes?: readonly string[];
}

interface RegisteredOptions {
  readonly protect: boolean;
  readonly retainOnDelete: boolean;
  readonly aliasTypes: readonly string[];
}

export interface EvaluateOptions {
  /** Outputs of referenced stacks, by StackReference name (e.g. the global stack's outputs). */
  readonly stackOutputs?: Record<string, Record<string, unknown>>;
  /** Decrypts `secure:` values; without it the ciphertext stands in (enough to judge the graph). */
  readonly decrypt?: (ciphertext: string) => string;
  /** Marks the run as a preview (unknown values stay unknown). @default false */
  readonly preview?: boolean;
  /** Performs a custom resource's effect and returns its state; default: echo the inputs. */
  readonly onResource?: (r: EvaluatedResource) => Promise<{ id: string; state: Record<string, unknown> }>;
  /** Passed to the stack program (e.g. `plainSecrets` for `zeroroot policy check`). @default - none */
  readonly stackOptions?: StackOptions;
}

export interface Evaluation {
  readonly stack: string;
  readonly resources: EvaluatedResource[];
  readonly outputs: Record<string, unknown>;
  /** Warnings and errors the program logged (`pulumi.log.*`). */
  readonly logs: { readonly level: "warn" | "error"; readonly message: string }[];
}

const SECRET_SIG = "4dabf18193072939515e22adb298388d";
const SECRET_VALUE = "1b47061264138c4ac30d75fd1eb44270";

export function isSecretValue(v: unknown): v is { value: unknown } {
  return !!v && typeof v === "object" && (v as Record<string, unknown>)[SECRET_SIG] === SECRET_VALUE;
}

/** Replaces secret wrappers by their value (for code that needs plain inputs, e.g. a provider). */
export function revealSecrets(value: unknown): unknown {
  if (isSecretValue(value)) return revealSecrets(value.value);
  if (Array.isArray(value)) return value.map(revealSecrets);
  if (value && typeof value === "object")
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, revealSecrets(v)]));
  return value;
}

export async function evaluateStack(file: string, opts: EvaluateOptions = {}): Promise<Evaluation> {
  const stackFile = readStackFile(file, { decrypt: opts.decrypt });
  const config: Record<string, string> = {};
  const secretKeys: string[] = [];
  for (const [key, value] of Object.entries(stackFile.values)) {
    config[key] = typeof value === "string" ? value : JSON.stringify(value);
    if (containsSecret(stackFile, key, value)) secretKeys.push(key);
  }
  const resources: EvaluatedResource[] = [];
  const project = "zeroroot";
  // The mock hook does not receive resource options; the registration request carries them.
  const optionsOf = new Map<string, RegisteredOptions>();
  pulumi.runtime.setAllConfig(config, secretKeys);
  await pulumi.runtime.setMocks(
    {
      async newResource(args) {
        const urn = `urn:pulumi:${stackFile.stack}::${project}::${args.type}::${args.name}`;
        const r: EvaluatedResource = {
          type: args.type,
          name: args.name,
          inputs: args.inputs,
          custom: args.custom ?? true,
          urn,
          provider: args.provider,
          ...registered(optionsOf.get(`${args.type}::${args.name}`)),
        };
        resources.push(r);
        if (args.type === "pulumi:pulumi:StackReference") {
          const ref = String(args.inputs.name ?? args.name);
          return {
            id: ref,
            state: { name: ref, outputs: opts.stackOutputs?.[ref] ?? {}, secretOutputNames: [] },
          };
        }
        if (opts.onResource && r.custom) return opts.onResource(r);
        return { id: `${args.name}-id`, state: args.inputs };
      },
      call: (args) => args.inputs,
    },
    project,
    stackFile.stack,
    opts.preview ?? false,
  );
  recordOptions(optionsOf);

  // Under mocks, a failing Output (a missing required stack output, a failed provider call)
  // surfaces only as an unhandled rejection while the RPC queue never drains: fail fast.
  let failed: (err: unknown) => void = () => undefined;
  const failure = new Promise<never>((_, reject) => (failed = reject));
  const onUnhandled = (err: unknown) => failed(err);
  process.on("unhandledRejection", onUnhandled);
  const logs: Evaluation["logs"] = [];
  const original = { warn: console.warn, error: console.error };
  console.warn = (...a: unknown[]) =>
    logs.push({
      level: "warn",
      message: a
        .map(String)
        .join(" ")
        .replace(/^warning: \[runtime\] /, ""),
    });
  console.error = (...a: unknown[]) =>
    logs.push({
      level: "error",
      message: a
        .map(String)
        .join(" ")
        .replace(/^error: \[runtime\] /, ""),
    });
  try {
    const exported = defineStack(configFromEngine(stackFile.stack, dirname(file)), opts.stackOptions);
    const outputs = await Promise.race([resolveAll(exported), failure]);
    // Wait for every registration still in flight (each may be a provider call in the lab runner).
    await Promise.race([waitForRpcs(), failure]);
    return { stack: stackFile.stack, resources, outputs, logs };
  } finally {
    process.off("unhandledRejection", onUnhandled);
    console.warn = original.warn;
    console.error = original.error;
  }
}

interface RegisterRequest {
  getType(): string;
  getName(): string;
  getCustom(): boolean;
  getProtect(): boolean;
  getRetainondelete(): boolean;
  getAliasesList(): { getSpec(): { getType(): string } | undefined }[];
}

/** Wraps the mock monitor's registerResource to note each custom resource's options. */
function recordOptions(into: Map<string, RegisteredOptions>): void {
  const monitor = pulumi.runtime.getMonitor() as unknown as {
    registerResource(req: RegisterRequest, cb: unknown): unknown;
  };
  const original = monitor.registerResource.bind(monitor);
  monitor.registerResource = (req, cb) => {
    if (req.getCustom())
      into.set(`${req.getType()}::${req.getName()}`, {
        protect: req.getProtect(),
        retainOnDelete: req.getRetainondelete(),
        aliasTypes: req.getAliasesList().flatMap((a) => a.getSpec()?.getType() || []),
      });
    return original(req, cb);
  };
}

const registered = (o: RegisteredOptions | undefined) =>
  o ? { options: { protect: o.protect, retainOnDelete: o.retainOnDelete }, aliasTypes: o.aliasTypes } : {};

/** The SDK's own "RPC queue drained" wait (exported at runtime, marked internal in its typings). */
async function waitForRpcs(): Promise<void> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const settings = require("@pulumi/pulumi/runtime/settings") as { waitForRPCs?: () => Promise<void> };
  if (settings.waitForRPCs) await settings.waitForRPCs();
}

function containsSecret(
  file: { isSecret(p: readonly (string | number)[]): boolean },
  key: string,
  value: unknown,
  path: (string | number)[] = [key],
): boolean {
  if (file.isSecret(path)) return true;
  if (Array.isArray(value)) return value.some((v, i) => containsSecret(file, key, v, [...path, i]));
  if (value && typeof value === "object")
    return Object.entries(value).some(([k, v]) => containsSecret(file, key, v, [...path, k]));
  return false;
}

async function resolveAll(exported: Record<string, unknown>): Promise<Record<string, unknown>> {
  const out = pulumi.output(exported as Record<string, pulumi.Input<unknown>>);
  return new Promise((resolve) => out.apply((v) => resolve(v as Record<string, unknown>)));
}
