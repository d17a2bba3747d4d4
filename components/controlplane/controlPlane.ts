/**
 * The control plane as the stacks see it: the etcd cluster's members (one per data center's
 * management server), their URLs, and the access plan (users and roles) computed by lib/controlplane.
 *
 * Thin on purpose: it creates no cloud resource and starts nothing. The site services on each
 * management server start their member and apply `accessPlan` with the root client certificate; the
 * stacks read `endpoints` to hand to agents. Nothing secret passes through here: no password exists,
 * and keys are made on the management servers.
 */
import * as pulumi from "@pulumi/pulumi";
import { buildAccessPlan, MEMBER_CN, type AccessPlan } from "../../lib/controlplane";

export const CONTROL_PLANE_TYPE = "zeroroot:controlplane:ControlPlane";

export interface ControlPlaneMemberArgs {
  /** Data center id; the member's name. */
  readonly dataCenter: string;
  /** Address of the management server on the data network, where the member listens. */
  readonly address: string;
}

export interface ControlPlaneArgs {
  /** The fleet's DNS domain; member `dcN` is `etcd.<dcN>.<domain>`, inside its issuing CA's name scope. */
  readonly domain: string;
  /** One member per data center (three for quorum with one data center lost). */
  readonly members: readonly ControlPlaneMemberArgs[];
  /** Every computer and its data center; each gets an etcd user (its certificate CN) and a role. */
  readonly computers: readonly { readonly id: string; readonly dc: string }[];
  /** CNs of operators' user certificates. @default - none */
  readonly operators?: readonly string[];
  /** @default 2379 */
  readonly clientPort?: number;
  /** @default 2380 */
  readonly peerPort?: number;
}

export interface ControlPlaneMember {
  readonly name: string;
  readonly dnsName: string;
  readonly address: string;
  readonly clientUrl: string;
  readonly peerUrl: string;
}

export interface ResolvedControlPlaneArgs {
  readonly members: readonly ControlPlaneMember[];
  readonly endpoints: readonly string[];
  readonly initialCluster: string;
  readonly accessPlan: AccessPlan;
}

/** Pure validation and derivation; throws messages naming the argument, the value and what is allowed. */
export function resolveControlPlaneArgs(args: ControlPlaneArgs): ResolvedControlPlaneArgs {
  const errs: string[] = [];
  const port = (p: number | undefined, d: number, at: string): number => {
    const v = p ?? d;
    if (!Number.isInteger(v) || v < 1 || v > 65535)
      errs.push(`${at}: ${String(p)} is not a TCP port (1-65535)`);
    return v;
  };
  const clientPort = port(args.clientPort, 2379, "clientPort");
  const peerPort = port(args.peerPort, 2380, "peerPort");
  if (clientPort === peerPort)
    errs.push(`clientPort and peerPort are both ${clientPort}; give two different ports`);
  if (args.members.length === 0 || args.members.length % 2 === 0) {
    errs.push(
      `members: ${args.members.length} given; give an odd number (3: one per data center) so that a majority survives losing one`,
    );
  }
  const dcs = args.members.map((m) => m.dataCenter);
  dcs.forEach(
    (dc, i) =>
      dcs.indexOf(dc) !== i &&
      errs.push(`members[${i}].dataCenter: "${dc}" has two members; give one per data center`),
  );
  if (errs.length) throw new Error(`ControlPlane args are invalid:\n  - ${errs.join("\n  - ")}`);
  // buildAccessPlan validates ids, data centers and CN collisions
  const accessPlan = buildAccessPlan({
    dataCenters: dcs,
    computers: args.computers,
    operators: args.operators,
  });
  const members = args.members.map((m) => {
    const dnsName = `etcd.${m.dataCenter}.${args.domain}`;
    return {
      name: m.dataCenter,
      dnsName,
      address: m.address,
      clientUrl: `https://${dnsName}:${clientPort}`,
      peerUrl: `https://${dnsName}:${peerPort}`,
    };
  });
  return {
    members,
    endpoints: members.map((m) => m.clientUrl),
    initialCluster: members.map((m) => `${m.name}=${m.peerUrl}`).join(","),
    accessPlan,
  };
}

export class ControlPlane extends pulumi.ComponentResource {
  declare public readonly members: pulumi.Output<ControlPlaneMember[]>;
  /** Client URLs for agents, site services and operators. */
  declare public readonly endpoints: pulumi.Output<string[]>;
  /** etcd's --initial-cluster value, the same on every member. */
  declare public readonly initialCluster: pulumi.Output<string>;
  /** The CN every member certificate carries; members accept peers with this CN only. */
  declare public readonly peerCommonName: pulumi.Output<string>;
  /** Users (certificate CNs) and roles the site services apply; contains no password. */
  declare public readonly accessPlan: pulumi.Output<AccessPlan>;

  constructor(name: string, args: ControlPlaneArgs, opts: pulumi.ComponentResourceOptions = {}) {
    super(CONTROL_PLANE_TYPE, name, {}, opts);
    let r: ResolvedControlPlaneArgs;
    try {
      r = resolveControlPlaneArgs(args);
    } catch (e) {
      throw new pulumi.ResourceError((e as Error).message, this);
    }
    this.members = pulumi.output(r.members.map((m) => ({ ...m })));
    this.endpoints = pulumi.output([...r.endpoints]);
    this.initialCluster = pulumi.output(r.initialCluster);
    this.peerCommonName = pulumi.output(MEMBER_CN);
    this.accessPlan = pulumi.output(r.accessPlan);
    this.registerOutputs({
      members: this.members,
      endpoints: this.endpoints,
      initialCluster: this.initialCluster,
      peerCommonName: this.peerCommonName,
      accessPlan: this.accessPlan,
    });
  }
}
