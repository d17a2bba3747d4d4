/**
 * Pulumi's documented unit-test mocks (`pulumi.runtime.setMocks`), kept total so a test never
 * hangs: every call returns, unknown resources echo their inputs. Records every registered resource
 * so tests can assert on the graph.
 */
import * as pulumi from "@pulumi/pulumi";

export interface RecordedResource {
  readonly type: string;
  readonly name: string;
  readonly inputs: Record<string, unknown>;
  readonly custom: boolean;
  readonly urn: string;
  readonly parent?: string;
  readonly provider?: string;
}

export interface MockOptions {
  project?: string;
  stack: string;
  preview?: boolean;
  /** The whole config map, keys like "zeroroot:dataCenter"; objects are JSON-encoded for the SDK. */
  config?: Record<string, unknown>;
  secretKeys?: string[];
  /** Outputs served for StackReference resources, by referenced stack name. */
  stackOutputs?: Record<string, Record<string, unknown>>;
}

export interface MockSession {
  readonly resources: RecordedResource[];
  byType(type: string): RecordedResource[];
}

const SECRET_SIG = "4dabf18193072939515e22adb298388d";

/** Removes the SDK's secret wrappers from a value seen by mocks. */
export function unwrapSecrets(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(unwrapSecrets);
  if (value && typeof value === "object") {
    const obj = value as Record<string, unknown>;
    if (obj[SECRET_SIG] === "1b47061264138c4ac30d75fd1eb44270") return unwrapSecrets(obj.value);
    return Object.fromEntries(Object.entries(obj).map(([k, v]) => [k, unwrapSecrets(v)]));
  }
  return value;
}

/** True when a mocked input value (or something inside it) arrived wrapped as a Pulumi secret. */
export function isWrappedSecret(value: unknown): boolean {
  return !!value && typeof value === "object" && (value as Record<string, unknown>)[SECRET_SIG] !== undefined;
}

export function installMocks(opts: MockOptions): MockSession {
  const resources: RecordedResource[] = [];
  const config: Record<string, string> = {};
  for (const [k, v] of Object.entries(opts.config ?? {}))
    config[k] = typeof v === "string" ? v : JSON.stringify(v);
  pulumi.runtime.setAllConfig(config, opts.secretKeys ?? []);
  void pulumi.runtime.setMocks(
    {
      newResource(args: pulumi.runtime.MockResourceArgs) {
        const urn = `urn:pulumi:${opts.stack}::${opts.project ?? "zeroroot"}::${args.type}::${args.name}`;
        resources.push({
          type: args.type,
          name: args.name,
          inputs: args.inputs as Record<string, unknown>,
          custom: args.custom ?? true,
          urn,
          parent: (args as { parent?: string }).parent,
          provider: args.provider,
        });
        if (args.type === "pulumi:pulumi:StackReference") {
          const ref = String((args.inputs as { name?: string }).name ?? args.name);
          const outputs = opts.stackOutputs?.[ref] ?? {};
          return { id: ref, state: { name: ref, outputs, secretOutputNames: [] } };
        }
        return { id: `${args.name}-id`, state: args.inputs };
      },
      call(args: pulumi.runtime.MockCallArgs) {
        return args.inputs;
      },
    },
    opts.project ?? "zeroroot",
    opts.stack,
    opts.preview ?? false,
  );
  return { resources, byType: (t) => resources.filter((r) => r.type === t) };
}

/** Resolves an Output in a test (instead of `done` callbacks). */
export function promiseOf<T>(output: pulumi.Output<T>): Promise<T> {
  return new Promise((resolve) => output.apply((v) => resolve(v)));
}

/** Lets every pending registration reach the mocks. */
export async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
}
