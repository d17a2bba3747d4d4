/**
 * Checks of a data-center stack against the global stack it reads. A failure throws a
 * `pulumi.ResourceError` inside the Output every resource takes (the root certificate), so the
 * update fails with the message before any resource changes; `pulumi.log.error` inside an `apply`
 * would only print it and let the update go on.
 */
import * as pulumi from "@pulumi/pulumi";

export interface Expected {
  readonly domain: string;
  readonly dataCenter: string;
  readonly globalStack: string;
}

/** Why the global stack's outputs disagree with this stack, one message each; [] when they agree. */
export function globalMismatches(e: Expected, domain: unknown, dataCenters: unknown): string[] {
  const out: string[] = [];
  if (domain !== undefined && domain !== e.domain)
    out.push(
      `zeroroot:domain is ${JSON.stringify(e.domain)} but the global stack ${e.globalStack} has ${JSON.stringify(domain)}; use one domain for the fleet`,
    );
  if (dataCenters !== undefined && !(Array.isArray(dataCenters) && dataCenters.includes(e.dataCenter)))
    out.push(
      `data center ${JSON.stringify(e.dataCenter)} is not in the global stack's zeroroot:global.dataCenters (${Array.isArray(dataCenters) ? dataCenters.map((d) => JSON.stringify(d)).join(", ") : JSON.stringify(dataCenters)}); add it there first`,
    );
  return out;
}

/** The global stack's root certificate, released only once this stack agrees with the global one. */
export function checkAgainstGlobal(global: pulumi.StackReference, e: Expected): pulumi.Output<string> {
  return pulumi
    .all([
      global.getOutput("domain"),
      global.getOutput("dataCenters"),
      global.requireOutput("rootCertificatePem"),
    ])
    .apply(([domain, dataCenters, pem]) => {
      const problems = globalMismatches(e, domain, dataCenters);
      if (problems.length > 0)
        throw new pulumi.ResourceError(
          `stack for ${e.dataCenter} disagrees with the global stack:\n  - ${problems.join("\n  - ")}`,
          global,
        );
      return pem as string;
    });
}
