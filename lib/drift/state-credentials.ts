/**
 * The BMC logins a deployment's state holds: once a data center's BMCs are rotated
 * (BmcCredential, docs/bmc.md) the stack file's initial password is disabled, and the working
 * login exists only in the state — its `password` (a secret output; an input in state written
 * before the plugin made it) and its `username` output.
 * `zeroroot drift --state` reads them from `pulumi stack export` documents (version 3); the lab
 * runner's own state file is read by the CLI with the runner's code (cli/commands/drift-state.ts).
 * Pure: the caller reads the file (bounded) and decrypts.
 */
import { RESOURCE_TYPES } from "../contracts/resources";

export interface BmcLogin {
  readonly username: string;
  readonly password: string;
}

/** Pulumi's marker of a secret value in state and exports (apitype.SecretSig). */
const SECRET_SIG = "4dabf18193072939515e22adb298388d";
const SECRET_VALUE = "1b47061264138c4ac30d75fd1eb44270";

/** Largest state file read (a state of thousands of resources is a few MB). */
export const MAX_STATE_BYTES = 64 * 1024 * 1024;

/** Thrown for a state document that cannot be used: the message names what and why, never a secret. */
export class StateCredentialError extends Error {}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => !!v && typeof v === "object" && !Array.isArray(v);

/** Whether `json` is a `pulumi stack export` document (`{version: 3, deployment: {resources: [...]}}`). */
export function isPulumiExport(json: unknown): boolean {
  return isObj(json) && isObj(json.deployment) && Array.isArray(json.deployment.resources);
}

/**
 * The managed BMC login of each server in a `pulumi stack export` document. Secrets are either
 * plain (`--show-secrets`) or ciphertext that `decrypt` opens (the stack's secrets provider);
 * without `decrypt` a ciphertext is an error naming the resource.
 */
export function bmcLoginsFromPulumiExport(
  json: unknown,
  decrypt?: (ciphertext: string) => string,
): Map<string, BmcLogin> {
  if (!isPulumiExport(json))
    throw new StateCredentialError("not a `pulumi stack export` document (no deployment.resources list)");
  const resources = (json as { deployment: { resources: unknown[] } }).deployment.resources;
  const out = new Map<string, BmcLogin>();
  for (const r of resources) {
    if (!isObj(r) || r.type !== RESOURCE_TYPES.BmcCredential) continue;
    const urn = typeof r.urn === "string" ? r.urn.slice(0, 300) : "(a resource without urn)";
    const props = { ...(isObj(r.inputs) ? r.inputs : {}), ...(isObj(r.outputs) ? r.outputs : {}) };
    const open = (v: unknown, key: string): unknown => {
      if (!isObj(v) || v[SECRET_SIG] !== SECRET_VALUE) return v;
      let text: unknown = v.plaintext;
      if (typeof text !== "string") {
        if (typeof v.ciphertext !== "string")
          throw new StateCredentialError(`${urn}: the secret ${key} has neither plaintext nor ciphertext`);
        if (!decrypt)
          throw new StateCredentialError(
            `${urn}: the secret ${key} is encrypted; give the stack's passphrase (PULUMI_CONFIG_PASSPHRASE_FILE)`,
          );
        try {
          text = decrypt(v.ciphertext);
        } catch (e) {
          throw new StateCredentialError(
            `${urn}: the secret ${key} does not decrypt with the stack's passphrase (${(e as Error).message.slice(0, 120)})`,
          );
        }
      }
      try {
        return JSON.parse(text as string) as unknown;
      } catch {
        throw new StateCredentialError(`${urn}: the secret ${key} is not a JSON value once opened`);
      }
    };
    const serverId = open(props.serverId, "serverId");
    const username = open(props.username, "username");
    const password = open(props.password, "password");
    if (typeof serverId !== "string") continue;
    if (typeof username !== "string" || typeof password !== "string")
      throw new StateCredentialError(
        `${urn}: the BmcCredential of ${serverId.slice(0, 63)} records no username and password (outputs)`,
      );
    out.set(serverId, { username, password });
  }
  return out;
}
