/**
 * The job sockets the agent serves (docs/compute.md, "Job certificates"): one per instance that is
 * a worker of a user's cluster, `<instance dir>/jobs/agent.sock` (job-socket.ts), answering with
 * obtainJobCertificate bound to that instance's partition uid. Opened when the agent applies the
 * instance, before its programs start (a task may ask at once); closed, and its directory removed,
 * when the instance is destroyed or stops being a worker, and when the agent stops.
 */
import { rmSync } from "node:fs";
import type { Server } from "node:net";
import { join } from "node:path";
import { OWNER_PARAMETER } from "../../lib/compute/cluster-services";
import type { InstanceSpec } from "../../lib/contracts/resources";
import type { AgentContext } from "./context";
import { obtainJobCertificate } from "./job-cert";
import { serveJobSocket } from "./job-socket";

/** Whether the instance runs tasks of a user's cluster: the instances whose partition may ask. */
export const runsJobs = (spec: InstanceSpec): boolean =>
  spec.parameters.role === "worker" &&
  spec.parameters.cluster !== undefined &&
  spec.parameters[OWNER_PARAMETER] !== undefined;

interface Served {
  readonly server: Server;
  readonly instanceDir: string;
  readonly uid: number;
}

export class JobSockets {
  private readonly served = new Map<string, Served>();

  constructor(private readonly ctx: AgentContext) {}

  /** The instance names whose socket is open (for tests and the status report). */
  names(): string[] {
    return [...this.served.keys()].sort();
  }

  /**
   * Serves the instance's socket if it runs jobs, closes it if it no longer does. Idempotent: called
   * at every apply. Who asks is known from the socket, and the decision reads the desired state at
   * the time of the request (ctx.specs), so a socket outliving a change cannot act for a stale owner.
   */
  async ensure(spec: InstanceSpec, instanceDir: string): Promise<void> {
    const cur = this.served.get(spec.name);
    if (!runsJobs(spec)) {
      if (cur) await this.close(spec.name);
      return;
    }
    if (cur && cur.instanceDir === instanceDir && cur.uid === spec.partition.uid) return;
    if (cur) await this.close(spec.name);
    const uid = spec.partition.uid;
    const server = await serveJobSocket(
      instanceDir,
      (request) => obtainJobCertificate(this.ctx, uid, request),
      (m) => this.ctx.log(`instance ${spec.name}: ${m}`),
    );
    this.served.set(spec.name, { server, instanceDir, uid });
    this.ctx.log(`instance ${spec.name}: job socket open for the jobs of uid ${uid}`);
  }

  /**
   * Stops answering and removes the jobs directory (the agent's, which the partition user's wipe
   * could not delete). Nothing to do for an instance that had none.
   */
  async close(name: string): Promise<void> {
    const cur = this.served.get(name);
    if (!cur) return;
    this.served.delete(name);
    await new Promise<void>((resolve) => cur.server.close(() => resolve()));
    rmSync(join(cur.instanceDir, "jobs"), { recursive: true, force: true });
    this.ctx.log(`instance ${name}: job socket closed`);
  }

  async closeAll(): Promise<void> {
    for (const name of this.names()) await this.close(name);
  }
}

const byContext = new WeakMap<AgentContext, JobSockets>();

/** The agent's JobSockets (one per context: the open sockets last the agent's run). */
export function jobSocketsOf(ctx: AgentContext): JobSockets {
  let j = byContext.get(ctx);
  if (!j) {
    j = new JobSockets(ctx);
    byContext.set(ctx, j);
  }
  return j;
}
