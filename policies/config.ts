/**
 * The pack config file (`--policy-pack-config`, `zeroroot policy check --config`) read as the Pulumi
 * CLI reads it, so both judge with the same settings: per policy name either an enforcement level
 * (`"spread": "advisory"`) or an object with an optional `enforcementLevel` and the policy's
 * settings; the reserved key `all` sets the level of every policy. Unknown policies and settings
 * are refused, so a typo never silently leaves a default in force. Pure.
 */
import type { PackConfig, ZerorootPolicy } from "./make-policies";

const LEVELS = ["advisory", "mandatory", "remediate", "disabled"] as const;
type Level = (typeof LEVELS)[number];
const isLevel = (v: unknown): v is Level =>
  typeof v === "string" && (LEVELS as readonly string[]).includes(v);
const show = (v: unknown) => JSON.stringify(v)?.slice(0, 80) ?? String(v);
const isRecord = (v: unknown): v is Record<string, unknown> =>
  !!v && typeof v === "object" && !Array.isArray(v) && Object.getPrototypeOf(v) === Object.prototype;

/** A config file's problems, each naming the key path, what was received and what is allowed. */
export class PackConfigError extends Error {
  constructor(
    readonly file: string,
    readonly problems: readonly string[],
  ) {
    super(
      `${file}: ${problems.length} problem(s) in the policy pack config:\n${problems.map((p) => `  - ${p}`).join("\n")}`,
    );
    this.name = "PackConfigError";
  }
}

const JSON_TYPE: Record<string, (v: unknown) => boolean> = {
  array: Array.isArray,
  object: isRecord,
  string: (v) => typeof v === "string",
  number: (v) => typeof v === "number" && Number.isFinite(v),
  integer: (v) => Number.isInteger(v),
  boolean: (v) => typeof v === "boolean",
};

/** Normalises a parsed config file; throws PackConfigError listing every problem. */
export function packConfigOf(raw: unknown, file: string, policies: readonly ZerorootPolicy[]): PackConfig {
  const problems: string[] = [];
  if (!isRecord(raw))
    throw new PackConfigError(file, [
      `(top level): received ${show(raw)}; allowed: an object keyed by policy name`,
    ]);
  const byName = new Map(policies.map((p) => [p.name, p]));
  const names = [...byName.keys()].join(", ");
  const levelOf = (key: string, v: unknown): Level | undefined => {
    if (isLevel(v)) return v;
    problems.push(`${key}: received ${show(v)}; allowed: ${LEVELS.join(", ")}`);
    return undefined;
  };
  let all: Level | undefined;
  if ("all" in raw) all = levelOf("all", raw.all);
  const out: Record<string, Record<string, unknown>> = {};
  for (const [name, value] of Object.entries(raw)) {
    if (name === "all") continue;
    const policy = byName.get(name);
    if (!policy) {
      problems.push(`${name}: no policy of this pack has that name; allowed: all, ${names}`);
      continue;
    }
    if (typeof value === "string") {
      const level = levelOf(name, value);
      if (level) out[name] = { enforcementLevel: level };
      continue;
    }
    if (!isRecord(value)) {
      problems.push(
        `${name}: received ${show(value)}; allowed: an enforcement level or an object of settings`,
      );
      continue;
    }
    const schema = (policy.configSchema?.properties ?? {}) as Record<string, { type?: string }>;
    const settings: Record<string, unknown> = {};
    for (const [key, v] of Object.entries(value)) {
      if (key === "enforcementLevel") {
        const level = levelOf(`${name}.enforcementLevel`, v);
        if (level) settings.enforcementLevel = level;
      } else if (!(key in schema)) {
        const allowed = ["enforcementLevel", ...Object.keys(schema)].join(", ");
        problems.push(`${name}.${key}: not a setting of ${name}; allowed: ${allowed}`);
      } else if (schema[key].type && !JSON_TYPE[schema[key].type]?.(v)) {
        problems.push(`${name}.${key}: received ${show(v)}; allowed: a value of type ${schema[key].type}`);
      } else settings[key] = v;
    }
    out[name] = settings;
  }
  if (problems.length > 0) throw new PackConfigError(file, problems);
  if (all) for (const p of policies) out[p.name] = { enforcementLevel: all, ...(out[p.name] ?? {}) };
  return out;
}
