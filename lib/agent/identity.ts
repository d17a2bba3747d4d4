/**
 * Who this node is, read from its own computer certificate and verified against the root, never taken
 * from a configuration file or a document: the data center whose CA issued the certificate, and the
 * computer's name. Desired state is accepted only when it names exactly this identity.
 */
import { formatIdentity, verifyIdentity, type Identity } from "../pki";
import { AgentConfigError } from "./config";

/**
 * The node's identity from its certificate chain (computer certificate first, then its issuing CA).
 * Throws AgentConfigError (what failed, how to fix) when the chain is not a computer certificate of
 * this root, or when agent.json's serverId names another computer.
 */
export function nodeIdentity(
  chainPem: string,
  rootPem: string,
  serverId: string,
  where = "/etc/zeroroot/computer.crt",
): Identity {
  const r = verifyIdentity(chainPem, rootPem, { use: "clientAuth", expect: { kinds: ["computer"] } });
  if (!r.ok)
    throw new AgentConfigError(
      `${where}: this node's certificate does not verify as a computer certificate under root.crt (${r.reason}: ${r.detail}); re-install the node so that its site issues a new one`,
    );
  if (r.identity.name !== serverId)
    throw new AgentConfigError(
      `agent.json: serverId "${serverId}" differs from the computer certificate's identity ${formatIdentity(r.identity)}; the certificate decides: fix serverId or re-install the node`,
    );
  return r.identity;
}
