/**
 * The control-plane connection of zeroroot's providers that write to it (SoftwareRelease,
 * DesiredState), with the operator's identity (components/operator-identity.ts), like BmcServer.
 * Runs inside a serialised provider: it reaches lib/ through projectModule (see
 * components/project-module.ts).
 */
import { readOperatorIdentity } from "../operator-identity";
import { projectModule } from "../project-module";

export { readNamedFile } from "../operator-identity";

type ControlPlane = typeof import("../../lib/controlplane");

export function operatorClient(endpoints: readonly string[], rootCertificatePem: string, timeoutMs: number) {
  const { ControlPlaneClient } = projectModule<ControlPlane>("lib/controlplane");
  return new ControlPlaneClient({
    endpoints,
    identity: { trustAnchorsPem: rootCertificatePem, ...readOperatorIdentity() },
    timeoutMs,
  });
}
