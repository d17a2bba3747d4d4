/**
 * The remediation actions `zeroroot drift --remediate` runs (lib/drift/remediate-actions.ts) over
 * the context of the last observation: the operator's control-plane client, the BMC endpoints the
 * observers used (passwords decrypted from the stack, never written anywhere), and the desired-state
 * signer read from the files ZEROROOT_STATE_SIGNER_CERT / _KEY name (default
 * ~/.zeroroot/state-signer.{crt,key}, as the provider's DesiredState reads them) — read only when
 * an agent is asked, so a run that only sets a boot device needs no signer.
 */
import { createPrivateKey } from "node:crypto";
import { readFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { IpmitoolBmcClient, type BmcClient } from "../../ipmi";
import type { Signer } from "../../release";
import type { DesiredServer } from "../desired";
import { remediationActions, RemediationError } from "../remediate-actions";
import type { RemediationActions, RemediationContext } from "../remediate";

function named(envVar: string, fallback: string, what: string): string {
  const file = process.env[envVar] ?? join(homedir(), ".zeroroot", fallback);
  try {
    return readFileSync(file, "utf8");
  } catch (e) {
    throw new RemediationError(
      `${what}: cannot read ${file} (${(e as NodeJS.ErrnoException).code ?? String(e)}); set ${envVar} to the file's path`,
    );
  }
}

/** The desired-state signer: the only key an agent obeys a request from. */
export function stateSignerFromEnv(): Signer {
  const certs =
    named("ZEROROOT_STATE_SIGNER_CERT", "state-signer.crt", "desired-state signer certificate").match(
      /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g,
    ) ?? [];
  const key = named("ZEROROOT_STATE_SIGNER_KEY", "state-signer.key", "desired-state signer key");
  return {
    privateKey: createPrivateKey(key),
    certificatePem: `${certs[0] ?? ""}\n`,
    chainPem: certs.slice(1).join("\n"),
  };
}

export function createRemediationActions(
  ctx: RemediationContext,
  opts: {
    readonly bmcClient?: (ep: NonNullable<RemediationContext["targets"][number]["bmc"]>) => BmcClient;
  } = {},
): RemediationActions {
  if (!ctx.controlPlane)
    throw new RemediationError("--remediate needs the control plane (the operator's certificate and key)");
  let signer: Signer | undefined;
  const bmc = (server: DesiredServer): BmcClient => {
    const ep = ctx.targets.find((t) => t.server === server.server)?.bmc;
    if (!ep)
      throw new RemediationError(
        `the BMC of ${server.server} cannot be reached: its password was not decrypted (set PULUMI_CONFIG_PASSPHRASE or _FILE)`,
      );
    return (opts.bmcClient ?? ((e) => new IpmitoolBmcClient(e)))(ep);
  };
  return remediationActions({
    controlPlane: ctx.controlPlane,
    bmc,
    get signer() {
      signer ??= stateSignerFromEnv();
      return signer;
    },
  });
}
