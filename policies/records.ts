/**
 * From what the engine (or a capture under mocks) gives a policy to the rule book's ResourceRecord:
 * unknown-at-preview values become UNKNOWN, secret wrappers are removed and their paths kept.
 */
import * as output from "@pulumi/pulumi/output";
import { UNKNOWN, kindOfType, type Maybe, type ResourceRecord } from "../lib/rules";
import { secretPathsOf, unwrapSdkSecrets } from "./secrets";

/** The engine's unknown sentinels as @pulumi/policy receives them (proxy.js), and the SDK's one. */
const UNKNOWN_SENTINELS = new Set([
  "1c4a061d-8072-4f0a-a4cb-0ff528b18fe7",
  "3eeb2bf0-c639-47a8-9e75-3b44932eb421",
  "04da6b54-80e4-46f7-96ec-b56ff0331ba9",
  "6a19a0b0-7e62-4c92-b797-7f8e31da9cc2",
  "030794c1-ac77-496b-92df-f27374a8bd58",
  "e48ece36-62e2-4504-bad9-02848725956a",
  "dd056dcd-154b-4c76-9bd3-c8f88648b5ff",
]);

/** Deep copy with every unknown (engine sentinel string, SDK `unknown` object) replaced by UNKNOWN. */
export function normaliseUnknowns(v: unknown): unknown {
  if (typeof v === "string") return UNKNOWN_SENTINELS.has(v) ? UNKNOWN : v;
  if (v === output.unknown) return UNKNOWN;
  if (Array.isArray(v)) return v.map(normaliseUnknowns);
  if (v && typeof v === "object") {
    if (output.isUnknown(v)) return UNKNOWN;
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, normaliseUnknowns(x)]));
  }
  return v;
}

/** The raw object behind @pulumi/policy's unknown-checking proxy (reading through it would throw). */
export function rawProps(props: Record<string, unknown>): Record<string, unknown> {
  const target = (props as Record<string, unknown>)["__getSpecialProxyTarget"];
  return target && typeof target === "object" ? (target as Record<string, unknown>) : props;
}

export interface RecordSource {
  readonly type: string;
  readonly name: string;
  readonly urn: string;
  readonly props: Record<string, unknown>;
  readonly opts?: { readonly protect?: boolean; readonly retainOnDelete?: boolean };
  /** Paths of values that were secrets, when the capturer knows them. */
  readonly secretPaths?: readonly string[];
  /**
   * The props keep the SDK's secret wrappers (a capture under mocks does), so a value without a
   * wrapper is known to be plain text. Otherwise secretness is known only from tracking/secretPaths.
   */
  readonly secretsKnown?: boolean;
}

/** A ResourceRecord for one of zeroroot's resources, or undefined for any other resource. */
export function recordOf(src: RecordSource): ResourceRecord | undefined {
  const kind = kindOfType(src.type);
  if (!kind) return undefined;
  const raw = rawProps(src.props);
  const tracked = secretPathsOf(raw);
  const unwrapped = unwrapSdkSecrets(raw);
  let secretPaths: Maybe<ReadonlySet<string>>;
  if (tracked !== UNKNOWN || src.secretsKnown || src.secretPaths || unwrapped.secretPaths.size > 0) {
    secretPaths = new Set([
      ...(tracked === UNKNOWN ? [] : tracked),
      ...(src.secretPaths ?? []),
      ...unwrapped.secretPaths,
    ]);
  } else secretPaths = UNKNOWN;
  return {
    kind,
    ref: src.urn,
    name: src.name,
    props: normaliseUnknowns(unwrapped.value) as Record<string, unknown>,
    secretPaths,
    protect: typeof src.opts?.protect === "boolean" ? src.opts.protect : UNKNOWN,
    retainOnDelete: src.opts?.retainOnDelete,
  };
}
