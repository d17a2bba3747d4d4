/**
 * Operator requests to one node's agent, the way `zeroroot drift --remediate` asks an agent to restart
 * a stopped instance or renew a service certificate: a small signed document written at
 * /computers/<id>/requests/<request-id> (the operator role writes there, the computer's role only
 * reads it). The agent acts only on a request that
 *   - is signed by a software-signing certificate of the hierarchy that the node's authorisation list
 *     grants `desiredState` for the node's data center: whoever may tell this node what to run may ask
 *     it to restart or renew, and nobody else (a computer or service key on an online machine cannot);
 *   - names this very computer and data center, as its own verified certificate says;
 *   - is current (issued at most REQUEST_LIMITS.validitySeconds before it expires, not expired) and
 *     not seen before (its id).
 * A request never destroys anything: the actions are a closed list and none touches data.
 */
import { formatIdentity, type Identity } from "../pki";
import {
  isAuthorised,
  parseBoundedJson,
  signCanonical,
  verifyEnvelope,
  type AuthorisationList,
  type DetachedSignature,
  type Signer,
} from "../release";

export const AGENT_REQUEST_KIND = "zeroroot.agent-request/v1";
export const AGENT_ACTIONS = ["restart-instance", "renew-certificate"] as const;
export type AgentAction = (typeof AGENT_ACTIONS)[number];

export const REQUEST_LIMITS = {
  bytes: 16_384,
  depth: 8,
  validitySeconds: 900,
  clockSkewSeconds: 120,
} as const;

const ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
const NAME = /^[a-z0-9][a-z0-9-]{0,62}$/;

export interface AgentRequest {
  readonly kind: typeof AGENT_REQUEST_KIND;
  readonly id: string;
  readonly dataCenter: string;
  readonly computerId: string;
  readonly action: AgentAction;
  /** The instance the action is about. */
  readonly instance: string;
  /** Why (a drift finding's rule), shown in the agent's log and report. */
  readonly reason: string;
  readonly issuedAt: string;
  readonly expiresAt: string;
}

export interface SignedAgentRequest {
  readonly request: AgentRequest;
  readonly signature: DetachedSignature;
}

export class AgentRequestError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "AgentRequestError";
  }
}

/** Checks the shape of a request; throws AgentRequestError naming the field, the value and what is allowed. */
export function validateAgentRequest(x: unknown): AgentRequest {
  const o = (typeof x === "object" && x !== null ? x : {}) as Record<string, unknown>;
  const bad = (k: string, allowed: string) =>
    new AgentRequestError(`request.${k}: got ${JSON.stringify(o[k])?.slice(0, 80)}; allowed: ${allowed}`);
  if (o.kind !== AGENT_REQUEST_KIND) throw bad("kind", JSON.stringify(AGENT_REQUEST_KIND));
  if (typeof o.id !== "string" || !ID.test(o.id)) throw bad("id", "1-128 of [A-Za-z0-9._-]");
  for (const k of ["dataCenter", "computerId", "instance"])
    if (typeof o[k] !== "string" || !NAME.test(o[k] as string)) throw bad(k, "1-63 of [a-z0-9-]");
  if (!AGENT_ACTIONS.includes(o.action as AgentAction)) throw bad("action", AGENT_ACTIONS.join(", "));
  if (typeof o.reason !== "string" || o.reason.length > 200)
    throw bad("reason", "a text of at most 200 characters");
  for (const k of ["issuedAt", "expiresAt"])
    if (typeof o[k] !== "string" || Number.isNaN(Date.parse(o[k] as string)))
      throw bad(k, "an ISO 8601 time");
  return {
    kind: AGENT_REQUEST_KIND,
    id: o.id,
    dataCenter: o.dataCenter as string,
    computerId: o.computerId as string,
    action: o.action as AgentAction,
    instance: o.instance as string,
    reason: o.reason,
    issuedAt: o.issuedAt as string,
    expiresAt: o.expiresAt as string,
  };
}

