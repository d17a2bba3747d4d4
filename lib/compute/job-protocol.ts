/**
 * What a node agent sends its site for a job certificate (POST /jobs/csr, mutual TLS with the
 * computer certificate) and what it gets back. The request names the owner the agent found in its
 * signed desired state; the site names the node itself (job-route.ts): the agent cannot choose it.
 */
import { z } from "zod";
import { JOB_CSR_MAX_BYTES } from "./job-csr";

export const JOB_CSR_ROUTE = "/jobs/csr";

/** Largest request body: the CSR, the owner and the lifetime, with room for JSON escaping. */
export const JOB_CSR_BODY_LIMIT = 2 * JOB_CSR_MAX_BYTES;

export const jobCsrRequestSchema = z.strictObject({
  /** The cluster's owner, `dc1/user/alice`, from the worker instance's `zeroroot.owner`. */
  owner: z.string().max(200),
  csrPem: z.string().max(JOB_CSR_MAX_BYTES),
  /** @default JOB_LIFETIME_DEFAULT_SECONDS (job-cert.ts) */
  lifetimeSeconds: z.number().optional(),
});

export type JobCsrRequest = z.infer<typeof jobCsrRequestSchema>;

export interface JobCsrResponse {
  readonly certificatePem: string;
  /** Issuing CA certificate then root. */
  readonly chainPem: string;
  readonly notAfter: string;
}
