/**
 * `zeroroot:dataCenter.bmcCredentials`: how the BMC credentials nobody knows are made and rotated
 * (docs/bmc.md). The password is regenerated when its keeper changes; the keeper is the rotation
 * period the deployment runs in (`2026-Q4` for quarterly) plus a generation an operator bumps to
 * rotate now. The period is computed by the stack program from the clock it runs at, so a
 * `pulumi up` (or a scheduled one) in a new period rotates every BMC of the data center.
 */
import { z } from "zod";

export const BMC_ROTATIONS = ["monthly", "quarterly", "yearly"] as const;
export type BmcRotation = (typeof BMC_ROTATIONS)[number];

const userId = z
  .number({ error: "a BMC user id, a whole number from 2 to 63 (1 is the anonymous user)" })
  .int({ error: "a BMC user id, a whole number from 2 to 63" })
  .min(2, { error: "a BMC user id from 2 to 63 (1 is the anonymous user)" })
  .max(63, { error: "a BMC user id from 2 to 63" });

export const bmcCredentialsSchema = z
  .strictObject({
    /** How often a new password is made. */
    rotation: z.enum(BMC_ROTATIONS, { error: `one of ${BMC_ROTATIONS.join(", ")}` }).default("quarterly"),
    /** Bump to rotate every BMC of the data center now (e.g. after a suspected leak). */
    generation: z
      .number({ error: "a whole number from 0 to 1000000, bumped to rotate now" })
      .int({ error: "a whole number from 0 to 1000000, bumped to rotate now" })
      .min(0, { error: "a whole number from 0 to 1000000" })
      .max(1_000_000, { error: "a whole number from 0 to 1000000" })
      .default(0),
    /** The two user ids zeroroot alternates between; they must be free or zeroroot's. */
    userIds: z
      .tuple([userId, userId], { error: "two distinct BMC user ids, e.g. [3, 4]" })
      .refine(([a, b]) => a !== b, { error: "two distinct BMC user ids, e.g. [3, 4]" })
      .default([3, 4]),
    /** The BMC's LAN channel. */
    channel: z
      .number({ error: "the BMC's LAN channel, 1 to 15" })
      .int({ error: "the BMC's LAN channel, 1 to 15" })
      .min(1, { error: "the BMC's LAN channel, 1 to 15" })
      .max(15, { error: "the BMC's LAN channel, 1 to 15" })
      .default(1),
    /** Managed users are `<usernameBase>-a` and `<usernameBase>-b`. */
    usernameBase: z
      .string({ error: "1-14 of [a-z0-9-], starting with a letter" })
      .regex(/^[a-z][a-z0-9-]{0,13}$/, { error: "1-14 of [a-z0-9-], starting with a letter" })
      .default("zeroroot"),
    /**
     * 16 (works with every IPMI v2.0 BMC, and with ipmi_sim, which refuses logins with 20-byte
     * passwords) or 20 (IPMI v2.0's longest).
     */
    passwordBytes: z
      .union([z.literal(16), z.literal(20)], { error: "16 or 20 (bytes of the IPMI password field)" })
      .default(16),
  })
  .default({
    rotation: "quarterly",
    generation: 0,
    userIds: [3, 4],
    channel: 1,
    usernameBase: "zeroroot",
    passwordBytes: 16,
  });

export type BmcCredentialsConfig = z.output<typeof bmcCredentialsSchema>;

/** The rotation period `at` falls in (UTC): `2026-12`, `2026-Q4` or `2026`. */
export function rotationPeriod(rotation: BmcRotation, at: Date): string {
  if (Number.isNaN(at.getTime())) throw new RangeError("rotationPeriod: invalid date");
  const year = at.getUTCFullYear();
  const month = at.getUTCMonth() + 1;
  switch (rotation) {
    case "monthly":
      return `${year}-${String(month).padStart(2, "0")}`;
    case "quarterly":
      return `${year}-Q${Math.ceil(month / 3)}`;
    case "yearly":
      return `${year}`;
  }
}

/** The BmcCredential's keepers: the plugin makes a new password whenever one of them changes. */
export function bmcPasswordKeepers(c: BmcCredentialsConfig, at: Date): Record<string, string> {
  return { period: rotationPeriod(c.rotation, at), generation: String(c.generation) };
}
