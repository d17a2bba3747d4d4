/**
 * Per-user egress on the node (issue #12, docs/compute.md): before an instance owned by a user
 * (`zeroroot.owner` in its signed parameters) starts, the agent has PID 1 restrict its partition's
 * uid to the endpoints of `zeroroot.egress`. The agent cannot load nftables; it writes the rules,
 * in the one shape PID 1 accepts, to `<egressDir>/<partition>.rules` (its own directory) and asks
 * `egress <partition>` on PID 1's socket; PID 1 re-validates the file and builds the ruleset itself
 * (agents/init/init_egress.py). A refusal fails the instance's apply, so it does not start
 * unrestricted. Once the partition is emptied, `egress-clear` lifts the restriction for its next
 * (maybe platform) instance.
 */
import { existsSync, rmSync } from "node:fs";
import { join } from "node:path";
import {
  EGRESS_PARAMETER,
  OWNER_PARAMETER,
  parseEgressParameter,
  renderPartitionEgressRules,
} from "../../lib/compute/egress-desired";
import type { InstanceSpec } from "../../lib/contracts/resources";
import { writeFileAtomic } from "./atomic";
import type { AgentContext } from "./context";
import { askInit, InitRequestError } from "./partitions";

export class PartitionEgress {
  /** Rules PID 1 accepted, per partition, in this agent run: unchanged rules are not asked again. */
  private readonly loaded = new Map<string, string>();

  constructor(
    private readonly initSocket: string,
    private readonly dir: string,
    private readonly log: (msg: string) => void,
  ) {}

  /**
   * Restricts the instance's partition when the instance has an owner; a user instance without
   * `zeroroot.egress` may reach nothing. Without PID 1's socket (an image whose PID 1 takes no
   * requests, the agent's fixtures) there is nobody to ask, and nothing is written.
   */
  async apply(spec: InstanceSpec): Promise<void> {
    if (spec.parameters[OWNER_PARAMETER] === undefined || !existsSync(this.initSocket)) return;
    const user = spec.partition.user;
    const endpoints = parseEgressParameter(
      spec.parameters[EGRESS_PARAMETER] ?? "",
      `instance ${spec.name}: parameter ${EGRESS_PARAMETER}`,
    );
    const rules = renderPartitionEgressRules(spec.partition.uid, endpoints);
    if (this.loaded.get(user) === rules) return;
    writeFileAtomic(join(this.dir, `${user}.rules`), rules, 0o640);
    const answer = await askInit(this.initSocket, `egress ${user}`);
    if (answer === undefined) return;
    if (!answer.startsWith("ok "))
      throw new InitRequestError(`PID 1 did not load the egress rules of ${user} (${spec.name}): ${answer}`);
    this.loaded.set(user, rules);
    this.log(`partition ${user}: egress restricted to ${endpoints.length} endpoint(s) (${answer})`);
  }

  /**
   * Lifts the restriction of an emptied partition, if the agent ever wrote rules for it (the file
   * outlives an agent restart); the file goes once PID 1 has dropped the partition's table.
   */
  async clear(user: string): Promise<void> {
    const file = join(this.dir, `${user}.rules`);
    if (!existsSync(file) || !existsSync(this.initSocket)) return;
    const answer = await askInit(this.initSocket, `egress-clear ${user}`);
    if (answer !== undefined && !answer.startsWith("ok "))
      throw new InitRequestError(`PID 1 did not clear the egress rules of ${user}: ${answer}`);
    this.loaded.delete(user);
    rmSync(file, { force: true });
    this.log(`partition ${user}: egress restriction lifted (${answer})`);
  }
}

const byContext = new WeakMap<AgentContext, PartitionEgress>();

/** The agent's PartitionEgress (one per context, so its memory of loaded rules lasts the run). */
export function egressOf(ctx: AgentContext): PartitionEgress {
  let e = byContext.get(ctx);
  if (!e) {
    e = new PartitionEgress(ctx.cfg.paths.initSocket, ctx.cfg.paths.egressDir, (m) => ctx.log(m));
    byContext.set(ctx, e);
  }
  return e;
}
