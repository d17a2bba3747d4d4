/**
 * The operator's identity, for the resources that act as the operator: BmcServer (site API),
 * SoftwareRelease and DesiredState (control plane). The client certificate and key are read at
 * deploy time from the files named by ZEROROOT_OPERATOR_CERT and ZEROROOT_OPERATOR_KEY (default
 * ~/.zeroroot/operator.{crt,key}) by the plugin when it runs, so neither key nor path enters Pulumi
 * state.
 */
import { readFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { ControlPlaneClient } from "../lib/controlplane";

export interface OperatorIdentity {
  readonly certificateChainPem: string;
  readonly privateKeyPem: string;
}

/** Reads a file named by an environment variable, with an error that says which variable to set. */
export function readNamedFile(envVar: string, fallback: string, what: string): string {
  const file = process.env[envVar] ?? join(homedir(), ".zeroroot", fallback);
  try {
    return readFileSync(file, "utf8");
  } catch (e) {
    throw new Error(
      `${what}: cannot read ${file} (${(e as NodeJS.ErrnoException).code ?? String(e)}); set ${envVar} to the file's path`,
    );
  }
}

/** The operator's client certificate (chain) and key, read when the provider runs. */
export function readOperatorIdentity(): OperatorIdentity {
  return {
    certificateChainPem: readNamedFile("ZEROROOT_OPERATOR_CERT", "operator.crt", "operator certificate"),
    privateKeyPem: readNamedFile("ZEROROOT_OPERATOR_KEY", "operator.key", "operator key"),
  };
}

/** The control-plane client of the resources that write to it, with the operator's identity. */
export function operatorClient(endpoints: readonly string[], rootCertificatePem: string, timeoutMs: number) {
  return new ControlPlaneClient({
    endpoints,
    identity: { trustAnchorsPem: rootCertificatePem, ...readOperatorIdentity() },
    timeoutMs,
  });
}
