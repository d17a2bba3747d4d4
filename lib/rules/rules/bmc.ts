import { CIPHER_SUITES } from "../../contracts/resources";
import { UNKNOWN, finding, show, type Finding, type Rule } from "../types";
import type { BmcView } from "../views";

export interface BmcConfig {
  /** IPMI cipher suites zeroroot may use. @default - lib/contracts' CIPHER_SUITES */
  readonly allowedCipherSuites: readonly number[];
  /** IPMI protocol versions. @default - ["2.0"] (lanplus; 1.5 sends credentials weakly protected) */
  readonly allowedIpmiVersions: readonly string[];
}

const meta = {
  name: "bmc",
  description: `Checks that every BMC is driven over IPMI v2.0 (lanplus) with cipher suite ${CIPHER_SUITES.join(" or ")}, never cipher suite 0 (no authentication: any password is accepted), and that no BMC accepts suite 0.`,
  severity: "critical",
  remediation:
    'Set bmc.ipmiVersion "2.0" and bmc.cipherSuite 17 (or 3 where the BMC lacks 17); disable cipher suite 0 on the BMC (`ipmitool lan set <ch> cipher_privs` with suite 0 set to X).',
  invariant: "1-3. No SSH / zero password (out-of-band access)",
  defaults: { allowedCipherSuites: [...CIPHER_SUITES] as readonly number[], allowedIpmiVersions: ["2.0"] },
  configSchema: {
    allowedCipherSuites: { type: "array", items: { type: "integer" } },
    allowedIpmiVersions: { type: "array", items: { type: "string" } },
  },
} as const;

export const bmc: Rule<BmcView, BmcConfig> = {
  ...meta,
  defaults: meta.defaults,
  check(v, c) {
    const out: Finding[] = [];
    const f = (msg: string, path: string) => out.push(finding(meta, msg, v.ref, path));
    if (typeof v.cipherSuite === "number") {
      if (v.cipherSuite === 0)
        f(
          `bmc.cipherSuite is 0 (no authentication; any password is accepted); allowed: ${show(c.allowedCipherSuites)}`,
          "bmc.cipherSuite",
        );
      else if (!c.allowedCipherSuites.includes(v.cipherSuite))
        f(`bmc.cipherSuite is ${v.cipherSuite}; allowed: ${show(c.allowedCipherSuites)}`, "bmc.cipherSuite");
    }
    if (
      v.enabledCipherSuites !== undefined &&
      v.enabledCipherSuites !== UNKNOWN &&
      v.enabledCipherSuites.includes(0)
    )
      f(
        "the BMC accepts cipher suite 0 (no authentication); disable it on the BMC",
        "bmc.enabledCipherSuites",
      );
    if (typeof v.ipmiVersion === "string" && !c.allowedIpmiVersions.includes(v.ipmiVersion))
      f(
        `bmc.ipmiVersion is ${show(v.ipmiVersion)}; allowed: ${show(c.allowedIpmiVersions)}`,
        "bmc.ipmiVersion",
      );
    return out;
  },
};
