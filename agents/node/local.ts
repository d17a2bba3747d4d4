/**
 * What the agent does with its own state at start: read it (an unreadable file is set aside, not a
 * reason to crash), re-verify every signed document in it (lib/agent verifyStoredState), and alert
 * with evidence on each refusal. A refused document is never applied: the instances it started keep
 * running under their supervisords, untouched, and the control plane's copy is verified anew as soon
 * as it is reachable.
 */
import { verifyStoredState, type StoredTrust } from "../../lib/agent/local-state";
import type { AgentState } from "../../lib/agent/state";
import type { Alert } from "./alerts";
import type { StateStore } from "./store";

type Raise = (dedupe: string | undefined, a: Omit<Alert, "at" | "computerId">) => void;

const KEEPS = "running instances keep running; nothing from it is applied";

export function readVerifiedState(store: StateStore, trust: StoredTrust, alert: Raise): AgentState {
  const loaded = store.load();
  const bad = loaded.unreadable;
  if (bad)
    alert(undefined, {
      kind: "local-state-unreadable",
      severity: "critical",
      detail: `${store.file} is not a readable state file (${bad.error}); set aside as ${bad.setAsideAs}; starting from an empty state: ${KEEPS}, the control plane's copy is verified when reachable`,
      evidence: { file: store.file, ...bad },
    });
  const { state, refusals } = verifyStoredState(loaded.state, trust);
  if (refusals.length === 0) return state;
  const setAsideAs = refusals.some((r) => r.tampered) ? store.setAside() : undefined;
  for (const r of refusals)
    alert(undefined, {
      kind: "local-state-refused",
      severity: r.tampered ? "critical" : "warning",
      detail: `the stored ${r.what} no longer verifies (${r.reason}): ${r.detail}; ${setAsideAs ? `the state file is set aside as ${setAsideAs}; ` : ""}${KEEPS}`,
      evidence: { file: store.file, what: r.what, reason: r.reason, digest: r.digest, setAsideAs },
    });
  store.save(state);
  return state;
}
