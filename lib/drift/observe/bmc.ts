/**
 * The BMC observer: power state and boot device, read through lib/ipmi (IPMI v2.0 lanplus, cipher
 * suites 3/17 only, never SSH). The provider's BmcServer `read` calls the same function, so
 * `pulumi refresh` and `zeroroot drift` see the same thing.
 */
import type { BmcClient } from "../../ipmi";
import type { BmcObservation, ObservationError } from "../observed";
import { reasonOf, withDeadline } from "./bounded";

/** Power, then boot device (ipmi_sim and some BMCs dislike two sessions at once). Throws BmcError. */
export async function readBmc(bmc: BmcClient): Promise<BmcObservation> {
  const power = await bmc.getPower();
  const boot = await bmc.getBootDevice();
  return { power, bootDevice: boot.device };
}

/** readBmc bounded by `timeoutMs`; an unreadable BMC is an observation error naming why. */
export async function observeBmc(
  bmc: BmcClient,
  timeoutMs: number,
): Promise<BmcObservation | ObservationError> {
  try {
    return await withDeadline(
      readBmc(bmc),
      timeoutMs,
      `the BMC of ${bmc.endpoint.serverId} (${bmc.endpoint.address})`,
    );
  } catch (e) {
    return { error: reasonOf(e) };
  }
}
