/**
 * Runs the real `zeroroot drift` binary on the lab as an operator does: from the management
 * network (dc1's management namespace, which reaches the control plane and every server's data
 * address), with every input from the environment or a file as docs/drift.md lists them — the
 * operator's certificate, the lab's stacks and releases, the deployments' state (the managed BMC
 * logins), the stack passphrase file, and the namespace of each data center's BMC network.
 * No secret is on the command line.
 */
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { labReleasesDir } from "../../../lab/orchestrate/releases";
import { mgmtNs, REPO_ROOT, type LabLayout } from "../../../lab/orchestrate/layout";

export interface CliRun {
  readonly code: number | null;
  readonly out: string;
  readonly err: string;
}

/** The environment `zeroroot drift` reads its inputs from, for this lab. */
export function driftEnv(lab: LabLayout): Record<string, string> {
  return {
    ZEROROOT_OPERATOR_CERT: lab.paths.operator.cert,
    ZEROROOT_OPERATOR_KEY: lab.paths.operator.key,
    ZEROROOT_RELEASES_DIR: labReleasesDir(lab),
    ZEROROOT_DRIFT_STATE_DIR: lab.paths.state,
    ZEROROOT_DRIFT_BMC_NETNS: lab.plan.dataCenters.map((d) => `${d.id}=${mgmtNs(d.id)}`).join(","),
    // written 0600 by `lab up`; the CLI reads it as the Pulumi CLI does
    PULUMI_CONFIG_PASSPHRASE_FILE: join(lab.dir, "stack-passphrase"),
    // the desired-state signer, for --remediate's requests to agents
    ZEROROOT_STATE_SIGNER_CERT: join(lab.dir, "signers", "lab-state-signer.crt"),
    ZEROROOT_STATE_SIGNER_KEY: join(lab.dir, "signers", "lab-state-signer.key"),
  };
}

/**
 * `./bin/zeroroot drift --dir <stacks> --ca <root> --no-history <args>`, from dc1's management
 * namespace, or from this machine's own namespace (`from: "host"`, which reaches no lab network).
 */
export function driftCli(lab: LabLayout, args: string[], from: "mgmt" | "host" = "mgmt"): CliRun {
  const argv = [
    join(REPO_ROOT, "bin/zeroroot"),
    "drift",
    "--dir",
    lab.paths.stacks,
    "--ca",
    join(lab.dir, "root.pem"),
    "--no-history",
    ...args,
  ];
  const [file, ...rest] = from === "mgmt" ? ["ip", "netns", "exec", mgmtNs("dc1"), ...argv] : argv;
  const env = { ...process.env, ...driftEnv(lab) };
  delete env.PULUMI_CONFIG_PASSPHRASE;
  const r = spawnSync(file, rest, { cwd: REPO_ROOT, env, encoding: "utf8", timeout: 600_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

export interface Outcome {
  readonly step: { action: string; server: string; target?: string };
  readonly ok: boolean;
  readonly error?: string;
}

/** `--remediate`'s outcome lines on standard error: `remediate: <action> <server> [<target>]: done|failed: …`. */
export function outcomesOf(stderr: string): Outcome[] {
  return stderr
    .split("\n")
    .map((l) => /^remediate: (\S+) (\S+)(?: (\S+))?: (done|failed: (.*))$/.exec(l))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => ({
      step: { action: m[1], server: m[2], ...(m[3] ? { target: m[3] } : {}) },
      ok: m[4] === "done",
      ...(m[5] !== undefined ? { error: m[5] } : {}),
    }));
}
