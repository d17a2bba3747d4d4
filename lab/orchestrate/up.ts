/**
 * `zeroroot lab up`: from nothing to three data centers of servers that were powered on through
 * their BMCs, installed over the network without SSH, enrolled with certificates, and run an
 * unprivileged agent. Every step is idempotent; the deployment itself is the real stack programs
 * run through the lab runner (see runner.ts).
 */
import { spawn } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { startBmcSim } from "../bmc";
import { labNetUp } from "../net";
import { labServerCommand } from "../server";
import { doctor, formatDoctor } from "./doctor";
import { ensureControlPlane } from "./controlplane";
import { ensureLabImage } from "./image";
import {
  BMC_USER,
  bmcNs,
  DOMAIN,
  labLayout,
  mgmtNs,
  REPO_ROOT,
  serverNs,
  SITE_PORT,
  type LabLayout,
} from "./layout";
import { ensureLabPki, ensureLabSigners } from "./pki";
import { ensureLabRelease, labReleasesDir } from "./releases";
import { deployStack } from "./runner";
import { ensureSites } from "./sites";
import { writeLabStacks } from "./stacks";

const TSX = join(REPO_ROOT, "node_modules", ".bin", "tsx");

export class LabError extends Error {}

export async function labUp(
  opts: { serversPerDc?: number; log?: (m: string) => void } = {},
): Promise<LabLayout> {
  const log = opts.log ?? ((m: string) => process.stdout.write(`${m}\n`));
  const d = doctor();
  if (!d.root || d.missing.length > 0)
    throw new LabError(`the lab cannot start on this machine:\n${formatDoctor(d)}`);
  const started = Date.now();
  const step = (m: string) => log(`[${((Date.now() - started) / 1000).toFixed(1).padStart(6)} s] ${m}`);
  const lab = labLayout(opts.serversPerDc);
  const servers = lab.plan.dataCenters.flatMap((dc) => dc.servers.map((s) => ({ dc: dc.id, ...s })));
  step(`lab in ${lab.dir}: ${lab.plan.dataCenters.length} data centers, ${lab.serversPerDc} server(s) each`);

  const net = await labNetUp(lab.plan);
  step(`network: ${net.namespaces.length} namespaces`);
  const { rootPath } = ensureLabPki(lab, step);
  const image = await ensureLabImage(lab, step);
  await ensureControlPlane(lab, ensureLabPki(lab, () => undefined).rootPem, step);
  await ensureSites(lab, rootPath, image.sha256, step);

  mkdirSync(lab.paths.netboot, { recursive: true });
  for (const s of servers) {
    const dc = lab.plan.dataCenters.find((x) => x.id === s.dc)!;
    // The netboot configuration PXE would hand the server: where its site is, which interface it booted from.
    const command = [
      TSX,
      join(REPO_ROOT, "agents/installer/main.ts"),
      "--site-url",
      `https://${dc.managementServer.dataAddress}:${SITE_PORT}`,
      "--server-name",
      `site.${s.dc}.${DOMAIN}`,
      "--interface",
      "eth0",
      "--root-ca",
      rootPath,
    ];
    writeFileSync(join(lab.paths.netboot, `${s.id}.json`), JSON.stringify({ command }, null, 1) + "\n");
  }
  await Promise.all(
    servers.map((s) =>
      startBmcSim({
        serverId: s.id,
        netns: bmcNs(s.dc),
        address: s.bmcAddress,
        username: BMC_USER,
        password: lab.secrets.bmcPasswords[s.id],
        stateDir: join(lab.paths.bmc, s.id),
        bootCommand: [...labServerCommand(), "boot", s.id, "--netns", serverNs(s.id), "--device"],
        haltCommand: [...labServerCommand(), "halt", s.id],
      }),
    ),
  );
  step(`BMCs: ${servers.length} ipmi_sim instances on the management networks`);

  const signers = ensureLabSigners(lab);
  ensureLabRelease(lab, signers.release);
  const stacks = writeLabStacks(lab, ensureLabPki(lab, () => undefined).rootPem);
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
        {
          ZEROROOT_OPERATOR_CERT: lab.paths.operator.cert,
          ZEROROOT_OPERATOR_KEY: lab.paths.operator.key,
          ZEROROOT_STATE_SIGNER_CERT: signers.state.cert,
          ZEROROOT_STATE_SIGNER_KEY: signers.state.key,
        },
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
  step("every data center deployed");
  return lab;
}

function runChild(argv: string[], env: Record<string, string>, onLine: (l: string) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0], argv.slice(1), {
      env: { ...process.env, ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let tail = "";
    const feed = (chunk: Buffer) => {
      const text = tail + chunk.toString("utf8");
      const lines = text.split("\n");
      tail = lines.pop() ?? "";
      lines.filter(Boolean).forEach(onLine);
    };
    child.stdout.on("data", feed);
    child.stderr.on("data", feed);
    child.on("close", (code) => {
      if (tail) onLine(tail);
      if (code === 0) resolve();
      else reject(new Error(`exit ${code}`));
    });
  });
}
