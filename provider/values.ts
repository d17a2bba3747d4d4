/**
 * The engine's wire values inside a google.protobuf.Struct: secrets arrive as
 * `{"4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270", value}` (the plugin
 * accepts secrets, so the engine keeps them marked) and unknown values (preview) as a sentinel
 * string. Handlers see plain values; what was secret goes back secret.
 */
export const SECRET_SIG = "4dabf18193072939515e22adb298388d";
export const SECRET_VALUE = "1b47061264138c4ac30d75fd1eb44270";
export const UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";

type Path = readonly (string | number)[];

const isSecret = (v: unknown): v is { value: unknown } =>
  !!v && typeof v === "object" && (v as Record<string, unknown>)[SECRET_SIG] === SECRET_VALUE;

export function secret(value: unknown): unknown {
  return { [SECRET_SIG]: SECRET_VALUE, value };
}

/** The plain value and the paths that were secret. */
export function reveal(value: unknown, path: Path = []): { value: unknown; secrets: Path[] } {
  if (isSecret(value)) return { value: reveal(value.value, path).value, secrets: [path] };
  if (Array.isArray(value)) {
    const parts = value.map((v, i) => reveal(v, [...path, i]));
    return { value: parts.map((p) => p.value), secrets: parts.flatMap((p) => p.secrets) };
  }
  if (value && typeof value === "object") {
    const parts = Object.entries(value).map(([k, v]) => [k, reveal(v, [...path, k])] as const);
    return {
      value: Object.fromEntries(parts.map(([k, p]) => [k, p.value])),
      secrets: parts.flatMap(([, p]) => p.secrets),
    };
  }
  return { value, secrets: [] };
}

/** Marks `paths` of `value` secret again (paths that no longer exist are skipped). */
export function conceal<T>(value: T, paths: readonly Path[]): T {
  let out: unknown = value;
  for (const p of paths) out = concealAt(out, p);
  return out as T;
}

function concealAt(value: unknown, path: Path): unknown {
  if (path.length === 0) return value === undefined || isSecret(value) ? value : secret(value);
  if (!value || typeof value !== "object") return value;
  const [head, ...rest] = path;
  if (!(head in value)) return value;
  if (Array.isArray(value)) return value.map((v, i) => (i === head ? concealAt(v, rest) : v));
  const obj = value as Record<string, unknown>;
  return { ...obj, [head]: concealAt(obj[head], rest) };
}

export function containsUnknown(value: unknown): boolean {
  if (value === UNKNOWN) return true;
  if (Array.isArray(value)) return value.some(containsUnknown);
  if (value && typeof value === "object") return Object.values(value).some(containsUnknown);
  return false;
}
