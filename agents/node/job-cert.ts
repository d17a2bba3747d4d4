/**
 * A job certificate for a worker partition, as the agent obtains it (docs/compute.md, "Job
 * certificates"): the decision is lib/compute/job-cert.ts over the instances of the desired state
 * the agent verified; the site signs (POST /jobs/csr) with the computer certificate's mutual TLS;
 * what comes back is checked to be exactly that: a job certificate of the owner, for the CSR's key.
 * A refusal raises an alert with the evidence (uid, instance, reason), never the CSR or a key.
 */
import { X509Certificate } from "node:crypto";
import { authoriseJobRequest } from "../../lib/compute/job-cert";
import { JOB_CSR_ROUTE, type JobCsrResponse } from "../../lib/compute/job-protocol";
import { formatIdentity, jobName, parseCsr, verifyIdentity } from "../../lib/pki";
import type { AgentContext } from "./context";

export class JobCertificateRefused extends Error {}

/** The platform's domain, from this computer's host name `<host>.<dc>.<domain>`; undefined if it is not one. */
export function domainOf(hostname: string, dataCenter: string): string | undefined {
  const at = hostname.indexOf(`.${dataCenter}.`);
  return at > 0 ? hostname.slice(at + dataCenter.length + 2) : undefined;
}

/** Asks the site for a job certificate for the partition of `uid`; throws JobCertificateRefused when refused. */
export async function obtainJobCertificate(
  ctx: AgentContext,
  uid: number,
  request: { readonly csrPem: unknown; readonly lifetimeSeconds?: unknown },
): Promise<JobCsrResponse> {
  const node = {
    dataCenter: ctx.node.dataCenter,
    computerId: ctx.node.name,
    hostname: ctx.cfg.hostname,
  };
  const decision = authoriseJobRequest(
    { uid, csrPem: request.csrPem, lifetimeSeconds: request.lifetimeSeconds },
    { node, domain: domainOf(node.hostname, node.dataCenter) ?? "", instances: [...ctx.specs.values()] },
  );
  if (!decision.ok) {
    ctx.alert(`job-certificate:${uid}:${decision.reason}`, {
      kind: "job-certificate-refused",
      severity: "warning",
      detail: `job certificate for uid ${uid} refused: ${decision.reason}: ${decision.detail}`,
      evidence: { uid, reason: decision.reason },
    });
    throw new JobCertificateRefused(`${decision.reason}: ${decision.detail}`);
  }
  if (!ctx.deps.site) throw new Error("the agent has no site to obtain a job certificate from");
  const owner = formatIdentity(decision.owner);
  const r = await ctx.deps.site.post<JobCsrResponse>(JOB_CSR_ROUTE, {
    owner,
    csrPem: request.csrPem,
    lifetimeSeconds: decision.lifetimeSeconds,
  });
  // The site is trusted to sign, not to sign the right thing: the answer must be a job certificate
  // of this owner, from this data center's CA, for the key the job holds.
  const issuing = /-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----/.exec(r.chainPem)?.[0] ?? "";
  const id = verifyIdentity([r.certificatePem, issuing], ctx.deps.rootPem, {
    use: "clientAuth",
    expect: { kinds: ["job"], dataCenters: [ctx.node.dataCenter] },
  });
  const cert = new X509Certificate(r.certificatePem);
  const key = parseCsr(String(request.csrPem)).publicKey;
  if (!id.ok || id.identity.name !== jobName(decision.owner) || !cert.publicKey.equals(key))
    throw new Error(
      `the site answered a certificate that is not ${owner}'s job certificate for this key (${id.ok ? formatIdentity(id.identity) : id.reason})`,
    );
  ctx.log(
    `job certificate for ${owner} to ${decision.instance} (serial ${cert.serialNumber}, until ${r.notAfter})`,
  );
  return r;
}
