/** A compliant captured stack (as `zeroroot policy check` captures it under mocks) and its config. */
import { dynamicType, type ResourceKind } from "../../../lib/contracts/resources";
import type { CapturedResource, PackConfig } from "../../../policies/policies";
import { SECRET_SIG, SPECIAL_SIG_KEY } from "../../../policies/secrets";
import {
  bmcServer,
  clone,
  desiredState,
  image,
  makeSigners,
  releaseOf,
  serviceCertificate,
} from "../rules/fixtures";

export const wrapSecret = (value: unknown) => ({ [SPECIAL_SIG_KEY]: SECRET_SIG, value });
export const urnOf = (kind: ResourceKind, name: string, stack = "dc1") =>
  `urn:pulumi:${stack}::zeroroot::${dynamicType(kind)}::${name}`;

export const captured = (
  kind: ResourceKind,
  name: string,
  props: unknown,
  protect = false,
): CapturedResource => ({
  type: dynamicType(kind),
  name,
  urn: urnOf(kind, name),
  props: props as Record<string, unknown>,
  opts: { protect },
});

export async function compliantStack(): Promise<{ resources: CapturedResource[]; config: PackConfig }> {
  const s = await makeSigners();
  const bmc = clone(bmcServer);
  bmc.bmc.password = wrapSecret(bmc.bmc.password);
  const dc2 = clone(desiredState);
  dc2.computerId = "dc2-s01";
  dc2.dataCenter = "dc2";
  return {
    resources: [
      captured("BmcServer", "dc1-s01-bmc", bmc),
      captured("HardenedImage", "dc1-image", image),
      captured("Certificate", "mariadb-1-cert", serviceCertificate),
      captured("SoftwareRelease", "mariadb-galera-10.11.6-1", releaseOf(s.pem)),
      captured("DesiredState", "dc1-s01-state", desiredState, true),
      captured("DesiredState", "dc2-s01-state", dc2, true),
      // A resource that is not zeroroot's is ignored.
      {
        type: "pulumi:pulumi:Stack",
        name: "zeroroot-dc1",
        urn: "urn:pulumi:dc1::zeroroot::pulumi:pulumi:Stack::zeroroot-dc1",
        props: {},
      },
    ],
    config: { "signed-software": { authorisedSigners: [{ fingerprint: s.fingerprint }] } },
  };
}
