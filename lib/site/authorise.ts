/**
 * Who may call the site's mutual-TLS routes, decided on the peer's identity (issuing data center,
 * kind, name) from lib/pki's verifyIdentity, never on a common name: an operator route takes only an
 * identity listed in the site config; a computer route only a computer of this site's own data center
 * that the site has registered. A chain that does not verify (foreign root, revoked, expired, wrong
 * key usage) is 401; a verified identity that may not use the route is 403.
 */
import { formatIdentity, sameIdentity, verifyIdentity, type Identity } from "../pki";
import type { StaleCrl } from "../pki/verify";

export type PeerRule =
  | { readonly route: "operator"; readonly operators: readonly Identity[] }
  | {
      readonly route: "computer";
      readonly dataCenter: string;
      /** Whether the site has a server of this name (its registry). */
      readonly registered: (name: string) => boolean;
    };

export interface PeerEvidence {
  /** The peer's certificates as DER, leaf first, as the TLS handshake received them. */
  readonly chain: readonly Buffer[];
  /** The root CA (PEM) every identity must chain to. */
  readonly rootPem: string;
  /** The CRLs the site holds; the newest of each issuer decides. */
  readonly crls: readonly (string | Buffer)[];
  /** Whether a CRL past its nextUpdate refuses (true) or is applied and reported (false). */
  readonly strictCrl: boolean;
  readonly at?: Date;
}

export type PeerDecision =
  | { readonly ok: true; readonly identity: Identity; readonly staleCrls: readonly StaleCrl[] }
  | { readonly ok: false; readonly status: 401 | 403; readonly message: string };

/** Identity failures: the chain verified, but it is not an identity this route accepts. */
const IDENTITY_REFUSALS = new Set(["no-identity", "wrong-data-center", "wrong-kind", "wrong-name"]);

export function authorisePeer(evidence: PeerEvidence, rule: PeerRule): PeerDecision {
  if (evidence.chain.length === 0)
    return {
      ok: false,
      status: 401,
      message: "this route needs a client certificate of the platform's hierarchy; none was presented",
    };
  const v = verifyIdentity([...evidence.chain], evidence.rootPem, {
    use: "clientAuth",
    crls: evidence.crls,
    strictCrl: evidence.strictCrl,
    at: evidence.at,
    expect:
      rule.route === "operator"
        ? { kinds: ["user"] }
        : { dataCenters: [rule.dataCenter], kinds: ["computer"] },
  });
  if (!v.ok) {
    const status = IDENTITY_REFUSALS.has(v.reason) ? 403 : 401;
    return { ok: false, status, message: `client certificate refused (${v.reason}): ${v.detail}` };
  }
  const who = formatIdentity(v.identity);
  if (rule.route === "operator" && !rule.operators.some((o) => sameIdentity(o, v.identity)))
    return { ok: false, status: 403, message: `${who} is not an operator of this site` };
  if (rule.route === "computer" && !rule.registered(v.identity.name))
    return { ok: false, status: 403, message: `${who} is not a server of data center ${rule.dataCenter}` };
  return { ok: true, identity: v.identity, staleCrls: v.staleCrls };
}
