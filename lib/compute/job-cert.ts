/**
 * Job certificates (docs/compute.md, "Job certificates"): a task on a Dask worker that needs a
 * datastore gets, through its node's agent, a certificate of kind `job` acting for the cluster's
 * owner, bound to this node and valid for minutes. This file is the agent's decision, pure:
 *
 * - who: the owner comes from the signed desired state (the `zeroroot.owner` parameter of the
 *   worker instance whose partition uid asked), never from the request, a CN or the job's word;
 *   only a partition running a *worker* of a user's cluster may ask (not a scheduler, not a
 *   datastore, not a partition the desired state no longer lists);
 * - what: the names are this node's (address in O and as IP SAN, host name as DNS SAN),
 *   the CSR may ask for nothing else (job-csr.ts), the lifetime is MIN_LIFETIME_SECONDS to the
 *   profile's hour.
 *
 * The site re-derives the node's names from the caller's computer certificate and connection
 * (agents/site/job-route.ts), so an agent cannot bind a certificate to another node either.
 */
import type { InstanceSpec } from "../contracts/resources";
import {
  escapeForMessage,
  formatIdentity,
  jobName,
  parseIdentity,
  PkiError,
  PROFILES,
  resolveLifetimeSeconds,
  type Authorisation,
  type Identity,
} from "../pki";
import { MIN_LIFETIME_SECONDS } from "../pki/profiles";
import { OWNER_PARAMETER } from "./cluster-services";
import { screenJobCsr } from "./job-csr";

/** @default lifetime of a job certificate: renewed every ~10 minutes, so a leaked one is worth little. */
export const JOB_LIFETIME_DEFAULT_SECONDS = 900;

/** The node the agent runs on, as its own computer certificate and configuration name it. */
export interface JobNode {
  readonly dataCenter: string;
  /** The computer's id, its certificate's CN (`dc2-c01`). */
  readonly computerId: string;
  /** Its host name in the data center's zone (`c01.dc2.zeroroot.example`). */
  readonly hostname: string;
  /**
   * Its address on the data network, the source address datastores see.
   * @default - unknown here: the CSR may not ask for an address; the site adds the one it sees
   */
  readonly address?: string;
}

export interface JobRequest {
  /** The uid of the process that asked (the partition whose socket it reached). */
  readonly uid: number;
  readonly csrPem: unknown;
  /** @default JOB_LIFETIME_DEFAULT_SECONDS */
  readonly lifetimeSeconds?: unknown;
}

export interface JobContext {
  readonly node: JobNode;
  /** The domain of the platform (zones are `<dc>.<domain>`). */
  readonly domain: string;
  /** The instances of the desired state this agent verified and applies, for this node only. */
  readonly instances: readonly InstanceSpec[];
}

export type JobRefusal = "not-a-worker" | "bad-owner" | "bad-csr" | "bad-lifetime" | "wrong-node";

export type JobDecision =
  | {
      readonly ok: true;
      readonly owner: Identity;
      readonly instance: string;
      readonly lifetimeSeconds: number;
    }
  | { readonly ok: false; readonly reason: JobRefusal; readonly detail: string };

const refuse = (reason: JobRefusal, detail: string): JobDecision => ({ ok: false, reason, detail });

/** Decides whether the partition of uid `req.uid` may have a job certificate, and with which names. */
export function authoriseJobRequest(req: JobRequest, ctx: JobContext): JobDecision {
  const lifetime = jobLifetime(req.lifetimeSeconds);
  if (typeof lifetime === "string") return refuse("bad-lifetime", lifetime);
  const { node } = ctx;
  const zone = `${node.dataCenter}.${ctx.domain}`;
  if (!node.hostname.endsWith(`.${zone}`))
    return refuse(
      "wrong-node",
      `host name ${escapeForMessage(node.hostname)} is not in ${zone}, this data center's zone`,
    );
  if (!node.computerId.startsWith(`${node.dataCenter}-`))
    return refuse(
      "wrong-node",
      `computer ${escapeForMessage(node.computerId)} is not of data center ${node.dataCenter}`,
    );
  const mine = ctx.instances.filter((i) => i.partition.uid === req.uid);
  if (mine.length !== 1)
    return refuse(
      "not-a-worker",
      `uid ${req.uid} is the partition of ${mine.length} instances of this node's desired state; only a Dask worker's partition may ask`,
    );
  const instance = mine[0];
  if (instance.parameters.role !== "worker" || instance.parameters.cluster === undefined)
    return refuse(
      "not-a-worker",
      `instance ${instance.name} (uid ${req.uid}) is not a worker of a user's cluster; only workers run jobs`,
    );
  const owner = parseIdentity(instance.parameters[OWNER_PARAMETER]);
  if (typeof owner === "string" || owner.kind !== "user")
    return refuse(
      "bad-owner",
      `instance ${instance.name} has no user as ${OWNER_PARAMETER}: ${typeof owner === "string" ? owner : formatIdentity(owner)}`,
    );
  const names = { commonName: jobName(owner), dnsName: node.hostname, ipAddress: node.address };
  const csr = screenJobCsr(req.csrPem, names);
  if (typeof csr === "string") return refuse("bad-csr", csr);
  return { ok: true, owner, instance: instance.name, lifetimeSeconds: lifetime };
}

/**
 * What the site signs for `owner`'s job on the node at `hostname`/`address`: CN the job name, O
 * and IP SAN the node's data address, DNS SAN its host name. The address is in the subject because
 * the datastores see only the subject (PostgreSQL's clientname=DN, MariaDB's REQUIRE SUBJECT) and
 * their stacks know every worker node by address (remoteComputeServers), not by computer id.
 */
export function jobAuthorisation(
  owner: Identity,
  node: { readonly hostname: string; readonly address: string },
  lifetimeSeconds: number,
): Authorisation & { readonly lifetimeSeconds: number } {
  return {
    commonName: jobName(owner),
    organization: node.address,
    dnsNames: [node.hostname],
    ipAddresses: [node.address],
    lifetimeSeconds,
  };
}

/** The lifetime asked for, bounded by the job profile; a message when it is not allowed. */
export function jobLifetime(asked: unknown): number | string {
  if (asked !== undefined && typeof asked !== "number")
    return `lifetimeSeconds is a ${typeof asked}; allowed: a whole number from ${MIN_LIFETIME_SECONDS} to ${PROFILES.job.maxLifetimeSeconds ?? 0}`;
  try {
    return resolveLifetimeSeconds(asked ?? JOB_LIFETIME_DEFAULT_SECONDS, PROFILES.job) as number;
  } catch (err) {
    if (err instanceof PkiError) return err.message;
    throw err;
  }
}

/**
 * Whether a job certificate valid from `notBefore` to `notAfter` is to be replaced at `now`: once a
 * third of its life is left, so a 15-minute certificate is renewed with 5 minutes to spare and a
 * job's helper that misses one attempt still has time for another.
 */
export function jobRenewalDue(notBefore: Date, notAfter: Date, now: Date): boolean {
  const life = notAfter.getTime() - notBefore.getTime();
  return now.getTime() >= notAfter.getTime() - life / 3;
}
