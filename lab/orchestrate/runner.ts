/**
 * The lab's deployment runner: evaluates a real stack program through the SDK's mock hooks and
 * performs each dynamic resource's effect by loading its serialised provider exactly as Pulumi's
 * Node.js dynamic-provider host does, then calling create / diff / update. A test harness, not a
 * deployment engine: it keeps its own small state file per stack so `lab up` is idempotent, and
 * knows nothing of previews, refresh, parallelism limits or deletes of removed resources.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import type * as pulumi from "@pulumi/pulumi";
import { readStackFile } from "../../lib/fleet";
import { loadSerialisedProvider } from "../dynamic-host";
import { PassphraseCrypter } from "../pulumi-passphrase";
import { createHash } from "node:crypto";
import {
  evaluateStack,
  isSecretValue,
  revealSecrets,
  type EvaluatedResource,
  type Evaluation,
} from "../stack-eval";

type Path = (string | number)[];
const MARK = "zeroroot-lab-secret-sha256";
const digest = (v: unknown) => createHash("sha256").update(JSON.stringify(v)).digest("hex");

/** Paths of the inputs that arrived as Pulumi secrets. */
function secretPaths(value: unknown, path: Path = []): Path[] {
  if (isSecretValue(value)) return [path];
  if (Array.isArray(value)) return value.flatMap((v, i) => secretPaths(v, [...path, i]));
  if (value && typeof value === "object")
    return Object.entries(value).flatMap(([k, v]) => secretPaths(v, [...path, k]));
  return [];
}

function mapAt(
  obj: Record<string, unknown>,
  path: Path,
  f: (v: unknown) => unknown,
): Record<string, unknown> {
  const copy = structuredClone(obj);
  let cur = copy as Record<string | number, unknown>;
  for (const k of path.slice(0, -1)) {
    if (!cur[k] || typeof cur[k] !== "object") return copy;
    cur = cur[k] as Record<string | number, unknown>;
  }
  const last = path[path.length - 1];
  if (last !== undefined && last in cur) cur[last] = f(cur[last]);
  return copy;
}

/** What the state file keeps of a secret: its digest, as Pulumi state would keep it encrypted. */
const hideSecrets = (outs: Record<string, unknown>, paths: Path[]) =>
  paths.reduce((o, p) => mapAt(o, p, (v) => ({ [MARK]: digest(v) })), outs);

/** Puts the new plaintext back where the recorded digest matches, so an unchanged secret diffs as unchanged. */
const restoreSecrets = (outs: Record<string, unknown>, inputs: Record<string, unknown>, paths: Path[]) =>
  paths.reduce(
    (o, p) =>
      mapAt(o, p, (v) => {
        const fresh = p.reduce<unknown>((x, k) => (x as Record<string | number, unknown>)?.[k], inputs);
        return v && typeof v === "object" && (v as Record<string, unknown>)[MARK] === digest(fresh)
          ? fresh
          : v;
      }),
    outs,
  );

interface Recorded {
  id: string;
  inputs: Record<string, unknown>;
  outs: Record<string, unknown>;
}

export interface DeployOptions {
  readonly statePath: string;
  readonly passphrase?: string;
  readonly stackOutputs?: Record<string, Record<string, unknown>>;
  readonly log?: (msg: string) => void;
  /** Where the stack program reads signed releases. @default - releases/ of this checkout */
  readonly releasesDir?: string;
}

const SHORT = (type: string) => type.replace(/^.*:/, "");

export async function deployStack(file: string, opts: DeployOptions): Promise<Evaluation> {
  const log = opts.log ?? (() => undefined);
  const state: Record<string, Recorded> = existsSync(opts.statePath)
    ? (JSON.parse(readFileSync(opts.statePath, "utf8")) as Record<string, Recorded>)
    : {};
  const save = () => {
    mkdirSync(dirname(opts.statePath), { recursive: true });
    writeFileSync(opts.statePath, JSON.stringify(state, null, 1), { mode: 0o600 });
  };
  const salt = readStackFile(file).encryptionSalt;
  const crypter = salt && opts.passphrase ? PassphraseCrypter.fromSalt(opts.passphrase, salt) : undefined;

  const onResource = async (r: EvaluatedResource) => {
    const serialised = r.inputs.__provider;
    if (typeof serialised !== "string" || !r.type.startsWith("pulumi-nodejs:dynamic"))
      return { id: `${r.name}-id`, state: r.inputs };
    const provider: pulumi.dynamic.ResourceProvider = loadSerialisedProvider(serialised);
    const inputs = revealSecrets(
      Object.fromEntries(Object.entries(r.inputs).filter(([k]) => k !== "__provider")),
    ) as Record<string, unknown>;
    const hidden = secretPaths(r.inputs);
    const recorded = state[r.urn];
    const old = recorded ? { ...recorded, outs: restoreSecrets(recorded.outs, inputs, hidden) } : undefined;
    const started = Date.now();
    const took = () => `${((Date.now() - started) / 1000).toFixed(1)} s`;
    let result: Recorded;
    try {
      if (old && provider.diff) {
        const d = await provider.diff(old.id, old.outs, inputs);
        if (!d.changes) {
          log(`${SHORT(r.type)} ${r.name}: unchanged`);
          return { id: old.id, state: { ...old.outs, __provider: serialised } };
        }
        if ((d.replaces ?? []).length === 0 && provider.update) {
          log(`${SHORT(r.type)} ${r.name}: updating`);
          const u = await provider.update(old.id, old.outs, inputs);
          result = { id: old.id, inputs, outs: (u.outs ?? inputs) as Record<string, unknown> };
          log(`${SHORT(r.type)} ${r.name}: updated in ${took()}`);
        } else {
          log(`${SHORT(r.type)} ${r.name}: replacing (${(d.replaces ?? []).join(", ")})`);
          if (provider.delete) await provider.delete(old.id, old.outs);
          const c = await provider.create(inputs);
          result = { id: c.id, inputs, outs: (c.outs ?? inputs) as Record<string, unknown> };
          log(`${SHORT(r.type)} ${r.name}: replaced in ${took()}`);
        }
      } else {
        log(`${SHORT(r.type)} ${r.name}: creating`);
        const c = await provider.create(inputs);
        result = { id: c.id, inputs, outs: (c.outs ?? inputs) as Record<string, unknown> };
        log(`${SHORT(r.type)} ${r.name}: created in ${took()}`);
      }
    } catch (err) {
      log(`${SHORT(r.type)} ${r.name}: FAILED after ${took()}: ${(err as Error).message}`);
      throw err;
    }
    state[r.urn] = {
      id: result.id,
      inputs: hideSecrets(result.inputs, hidden),
      outs: hideSecrets(result.outs, hidden),
    };
    save();
    return { id: result.id, state: { ...result.outs, __provider: serialised } };
  };

  return evaluateStack(file, {
    stackOptions: { releasesDir: opts.releasesDir },
    stackOutputs: opts.stackOutputs,
    decrypt: crypter ? (c) => crypter.decrypt(c) : undefined,
    onResource,
  });
}
