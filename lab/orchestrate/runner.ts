/**
 * The lab's deployment runner: evaluates a real stack program through the SDK's mock hooks and
 * performs each custom resource's effect through the provider plugin `pulumi-resource-zeroroot`,
 * driven over its gRPC protocol as the Pulumi engine drives it (lab/orchestrate/deployment.ts).
 * A test harness, not a deployment engine: it keeps a small state file per stack (values only, no
 * code, no checkout path) so `lab up` is idempotent and any checkout can continue from it, and it
 * deletes what the program no longer declares once the whole program has run.
 */
import { basename, dirname, join } from "node:path";
import { readStackFile } from "../../lib/fleet";
import { PassphraseCrypter } from "../pulumi-passphrase";
import { evaluateStack, type EvaluatedResource, type Evaluation } from "../stack-eval";
import { Deployment } from "./deployment";

export interface DeployOptions {
  readonly statePath: string;
  readonly passphrase?: string;
  readonly stackOutputs?: Record<string, Record<string, unknown>>;
  readonly log?: (msg: string) => void;
  /** Where the stack program reads signed releases. @default - releases/ of this checkout */
  readonly releasesDir?: string;
  /** The plugin to run. @default - this checkout's provider/pulumi-resource-zeroroot */
  readonly launcher?: string;
}

const SHORT = (type: string) => type.replace(/^.*:/, "");

/** Where a stack's deployment keeps its plugin's stderr: `plugin-<stack>.log` next to its state. */
export const pluginLogOf = (statePath: string): string =>
  join(dirname(statePath), `plugin-${basename(statePath, ".json")}.log`);

export async function deployStack(file: string, opts: DeployOptions): Promise<Evaluation> {
  const log = opts.log ?? (() => undefined);
  const salt = readStackFile(file).encryptionSalt;
  const crypter = salt && opts.passphrase ? PassphraseCrypter.fromSalt(opts.passphrase, salt) : undefined;
  const deployment = new Deployment({
    statePath: opts.statePath,
    crypter,
    log,
    launcher: opts.launcher,
    // Next to the state (the lab's state folder): the plugin's stderr, start and exit, so a call
    // that fails because the plugin went away (a reset connection) can be explained afterwards.
    stderrFile: pluginLogOf(opts.statePath),
  });
  const onResource = async (r: EvaluatedResource) => {
    if (!r.custom || !Deployment.serves(r.type)) return { id: `${r.name}-id`, state: r.inputs };
    const started = Date.now();
    const took = () => `${((Date.now() - started) / 1000).toFixed(1)} s`;
    try {
      const { id, outs, outcome } = await deployment.register(r.urn, r.type, r.inputs);
      log(`${SHORT(r.type)} ${r.name}: ${outcome}${outcome === "unchanged" ? "" : ` in ${took()}`}`);
      return { id, state: outs };
    } catch (err) {
      log(`${SHORT(r.type)} ${r.name}: FAILED after ${took()}: ${(err as Error).message}`);
      throw err;
    }
  };
  try {
    const evaluation = await evaluateStack(file, {
      stackOptions: { releasesDir: opts.releasesDir },
      stackOutputs: opts.stackOutputs,
      decrypt: crypter ? (c) => crypter.decrypt(c) : undefined,
      onResource,
    });
    // As the engine does after a successful program: what it no longer declares is deleted.
    await deployment.deleteUnregistered();
    return evaluation;
  } finally {
    await deployment.close();
  }
}
