/**
 * POST /jobs/csr: a short-lived job certificate for a user's job on the calling computer
 * (docs/compute.md, "Job certificates"). The site names the node from what it verified itself —
 * the computer's certificate (which registered host name: the DNS SAN) and the address the
 * connection comes from (O and IP SAN) — so an agent cannot bind a certificate to another node. The owner is the agent's word: the site does not hold desired state. What limits a
 * lying agent is the datastores' side: they accept a job certificate of an owner only from the
 * nodes that run that owner's workers, by address and subject.
 */
import { formatIdentity, issueFromCsr, jobName, parseIdentity, PkiError } from "../../lib/pki";
import { jobAuthorisation, jobLifetime } from "../../lib/compute/job-cert";
import { screenJobCsr } from "../../lib/compute/job-csr";
import {
  JOB_CSR_BODY_LIMIT,
  JOB_CSR_ROUTE,
  jobCsrRequestSchema,
  type JobCsrRequest,
  type JobCsrResponse,
} from "../../lib/compute/job-protocol";
import type { SiteIdentity } from "./ca";
import { HttpError, quote } from "./http";
import type { Registry } from "./registry";
import type { Context, Route } from "./routes";

/** The connection's source address as a plain literal (`::ffff:10.0.0.1` → `10.0.0.1`). */
export function sourceAddress(ctx: Pick<Context, "req">): string {
  const a = ctx.req.socket.remoteAddress ?? "";
  return a.startsWith("::ffff:") && a.includes(".") ? a.slice(7) : a;
}

export function jobCsrRoute(id: SiteIdentity, registry: Registry, log: (msg: string) => void): Route {
  return {
    method: "POST",
    pattern: new RegExp(`^${JOB_CSR_ROUTE}$`),
    guard: "computer",
    body: { limit: JOB_CSR_BODY_LIMIT, schema: jobCsrRequestSchema },
    handle: (ctx, body) => {
      const b = body as JobCsrRequest;
      const server = ctx.peer && registry.server(ctx.peer.name);
      if (!server) throw new HttpError(403, "not a server of this site");
      const owner = parseIdentity(b.owner);
      if (typeof owner === "string" || owner.kind !== "user")
        throw new HttpError(
          400,
          `owner: ${typeof owner === "string" ? owner : `${formatIdentity(owner)} is not a user`}`,
        );
      const lifetimeSeconds = jobLifetime(b.lifetimeSeconds);
      if (typeof lifetimeSeconds === "string")
        throw new HttpError(400, `lifetimeSeconds: ${lifetimeSeconds}`);
      const names = { commonName: jobName(owner), dnsName: server.hostname, ipAddress: sourceAddress(ctx) };
      const csr = screenJobCsr(b.csrPem, names);
      if (typeof csr === "string") throw new HttpError(400, `CSR refused: ${csr}`);
      try {
        const issued = issueFromCsr(
          id.ca,
          "job",
          b.csrPem,
          jobAuthorisation(owner, { hostname: server.hostname, address: names.ipAddress }, lifetimeSeconds),
        );
        log(
          `job certificate ${names.commonName} for ${server.serverId} at ${quote(names.ipAddress)} (serial ${issued.serial}, until ${issued.notAfter.toISOString()})`,
        );
        const answer: JobCsrResponse = {
          certificatePem: issued.certificatePem,
          chainPem: id.chainPem,
          notAfter: issued.notAfter.toISOString(),
        };
        return [200, answer];
      } catch (err) {
        if (err instanceof PkiError) throw new HttpError(400, `CSR refused: ${err.message}`);
        throw err;
      }
    },
  };
}
