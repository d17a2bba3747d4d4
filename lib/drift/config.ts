/**
 * `zeroroot:drift` in a data-center stack file: how drift detection judges that data center.
 *
 *   zeroroot:drift:
 *     staleReportSeconds: 900        # an agent report older than this is a finding
 *     certificateWarningDays: 14     # a certificate expiring within this is a finding
 *     alertWindowSeconds: 3600       # an agent alert is a finding this long after it was raised
 *     fence: [ssh-accepted, zero-root] # findings that power the server off through its BMC
 *
 * Fencing powers a server off: it is never a default, and only checks whose findings need a human
 * may trigger it (a finding the platform fixes itself is fixed, not fenced). Validated with the
 * file and line of each bad key, like the rest of the stack file.
 */
import { z } from "zod";
import { ConfigValidationError, describeValue, joinPath, type ConfigIssue } from "../fleet/issues";
import type { StackFile } from "../fleet/stack-file";
import { KEYS } from "../fleet/validate";
import { FENCEABLE } from "./checks";

export interface DriftConfig {
  /** @default 900 (15 minutes: agents report every minute) */
  readonly staleReportSeconds: number;
  /** @default 14 (agents renew service certificates 30 days before expiry) */
  readonly certificateWarningDays: number;
  /**
   * How long after it was raised an agent's alert is a finding (docs/drift.md "Agent alerts").
   * @default 3600 (four runs of the default 15-minute schedule see it)
   */
  readonly alertWindowSeconds: number;
  /** Check names whose findings fence the server (power off through its BMC). @default - [] (never) */
  readonly fence: readonly string[];
}

export const DRIFT_DEFAULTS: DriftConfig = {
  staleReportSeconds: 900,
  certificateWarningDays: 14,
  alertWindowSeconds: 3600,
  fence: [],
};

const schema = z
  .object({
    staleReportSeconds: z
      .number()
      .int()
      .min(60)
      .max(7 * 86_400)
      .optional(),
    certificateWarningDays: z.number().int().min(1).max(365).optional(),
    alertWindowSeconds: z
      .number()
      .int()
      .min(60)
      .max(30 * 86_400)
      .optional(),
    fence: z
      .array(z.string().max(64))
      .max(32)
      .optional()
      .refine((xs) => !xs || xs.every((x) => FENCEABLE.includes(x))),
  })
  .strict();

const ALLOWED: Record<string, string> = {
  staleReportSeconds: "an integer from 60 to 604800 (seconds)",
  certificateWarningDays: "an integer from 1 to 365 (days)",
  alertWindowSeconds: "an integer from 60 to 2592000 (seconds)",
  fence: `a list of check names that need a human: ${FENCEABLE.join(", ")}`,
};

/** The stack's drift settings over the defaults; throws ConfigValidationError naming each bad key. */
export function resolveDriftConfig(
  file: Pick<StackFile, "values" | "locate">,
  shownFile: string,
): DriftConfig {
  const raw = file.values[KEYS.drift];
  if (raw === undefined) return DRIFT_DEFAULTS;
  const where = (path: (string | number)[]) => {
    const found = file.locate?.([KEYS.drift, ...path]);
    return {
      path: joinPath([KEYS.drift, ...path]),
      file: shownFile,
      ...(found?.line ? { line: found.line } : {}),
    };
  };
  const parsed = schema.safeParse(raw);
  if (parsed.success)
    return {
      staleReportSeconds: parsed.data.staleReportSeconds ?? DRIFT_DEFAULTS.staleReportSeconds,
      certificateWarningDays: parsed.data.certificateWarningDays ?? DRIFT_DEFAULTS.certificateWarningDays,
      alertWindowSeconds: parsed.data.alertWindowSeconds ?? DRIFT_DEFAULTS.alertWindowSeconds,
      fence: parsed.data.fence ?? DRIFT_DEFAULTS.fence,
    };
  const issues: ConfigIssue[] = parsed.error.issues.map((issue) => {
    const path = issue.path.filter((p): p is string | number => typeof p !== "symbol");
    const key = typeof path[0] === "string" ? path[0] : undefined;
    const unknown = issue.code === "unrecognized_keys" ? issue.keys : undefined;
    const value = path.reduce<unknown>(
      (v, p) => (v && typeof v === "object" ? (v as Record<string | number, unknown>)[p] : undefined),
      raw,
    );
    return {
      ...where(unknown ? [unknown[0]] : path),
      received: unknown ? `an unknown key ${describeValue(unknown[0])}` : describeValue(value),
      allowed: key && ALLOWED[key] ? ALLOWED[key] : `a mapping with keys ${Object.keys(ALLOWED).join(", ")}`,
      fix:
        key === "fence"
          ? "name only checks whose findings need a human; the platform fixes the others itself"
          : "correct the value with `pulumi config set --path`",
    };
  });
  throw new ConfigValidationError(issues);
}
