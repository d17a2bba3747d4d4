/**
 * `zeroroot lab up`: from nothing to three data centers of servers that were powered on through
 * their BMCs, installed over the network without SSH, enrolled with certificates, and run an
 * unprivileged agent. Every step is idempotent; the deployment itself is the real stack programs
 * run through the lab runner (see runner.ts). Then it reads what exists and converges from any
 * leftover state (converge.ts): "done" is said only of servers read as running and ready.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { labNetUp } from "../net";
import { doctor, formatDoctor } from "./doctor";
import { ensureControlPlane, refreshControlPlaneRevocations } from "./controlplane";
import type { ServerResult } from "./converge";
import { runChild } from "./child";
import { waitForDesiredStatesApplied } from "./desired-applied";
import { DATASTORE_HEALTH_TIMEOUT_MS, formatUnhealthy, waitForDatastores } from "./datastore-health";
import { bundleLabTools, labToolsDir } from "../server/tools";
import { ensureLabImages } from "./image";
import { labLayout, mgmtNs, REPO_ROOT, type LabLayout } from "./layout";
import { ensureLabCrls, ensureLabPki, ensureLabSigners } from "./pki";
import { ensureLabRelease, labReleasesDir } from "./releases";
import { deployStack } from "./runner";
import {
  convergeAll,
  decommission,
  ensureBmcs,
  extraServers,
  planServers,
  powerOff,
  writeNetbootFiles,
} from "./servers";
import { ensureSites } from "./sites";
import { labServerImages, writeLabStacks } from "./stacks";

const TSX = join(REPO_ROOT, "node_modules", ".bin", "tsx");

export class LabError extends Error {}

/** `lab up` read servers that did not converge; each is named with what was read last. */
export class NotConvergedError extends LabError {
  constructor(readonly results: readonly ServerResult[]) {
    const bad = results.filter((r) => !r.converged);
    super(
      `${bad.length} of ${results.length} server(s) did not converge:\n` +
        bad
          .map(
            (r) =>
              `  ${r.id}: ${r.why ?? "not converged"}\n    saw: ${r.seen}` +
              (r.acted.length > 0 ? `\n    did: ${r.acted.join("; ")}` : ""),
          )
          .join("\n") +
        "\n(run `zeroroot lab up` again, or `zeroroot lab status` to see each server)",
    );
  }
}

