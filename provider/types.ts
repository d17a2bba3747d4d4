/**
 * What each zeroroot resource implements for the provider plugin. Handlers work on plain values:
 * the dispatcher (provider.ts) unwraps Pulumi secrets before and wraps them again after, and skips
 * `check` while a value is unknown (preview), so handlers never see the engine's sentinels.
 */
import type { ConfiguredKey } from "./config";

export type Props = Record<string, unknown>;

export interface CheckFailure {
  readonly property: string;
  readonly reason: string;
}

export interface DiffOutcome {
  /** Input keys whose change the resource applies in place (needs `update`). */
  readonly updates: readonly string[];
  /** Input keys (or "notAfter" for a renewal) whose change needs a new resource. */
  readonly replaces: readonly string[];
  readonly deleteBeforeReplace?: boolean;
}

export interface Handler {
  /** `zeroroot:<module>:<Name>`, from lib/contracts. */
  readonly token: string;
  /** Output keys that are secret whatever the caller marked (e.g. a private key). */
  readonly secretOutputs?: readonly string[];
  /** Input paths that are secret whatever the caller marked: an import's Read makes them from nothing. */
  readonly secretInputs?: readonly (readonly string[])[];
  /**
   * Keys a resource may leave to the provider's configuration (provider/config.ts): when absent the
   * router gives the handler the configured value, and never stores it with the resource.
   */
  readonly configured?: readonly ConfiguredKey[];
  /** Normalises inputs (defaults from lib) and refuses what create would refuse. */
  check?(news: Props): { inputs: Props; failures: CheckFailure[] };
  diff(id: string, olds: Props, news: Props): DiffOutcome;
  create(inputs: Props): Promise<{ id: string; outs: Props }>;
  /** What really exists now: outputs as observed, and the inputs that would produce them. */
  read(id: string, props: Props): Promise<{ id: string; props: Props; inputs: Props }>;
  update?(id: string, olds: Props, news: Props): Promise<Props>;
  delete?(id: string, props: Props): Promise<void>;
}

/** Keys of `keys` whose values differ (deep, by JSON). */
export function changedKeys(olds: Props, news: Props, keys: readonly string[]): string[] {
  return keys.filter((k) => JSON.stringify(olds[k]) !== JSON.stringify(news[k]));
}

/** Inputs only: the state's outputs minus the keys a resource computes. */
export function inputsOf(props: Props, inputKeys: readonly string[]): Props {
  return Object.fromEntries(inputKeys.filter((k) => k in props).map((k) => [k, props[k]]));
}
