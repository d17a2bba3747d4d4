/**
 * The lab's stand-in for the Pulumi engine's deployment loop, driving the provider plugin over its
 * gRPC protocol exactly as the engine does (provider/host.ts): Check, then Diff against the
 * recorded outputs, then Create, Update, or a replacement (delete first only when the plugin asks),
 * and Read for a refresh, Delete for what the program no longer declares. The state file holds
 * resource values only — no code, no checkout path — so any checkout can continue from it.
 * Secrets are stored as a digest plus, when the stack has a passphrase, their ciphertext (as
 * Pulumi state keeps them encrypted); a secret without ciphertext is restored from the program's
 * fresh inputs when its digest matches.
 */
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { HANDLERS } from "../../provider/provider";
import { PluginHost, type PluginOptions, type Props } from "../../provider/host";
import { secret, SECRET_SIG, SECRET_VALUE } from "../../provider/values";
import { RESOURCE_TYPES, legacyDynamicType, type ResourceKind } from "../../lib/contracts/resources";

const MARK = "zeroroot-lab-secret-sha256";
const SECURE = "secure";
const digest = (v: unknown) => createHash("sha256").update(JSON.stringify(v)).digest("hex");
const isWrapped = (v: unknown): v is { value: unknown } =>
  !!v && typeof v === "object" && (v as Props)[SECRET_SIG] === SECRET_VALUE;
const isMarker = (v: unknown): v is Props => !!v && typeof v === "object" && MARK in v;

export interface Recorded {
  readonly type: string;
  readonly id: string;
  readonly inputs: Props;
  readonly outs: Props;
}

export interface Crypter {
  encrypt(plaintext: string): string;
  decrypt(ciphertext: string): string;
}

export interface DeploymentOptions extends PluginOptions {
  readonly statePath: string;
  readonly crypter?: Crypter;
  readonly log?: (msg: string) => void;
  /** A running plugin to use (and leave running). @default - one started on first use, closed by close() */
  readonly host?: PluginHost;
}

export type Outcome = "created" | "updated" | "replaced" | "unchanged";

const SERVED = new Set(HANDLERS.map((h) => h.token));
/** The explicit provider's type: its inputs are the plugin's configuration (the platform root). */
export const PROVIDER_TYPE = "pulumi:providers:zeroroot";
const SHORT = (type: string) => type.replace(/^.*:/, "");

/** A URN under its old dynamic-provider type, as an alias maps it. */
function legacyUrn(urn: string, type: string): string | undefined {
  const kind = (Object.keys(RESOURCE_TYPES) as ResourceKind[]).find((k) => RESOURCE_TYPES[k] === type);
  return kind ? urn.replace(`::${type}::`, `::${legacyDynamicType(kind)}::`) : undefined;
}

const typeOfLegacy = (urn: string): string => {
  const t = (urn.split("::")[2] ?? "").split("$").pop() ?? "";
  const m = /^pulumi-nodejs:dynamic\/zeroroot:(\w+)$/.exec(t);
  return m ? (RESOURCE_TYPES[m[1] as ResourceKind] ?? t) : t;
};

export class Deployment {
  private readonly state: Map<string, Recorded>;
  private readonly seen = new Set<string>();
  private host?: Promise<PluginHost>;

  constructor(private readonly opts: DeploymentOptions) {
    this.state = new Map();
    if (!existsSync(opts.statePath)) return;
    const raw = JSON.parse(readFileSync(opts.statePath, "utf8")) as Props;
    // Version 1 (the dynamic-provider runner) was {urn: {id, inputs, outs}}, without a type.
    const entries = (raw.version === 2 ? raw.resources : raw) as Record<string, Partial<Recorded>>;
    for (const [urn, r] of Object.entries(entries))
      this.state.set(urn, {
        type: r.type ?? typeOfLegacy(urn),
        id: String(r.id),
        inputs: r.inputs ?? {},
        outs: r.outs ?? {},
      });
  }

  static serves(type: string): boolean {
    return SERVED.has(type) || type === PROVIDER_TYPE;
  }

  private log(msg: string): void {
    this.opts.log?.(msg);
  }

  /** One plugin process per deployment, started on first use (registrations arrive concurrently). */
  private plugin(): Promise<PluginHost> {
    if (this.opts.host) return Promise.resolve(this.opts.host);
    this.host ??= PluginHost.start(this.opts).then(async (h) => {
      await h.configure(this.providerConfig());
      return h;
    });
    return this.host;
  }

  /** The recorded explicit provider's inputs, as the engine configures a plugin from its state. */
  private providerConfig(): Props {
    const rec = [...this.state.values()].find((r) => r.type === PROVIDER_TYPE);
    return rec ? this.load(rec, {}).inputs : {};
  }

  /** Recorded URNs, in the order they were recorded. */
  urns(): string[] {
    return [...this.state.keys()];
  }

  recorded(urn: string): Recorded | undefined {
    return this.state.get(urn);
  }

