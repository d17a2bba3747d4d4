/**
 * The live side of `zeroroot drift`: the operator's control-plane identity (files, never values on
 * the command line), the BMC logins (drift-credentials.ts: the deployment state's managed login,
 * else the stack file's initial one, opened with the stack's passphrase), how each data center's
 * BMC network is reached (`--bmc-netns`), and the observers of lib/drift/observe. A control plane
 * that does not answer at all is an error (exit 1): the fleet was not judged, which is not drift.
 */
import { existsSync, readFileSync } from "node:fs";
import { relative } from "node:path";
import { ControlPlaneClient, keys } from "../../lib/controlplane";
import type { DesiredServer } from "../../lib/drift/desired";
import type { ObserveTarget } from "../../lib/drift/observe";
import type { ObservedServer } from "../../lib/drift/observed";
import type { RemediationActions, RemediationContext } from "../../lib/drift/remediate";
import { observeTargetOf } from "../../lib/drift/targets";
import { IpmitoolBmcClient, spawnRunner, type BmcEndpoint } from "../../lib/ipmi";
import { KEYS, readStackFile, stackFilesIn } from "../../lib/fleet";
import type { UserError } from "../errors";
import { bmcLogins } from "./drift-credentials";

interface LiveOptions {
  cert?: string;
  key?: string;
  ca?: string;
  dir?: string;
  probes: boolean;
  bmc: boolean;
  state?: string;
  bmcNetns?: string;
}

type Fail = (message: string) => UserError;

let context: RemediationContext | undefined;

export async function observeLive(
  desired: readonly DesiredServer[],
  stackFiles: ReadonlyMap<string, string>,
  opts: LiveOptions,
  fail: Fail,
): Promise<ObservedServer[]> {
  const certFile = opts.cert ?? process.env.ZEROROOT_OPERATOR_CERT;
  const keyFile = opts.key ?? process.env.ZEROROOT_OPERATOR_KEY;
  if (!certFile || !keyFile)
    throw fail(
      "the control plane needs the operator's certificate: give --cert and --key (or ZEROROOT_OPERATOR_CERT/KEY), or judge saved observations with --observed",
    );
  // Every local input first, so a missing one is named before anything is asked of the network.
  const logins = opts.bmc
    ? bmcLogins(desired, stackFiles, opts.state ?? process.env.ZEROROOT_DRIFT_STATE_DIR, fail, shown)
    : new Map();
  const targets: ObserveTarget[] = desired.map((d) => observeTargetOf(d, logins.get(d.server)));
  const netns = bmcNetnsOf(opts.bmcNetns ?? process.env.ZEROROOT_DRIFT_BMC_NETNS, fail);
  const read = (what: string, f: string) => {
    if (!existsSync(f)) throw fail(`${what} ${f}: no such file`);
    return readFileSync(f, "utf8");
  };
  const trust = opts.ca ? read("--ca", opts.ca) : rootOf(stackFiles, fail);
  const endpoints = [...new Set(desired.flatMap((d) => d.controlPlaneEndpoints))];
  if (endpoints.length === 0)
    throw fail("the stacks name no control-plane endpoint (is the global stack evaluated?)");
  let controlPlane: ControlPlaneClient;
  try {
    controlPlane = new ControlPlaneClient({
      endpoints,
      identity: {
        trustAnchorsPem: trust,
        certificateChainPem: read("--cert", certFile),
        privateKeyPem: read("--key", keyFile),
      },
    });
  } catch (e) {
    throw fail(`control plane: ${(e as Error).message}`);
  }
  try {
    // One read first: a control plane that cannot be reached at all means the fleet was not judged.
    await controlPlane.get(keys.desired(desired[0].server));
  } catch (e) {
    controlPlane.close();
    throw fail(
      `the control plane (${endpoints.join(", ")}) cannot be read: ${(e as Error).message.slice(0, 300)}`,
    );
  }
  context = { controlPlane, targets };
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { observeFleet } = require("../../lib/drift/observe") as typeof import("../../lib/drift/observe");
  bmcClient = (ep: BmcEndpoint) => {
    const ns = netns.get(targets.find((t) => t.server === ep.serverId)?.dataCenter ?? "");
    return new IpmitoolBmcClient(ep, ns ? { runner: spawnRunner(["ip", "netns", "exec", ns]) } : {});
  };
  return observeFleet(targets, { controlPlane, skipProbes: !opts.probes, bmcClient });
}

/** How the last observation reached each BMC: remediation reaches them the same way. */
let bmcClient: ((ep: BmcEndpoint) => IpmitoolBmcClient) | undefined;

const shown = (file: string) => relative(process.cwd(), file) || file;

/** A namespace name as `ip netns` accepts it (no path, no option). */
const NETNS = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

/**
 * `--bmc-netns dc1=ns1,dc2=ns2`: the network namespace ipmitool runs in for each data center's
 * BMCs (a management server that reaches each BMC network from its own namespace, as the lab's).
 * Data centers the run does not select are ignored: one setting serves `--all` and `--stack`.
 */
function bmcNetnsOf(value: string | undefined, fail: Fail): Map<string, string> {
  const out = new Map<string, string>();
  if (!value) return out;
  for (const part of value.split(",").slice(0, 64)) {
    const [dc, ns, extra] = part.split("=");
    const bad = (why: string) =>
      fail(
        `--bmc-netns ${JSON.stringify(part).slice(0, 80)}: ${why}; allowed: <data center>=<namespace>, comma-separated (e.g. dc1=mgmt-dc1,dc2=mgmt-dc2)`,
      );
    if (extra !== undefined || !dc || !ns) throw bad("not <data center>=<namespace>");
    if (!NETNS.test(ns)) throw bad("not a namespace name");
    out.set(dc, ns);
  }
  return out;
}

/** The remediation actions of lib/drift/observe/remediate.ts over the context of the last observation. */
export function remediationActions(desired: readonly DesiredServer[], fail: Fail): RemediationActions {
  let mod: {
    createRemediationActions?: typeof import("../../lib/drift/observe/remediate").createRemediationActions;
  };
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    mod = require("../../lib/drift/observe/remediate") as typeof mod;
  } catch {
    throw fail("--remediate: this build has no remediation actions (lib/drift/observe/remediate.ts)");
  }
  if (!mod.createRemediationActions)
    throw fail("--remediate: lib/drift/observe/remediate.ts exports no createRemediationActions");
  const targets: ObserveTarget[] = [
    ...(context?.targets ?? desired.map((d) => observeTargetOf(d, undefined))),
  ];
  return mod.createRemediationActions(
    { controlPlane: context?.controlPlane, targets },
    bmcClient ? { bmcClient } : {},
  );
}

/** The offline root certificate of the global stack beside the data-center stacks. */
function rootOf(stackFiles: ReadonlyMap<string, string>, fail: Fail): string {
  const dirs = [...new Set([...stackFiles.values()].map((f) => f.slice(0, f.lastIndexOf("/")) || "."))];
  for (const dir of dirs)
    for (const f of stackFilesIn(dir)) {
      const g = readStackFile(f).values[KEYS.global] as { rootCa?: { certificate?: unknown } } | undefined;
      if (typeof g?.rootCa?.certificate === "string") return g.rootCa.certificate;
    }
  throw fail("no offline root certificate in the global stack: give the trust anchors with --ca");
}