/** Builds and signs a request valid for `validitySeconds` (at most REQUEST_LIMITS.validitySeconds). */
export function signAgentRequest(
  args: Omit<AgentRequest, "kind" | "issuedAt" | "expiresAt">,
  signer: Signer,
  opts: { readonly now?: Date; readonly validitySeconds?: number } = {},
): SignedAgentRequest {
  const now = opts.now ?? new Date();
  const validity = Math.min(opts.validitySeconds ?? 300, REQUEST_LIMITS.validitySeconds);
  const request = validateAgentRequest({
    ...args,
    kind: AGENT_REQUEST_KIND,
    issuedAt: now.toISOString(),
    expiresAt: new Date(now.getTime() + validity * 1000).toISOString(),
  });
  return { request, signature: signCanonical(request, signer) };
}

export type AgentRequestVerification =
  | { readonly ok: true; readonly request: AgentRequest; readonly signer: string }
  | { readonly ok: false; readonly reason: string; readonly detail: string };

export interface VerifyAgentRequestOptions {
  readonly root: string | Buffer;
  readonly authorisedSigners: AuthorisationList;
  /** This node, from its own verified computer certificate. */
  readonly node: Identity;
  readonly crls?: readonly (string | Buffer)[];
  /** Request ids already acted on. */
  readonly seen: ReadonlySet<string>;
  readonly now?: Date;
}

const fail = (reason: string, detail: string): AgentRequestVerification => ({ ok: false, reason, detail });

/** Everything the agent checks before acting on a request read as text. Never throws. */
export function verifyAgentRequestText(
  text: string,
  opts: VerifyAgentRequestOptions,
): AgentRequestVerification {
  const parsed = parseBoundedJson(
    text,
    { maxBytes: REQUEST_LIMITS.bytes, maxDepth: REQUEST_LIMITS.depth },
    "the request",
  );
  if (!parsed.ok) return fail(parsed.reason, parsed.detail);
  const s = (
    typeof parsed.value === "object" && parsed.value !== null ? parsed.value : {}
  ) as Partial<SignedAgentRequest>;
  const now = opts.now ?? new Date();
  const env = verifyEnvelope(s.request, s.signature, { root: opts.root, crls: opts.crls, at: now });
  if (!env.ok) return fail(env.reason, env.detail);
  let r: AgentRequest;
  try {
    r = validateAgentRequest(s.request);
  } catch (e) {
    return fail("malformed", (e as Error).message);
  }
  const signer = formatIdentity(env.identity);
  if (r.dataCenter !== opts.node.dataCenter || r.computerId !== opts.node.name)
    return fail(
      "wrong-computer",
      `the request is for ${r.dataCenter}/${r.computerId}; this is ${formatIdentity(opts.node)}`,
    );
  if (
    !isAuthorised(
      opts.authorisedSigners,
      { identity: env.identity, der: env.signer.der },
      "desiredState",
      r.dataCenter,
    )
  )
    return fail(
      "unauthorised-signer",
      `${signer} may not sign desired state for ${r.dataCenter}, so it may not ask this node either`,
    );
  const issued = Date.parse(r.issuedAt);
  const expires = Date.parse(r.expiresAt);
  if (expires - issued > REQUEST_LIMITS.validitySeconds * 1000 || expires < issued)
    return fail(
      "validity-too-long",
      `valid ${r.issuedAt} to ${r.expiresAt}; at most ${REQUEST_LIMITS.validitySeconds} s`,
    );
  if (now.getTime() >= expires) return fail("expired", `the request expired at ${r.expiresAt}`);
  if (issued - REQUEST_LIMITS.clockSkewSeconds * 1000 > now.getTime())
    return fail("not-yet-valid", `issued at ${r.issuedAt}, in the future of this node's clock`);
  if (opts.seen.has(r.id)) return fail("replayed", `request ${r.id} was already acted on`);
  return { ok: true, request: r, signer };
}