export async function labUp(
  opts: { serversPerDc?: number; log?: (m: string) => void; datastoreTimeoutMs?: number } = {},
): Promise<LabLayout> {
  const log = opts.log ?? ((m: string) => process.stdout.write(`${m}\n`));
  const d = doctor();
  if (!d.root || d.missing.length > 0)
    throw new LabError(`the lab cannot start on this machine:\n${formatDoctor(d)}`);
  const started = Date.now();
  const step = (m: string) => log(`[${((Date.now() - started) / 1000).toFixed(1).padStart(6)} s] ${m}`);
  const lab = labLayout(opts.serversPerDc);
  const servers = planServers(lab);
  const resized =
    lab.previousServersPerDc !== undefined && lab.previousServersPerDc !== lab.serversPerDc
      ? ` (was ${lab.previousServersPerDc})`
      : "";
  step(
    `lab ${lab.id || "(yours)"} in ${lab.dir}: ${lab.plan.dataCenters.length} data centers, ${lab.serversPerDc} server(s) each${resized}`,
  );

  const net = await labNetUp(lab.plan);
  step(`network: ${net.namespaces.length} namespaces`);
  const { rootPath } = ensureLabPki(lab, step);
  // one image per server role; the stacks' HardenedImage checks the storage one (docs/hardening.md)
  const images = await ensureLabImages(lab, step);
  const image = images.storage;
  const crls = ensureLabCrls(lab);
  await ensureControlPlane(lab, ensureLabPki(lab, () => undefined).rootPem, crls, step);
  await ensureSites(lab, rootPath, image.sha256, crls, step, labServerImages(lab.plan, images));
  await refreshControlPlaneRevocations(lab, crls, step);

  // Servers the lab no longer has (a smaller --servers-per-dc, or leftovers), read from the machine:
  // powered off before the stacks forget them, decommissioned after.
  const extra = await extraServers(lab);
  if (extra.length > 0) {
    step(`decommissioning ${extra.length} server(s) the lab no longer has: ${extra.join(", ")}`);
    await powerOff(lab, extra, step);
  }
  // the BMC hooks and the installer as bundles: tsx's start is most of an install's CPU (lab/server/tools.ts)
  await bundleLabTools(labToolsDir(lab.dir));
  writeNetbootFiles(lab, rootPath);
  await ensureBmcs(lab);
  step(`BMCs: ${servers.length} ipmi_sim instances on the management networks`);

  const signers = ensureLabSigners(lab);
  ensureLabRelease(lab, signers.release);
  const stacks = writeLabStacks(lab, ensureLabPki(lab, () => undefined).rootPem, {
    sha256: image.sha256,
    dir: resolve(dirname(image.path)),
  });
  const global = await deployStack(stacks.global, {
    statePath: join(lab.paths.state, "global.json"),
    releasesDir: labReleasesDir(lab),
    log: (m) => step(`[global] ${m}`),
  });
  mkdirSync(lab.paths.state, { recursive: true, mode: 0o700 });
  const outputsFile = join(lab.paths.state, "global-outputs.json");
  writeFileSync(outputsFile, JSON.stringify({ "organization/zeroroot/global": global.outputs }));
  const passFile = join(lab.dir, "stack-passphrase");
  writeFileSync(passFile, lab.secrets.stackPassphrase, { mode: 0o600 });
  step("global stack deployed; deploying the data-center stacks from their management networks");

  const deployEnv = {
    ZEROROOT_OPERATOR_CERT: lab.paths.operator.cert,
    ZEROROOT_OPERATOR_KEY: lab.paths.operator.key,
    ZEROROOT_STATE_SIGNER_CERT: signers.state.cert,
    ZEROROOT_STATE_SIGNER_KEY: signers.state.key,
  };
  const results = await Promise.allSettled(
    lab.plan.dataCenters.map((dc) =>
      runChild(
        [
          "ip",
          "netns",
          "exec",
          mgmtNs(dc.id),
          TSX,
          join(__dirname, "deploy-cli.ts"),
          "--stack-file",
          stacks.dataCenters[dc.id],
          "--state",
          join(lab.paths.state, `${dc.id}.json`),
          "--outputs-in",
          outputsFile,
          "--outputs-out",
          join(lab.paths.state, `${dc.id}-outputs.json`),
          "--passphrase-file",
          passFile,
          "--releases-dir",
          labReleasesDir(lab),
        ],
        deployEnv,
        (line) => step(`[${dc.id}] ${line}`),
      ),
    ),
  );
  const failed = results.flatMap((r, i) =>
    r.status === "rejected" ? [`${lab.plan.dataCenters[i].id}: ${(r.reason as Error).message}`] : [],
  );
  if (failed.length > 0)
    throw new LabError(
      `deployment failed:\n  ${failed.join("\n  ")}\n(run \`zeroroot lab status\` to see each server)`,
    );
  step("stacks deployed");

  if (extra.length > 0) await decommission(lab, extra, step);
  step(`reading every server and converging it (${servers.length} servers)`);
  const converged = await convergeAll(lab, deployEnv, step);
  for (const r of converged)
    if (r.converged && r.acted.length > 0) step(`${r.id}: converged after ${r.acted.join("; ")}`);
  if (converged.some((r) => !r.converged)) throw new NotConvergedError(converged);
  step(`every data center deployed; ${converged.length} servers read as running and ready`);
  const notApplied = await waitForDesiredStatesApplied(lab, step);
  if (notApplied.length > 0)
    throw new LabError(
      `desired state not applied in time:\n  ${notApplied.join("\n  ")}\n(run \`zeroroot lab status\`)`,
    );
  const timeout = opts.datastoreTimeoutMs ?? DATASTORE_HEALTH_TIMEOUT_MS;
  const unhealthy = await waitForDatastores(lab, Object.values(stacks.dataCenters), step, timeout);
  if (unhealthy.length > 0) throw new LabError(formatUnhealthy(unhealthy, timeout));
  return lab;
}