  /** One resource as the engine handles a registration; returns its id and outputs. */
  async register(
    urn: string,
    type: string,
    inputs: Props,
  ): Promise<{ id: string; outs: Props; outcome: Outcome }> {
    const p = await this.plugin();
    this.seen.add(urn);
    if (type === PROVIDER_TYPE) {
      // The engine configures the plugin with the provider's inputs before any resource it serves.
      await p.configure(inputs);
      const id = this.state.get(urn)?.id ?? urn.split("::").pop() ?? "provider";
      this.state.set(urn, { type, id, inputs, outs: inputs });
      this.save();
      return { id, outs: inputs, outcome: "unchanged" };
    }
    const alias = legacyUrn(urn, type);
    const key = this.state.has(urn) ? urn : alias && this.state.has(alias) ? alias : undefined;
    const old = key ? this.load(this.state.get(key) as Recorded, inputs) : undefined;
    const checked = await p.check(urn, old?.inputs ?? {}, inputs);
    if (checked.failures.length > 0)
      throw new Error(
        `${SHORT(type)} ${urn.split("::").pop()}: ${checked.failures.map((f) => `${f.property}: ${f.reason}`).join("; ")}`,
      );
    const news = checked.inputs;
    let result: { id: string; outs: Props; outcome: Outcome };
    if (!old) {
      result = { ...(await p.create(urn, news)), outcome: "created" };
    } else {
      const d = await p.diff(old.id, urn, old.outs, news, old.inputs);
      if (!d.changes) result = { id: old.id, outs: old.outs, outcome: "unchanged" };
      else if (d.replaces.length === 0)
        result = {
          id: old.id,
          outs: await p.update(old.id, urn, old.outs, news, old.inputs),
          outcome: "updated",
        };
      else {
        this.log(`${SHORT(type)} ${urn.split("::").pop()}: replacing (${d.replaces.join(", ")})`);
        // The engine's order: create the replacement first unless the plugin asks otherwise.
        if (d.deleteBeforeReplace) await p.delete(old.id, urn, old.outs, old.inputs);
        const created = await p.create(urn, news);
        if (!d.deleteBeforeReplace) await p.delete(old.id, urn, old.outs, old.inputs);
        result = { ...created, outcome: "replaced" };
      }
    }
    if (key && key !== urn) this.state.delete(key);
    this.state.set(urn, { type, id: result.id, inputs: news, outs: result.outs });
    this.save();
    return result;
  }

  /** A recorded resource with its secrets decrypted (lab tooling reading the managed BMC login). */
  loaded(urn: string): Recorded | undefined {
    const rec = this.state.get(urn);
    return rec ? this.load(rec, {}) : undefined;
  }

  /** `pulumi refresh`: Read each recorded resource; returns the output keys that changed, per URN. */
  async refresh(): Promise<Record<string, string[]>> {
    const p = await this.plugin();
    const drift: Record<string, string[]> = {};
    for (const [urn, rec] of this.state) {
      if (!SERVED.has(rec.type)) continue;
      const old = this.load(rec, {});
      const r = await p.read(old.id, urn, old.outs, old.inputs);
      if (!r.id) {
        this.state.delete(urn);
        drift[urn] = ["(gone)"];
        continue;
      }
      // Outputs no longer repeat inputs: what Read saw may be in either (a BMC's power is an input).
      const [before, after] = [
        { ...old.outs, ...old.inputs },
        { ...r.props, ...r.inputs },
      ];
      const changed = Object.keys({ ...before, ...after }).filter(
        (k) => JSON.stringify(before[k]) !== JSON.stringify(after[k]),
      );
      if (changed.length > 0) drift[urn] = changed;
      this.state.set(urn, { ...rec, id: r.id, inputs: r.inputs, outs: r.props });
    }
    this.save();
    return drift;
  }

  /** Deletes what this run did not register (or everything, for a destroy), newest first. */
  async deleteUnregistered(all = false): Promise<string[]> {
    const gone = this.urns()
      .filter((u) => all || !this.seen.has(u))
      .reverse();
    for (const urn of gone) {
      const rec = this.state.get(urn) as Recorded;
      if (SERVED.has(rec.type)) {
        const old = this.load(rec, {});
        this.log(`${SHORT(rec.type)} ${urn.split("::").pop()}: deleting`);
        await (await this.plugin()).delete(old.id, urn, old.outs, old.inputs);
      }
      this.state.delete(urn);
      this.save();
    }
    return gone;
  }

  async close(): Promise<void> {
    const host = this.host;
    this.host = undefined;
    if (host)
      await host.then(
        (h) => h.close(),
        () => undefined,
      );
  }

  /** A recorded resource with its secrets back (decrypted, or matched against fresh inputs). */
  private load(rec: Recorded, fresh: Props): Recorded {
    const restore = (v: unknown, f: unknown): unknown => {
      if (isMarker(v)) {
        if (typeof v[SECURE] === "string" && this.opts.crypter)
          return secret(JSON.parse(this.opts.crypter.decrypt(v[SECURE])));
        const plain = isWrapped(f) ? f.value : f;
        return f !== undefined && digest(plain) === v[MARK] ? secret(plain) : v;
      }
      if (Array.isArray(v)) return v.map((x, i) => restore(x, Array.isArray(f) ? f[i] : undefined));
      if (v && typeof v === "object")
        return Object.fromEntries(
          Object.entries(v).map(([k, x]) => [
            k,
            restore(x, f && typeof f === "object" ? (f as Props)[k] : undefined),
          ]),
        );
      return v;
    };
    return { ...rec, inputs: restore(rec.inputs, fresh) as Props, outs: restore(rec.outs, fresh) as Props };
  }

  private hide(v: unknown): unknown {
    if (isWrapped(v)) {
      const c = this.opts.crypter;
      return { [MARK]: digest(v.value), ...(c ? { [SECURE]: c.encrypt(JSON.stringify(v.value)) } : {}) };
    }
    if (Array.isArray(v)) return v.map((x) => this.hide(x));
    if (v && typeof v === "object")
      return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, this.hide(x)]));
    return v;
  }

  private save(): void {
    mkdirSync(dirname(this.opts.statePath), { recursive: true });
    const resources = Object.fromEntries([...this.state].map(([urn, r]) => [urn, this.hide(r)]));
    const tmp = `${this.opts.statePath}.tmp`;
    writeFileSync(tmp, JSON.stringify({ version: 2, resources }, null, 1), { mode: 0o600 });
    renameSync(tmp, this.opts.statePath);
  }
}
