import type { ResourceKind } from "../../contracts/resources";
import {
  DEFAULT_PUBLIC_KEY_PATTERNS,
  DEFAULT_SECRET_KEY_PATTERNS,
  containsPrivateKeyPem,
  looksLikeSecretToken,
  matchesKey,
} from "../secrets";
import { finding, type Finding, type Rule } from "../types";
import type { ValuesView } from "../views";

export interface ZeroPasswordConfig {
  /** Key-name fragments that make a value a password/token/key. */
  readonly secretKeyPatterns: readonly string[];
  /** Key-name fragments of public values that look random (digests, signatures, certificates). */
  readonly publicKeyPatterns: readonly string[];
  /**
   * Paths that must be Pulumi secrets, by resource kind.
   * @default - BmcServer: bmc.password; BmcCredential: initialPassword, password
   */
  readonly requiredSecrets: Readonly<Partial<Record<ResourceKind, readonly string[]>>>;
  /**
   * Kinds where services authenticate by certificate, so a password-like key is refused even when
   * secret (DesiredState: instance parameters). @default - ["DesiredState"]
   */
  readonly passwordFreeKinds: readonly ResourceKind[];
  /** Kinds allowed to hold a private key, only as a secret (the root CA's key). @default - ["RootCa"] */
  readonly privateKeyKinds: readonly ResourceKind[];
  /** High-entropy detection: minimum length and bits per character. @default - 20, 4.0 */
  readonly tokenMinLength: number;
  readonly tokenMinEntropy: number;
  /** Which checks to run: the stack policy over outputs checks private keys only. */
  readonly checkPlaintextSecrets: boolean;
  readonly checkPrivateKeys: boolean;
}

const meta = {
  name: "zero-password",
  description:
    "Checks that no password, token or private key is held in plain text by a zeroroot resource: the BMC password is a Pulumi secret, no password-like key or high-entropy string is left unmarked, services carry no password at all, and no PEM private key appears in inputs or outputs (except the root CA's key, as a secret).",
  severity: "critical",
  remediation:
    "Pass BMC passwords with pulumi.secret / `pulumi config set --secret`; remove passwords and tokens from service parameters (services authenticate with certificates; engines that insist on a password get one made on the node); never pass a private key: send a CSR and keep the key where it was generated.",
  invariant: "3. Zero password",
  defaults: {
    secretKeyPatterns: DEFAULT_SECRET_KEY_PATTERNS,
    publicKeyPatterns: DEFAULT_PUBLIC_KEY_PATTERNS,
    requiredSecrets: { BmcServer: ["bmc.password"], BmcCredential: ["initialPassword", "password"] },
    passwordFreeKinds: ["DesiredState"],
    privateKeyKinds: ["RootCa"],
    tokenMinLength: 20,
    tokenMinEntropy: 4.0,
    checkPlaintextSecrets: true,
    checkPrivateKeys: true,
  } as ZeroPasswordConfig,
  configSchema: {
    secretKeyPatterns: { type: "array", items: { type: "string" } },
    publicKeyPatterns: { type: "array", items: { type: "string" } },
    requiredSecrets: { type: "object", additionalProperties: { type: "array", items: { type: "string" } } },
    passwordFreeKinds: { type: "array", items: { type: "string" } },
    privateKeyKinds: { type: "array", items: { type: "string" } },
    tokenMinLength: { type: "integer", minimum: 8 },
    tokenMinEntropy: { type: "number", minimum: 0 },
  },
} as const;

export const zeroPassword: Rule<ValuesView, ZeroPasswordConfig> = {
  ...meta,
  check(view, c) {
    const out: Finding[] = [];
    const f = (msg: string, path: string) => out.push(finding(meta, msg, view.ref, path));
    const required = new Set(c.requiredSecrets[view.kind] ?? []);
    const passwordFree = c.passwordFreeKinds.includes(view.kind);
    for (const leaf of view.leaves) {
      if (c.checkPrivateKeys && containsPrivateKeyPem(leaf.value)) {
        const allowed = c.privateKeyKinds.includes(view.kind) && leaf.secret !== false;
        if (!allowed)
          f(
            `${leaf.path} holds a PEM private key${leaf.secret === true ? " (secret)" : ""}; a private key never enters Pulumi: send a CSR instead`,
            leaf.path,
          );
        continue;
      }
      if (!c.checkPlaintextSecrets || leaf.path === "__provider") continue;
      if (required.has(leaf.path)) {
        if (leaf.secret === false) f(`${leaf.path} is plain text; required: a Pulumi secret`, leaf.path);
        continue;
      }
      const keyHit = matchesKey(leaf.key, c.secretKeyPatterns);
      const isPublic = matchesKey(leaf.key, c.publicKeyPatterns) !== undefined;
      if (keyHit && !isPublic && leaf.value !== "") {
        if (passwordFree) {
          f(
            `${leaf.path}: key ${JSON.stringify(leaf.key)} looks like a password or token (matches "${keyHit}"); services authenticate by certificate, remove it`,
            leaf.path,
          );
        } else if (leaf.secret === false) {
          f(
            `${leaf.path}: key ${JSON.stringify(leaf.key)} looks like a password or token (matches "${keyHit}") and is plain text; make it a Pulumi secret or remove it`,
            leaf.path,
          );
        }
        continue;
      }
      if (
        !isPublic &&
        leaf.secret === false &&
        looksLikeSecretToken(leaf.value, c.tokenMinLength, c.tokenMinEntropy)
      )
        f(
          `${leaf.path} holds a high-entropy string (${leaf.value.length} characters) that is not a secret; make it a Pulumi secret or remove it`,
          leaf.path,
        );
    }
    return out;
  },
};
