/**
 * The control-plane connection of zeroroot's providers that write to it (SoftwareRelease,
 * DesiredState): the operator's client certificate is read at deploy time from the files named by
 * ZEROROOT_OPERATOR_CERT and ZEROROOT_OPERATOR_KEY (default ~/.zeroroot/operator.{crt,key}), like
 * BmcServer, so neither key nor path enters Pulumi state. Runs inside a serialised provider: it
 * reaches lib/ through projectModule (see components/project-module.ts).
 */
import { readFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { projectModule } from "../project-module";

type ControlPlane = typeof import("../../lib/controlplane");

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

export function operatorClient(endpoints: readonly string[], rootCertificatePem: string, timeoutMs: number) {
  const { ControlPlaneClient } = projectModule<ControlPlane>("lib/controlplane");
  return new ControlPlaneClient({
    endpoints,
    identity: {
      trustAnchorsPem: rootCertificatePem,
      certificateChainPem: readNamedFile("ZEROROOT_OPERATOR_CERT", "operator.crt", "operator certificate"),
      privateKeyPem: readNamedFile("ZEROROOT_OPERATOR_KEY", "operator.key", "operator key"),
    },
    timeoutMs,
  });
}
