/**
 * The operator's identity, for the providers that act as the operator: BmcServer (site API),
 * SoftwareRelease and DesiredState (control plane). The client certificate and key are read at
 * deploy time from the files named by ZEROROOT_OPERATOR_CERT and ZEROROOT_OPERATOR_KEY (default
 * ~/.zeroroot/operator.{crt,key}), so neither key nor path enters Pulumi state.
 *
 * Runs inside serialised providers (see components/project-module.ts): node: builtins only, no
 * project imports, so Pulumi can serialise these functions by value.
 */
import { readFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";

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
