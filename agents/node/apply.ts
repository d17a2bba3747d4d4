/**
 * Applying a plan's actions to the partitions: rendering an instance's programs and files, obtaining
 * its service certificate, reloading the partition's supervisord, and destroying an instance (its
 * data wiped by the partition user itself).
 */
import { existsSync, readFileSync, rmSync, unlinkSync } from "node:fs";
import { join } from "node:path";
import type { InstanceSpec } from "../../lib/contracts/resources";
import type { ReleaseManifest } from "../../lib/release";
import { mergePersistence } from "../../lib/agent/persistence";
import type { Action } from "../../lib/agent/plan";
import { releaseKey } from "../../lib/agent/releases";
import { CONF_FILE, renderInstance, RenderError } from "../../lib/agent/render";
import type { InstanceRecord } from "../../lib/agent/state";
import { writeFileAtomic } from "./atomic";
import type { AgentContext } from "./context";
import { egressOf } from "./egress";
import { jobSocketsOf } from "./job-sockets";
import { ensureServiceCertificate } from "./service-cert";
import { Supervisor } from "./supervisor";

const WIPE_CONF = "zeroroot-wipe.conf";

export async function executeAction(ctx: AgentContext, a: Action): Promise<void> {
  switch (a.kind) {
    case "refuse":
      ctx.refusals.set(a.name, { reason: a.reason, detail: a.detail });
      if (a.reason !== "release-refused")
        ctx.alert(`refuse:${a.name}:${a.reason}`, {
          kind: "instance-refused",
          severity: "warning",
          instance: a.name,
          detail: a.detail,
          evidence: { reason: a.reason },
        });
      return;
    case "keep-stopped":
      return;
    case "retain":
      await ctx.partitions.ensureUp(a.record.partition.user);
      ctx.setRecord(a.record.name, { ...a.record, phase: "retained" });
      ctx.alert(`persist:${a.record.name}`, {
        kind: "persistence-refused",
        severity: "critical",
        instance: a.record.name,
        detail: `destroy of data-holding instance ${a.record.name} refused: its minimum persistence time runs until ${a.until.toISOString()} (${a.remainingSeconds} s left); it keeps running`,
        evidence: {
          createdAt: a.record.createdAt,
          minimumPersistenceSeconds: a.record.minimumPersistenceSeconds,
          until: a.until.toISOString(),
        },
      });
      return;
    case "destroy":
      await destroyInstance(ctx, a.record);
      return;
    case "apply":
      await applyInstance(ctx, a.spec, a.manifest, a.manifestDigest);
      return;
  }
}

/** The instance an action is about, for the alert when it fails. */
export function actionInstance(a: Action): string {
  return a.kind === "refuse" ? a.name : a.kind === "apply" ? a.spec.name : a.record.name;
}

async function applyInstance(
  ctx: AgentContext,
  spec: InstanceSpec,
  manifest: ReleaseManifest,
  digest: string,
): Promise<void> {
  ctx.refusals.delete(spec.name);
  const p = ctx.paths(spec.partition.user);
  const prev = ctx.state.instances[spec.name];
  let r;
  try {
    r = renderInstance({
      spec,
      manifest,
      paths: p,
      releaseDir: join(ctx.cfg.paths.releasesDir, releaseKey(manifest)),
    });
  } catch (e) {
    if (!(e instanceof RenderError)) throw e;
    ctx.refusals.set(spec.name, { reason: "render-refused", detail: e.message });
    ctx.alert(`render:${spec.name}:${e.message}`, {
      kind: "instance-refused",
      severity: "warning",
      instance: spec.name,
      detail: e.message,
      evidence: { reason: "render-refused" },
    });
    return;
  }
  if (manifest.ports.some((x) => x.tls)) {
    await serviceCertificate(ctx, spec, p.instanceDir);
    instanceCrls(ctx, p.instanceDir);
  }
  const confFile = join(p.confD, CONF_FILE);
  await ctx.partitions.ensureUp(spec.partition.user);
  // a user's instance starts only once PID 1 restricted its partition's egress (egress.ts)
  await egressOf(ctx).apply(spec);
  await jobSocket(ctx, spec, p.instanceDir);
  if (!prev || prev.renderDigest !== r.digest || !existsSync(confFile)) {
    for (const f of r.files) writeFileAtomic(join(p.instanceDir, f.path), f.content, f.mode);
    writeFileAtomic(confFile, r.conf, 0o640);
    const changes = await new Supervisor(p.socket).update();
    ctx.log(
      `instance ${spec.name}: ${manifest.name} ${manifest.version} in ${spec.partition.user} (added ${changes.added.join(",") || "-"}, changed ${changes.changed.join(",") || "-"}, removed ${changes.removed.join(",") || "-"})`,
    );
  }
  ctx.setRecord(spec.name, {
    name: spec.name,
    partition: spec.partition,
    release: { name: manifest.name, version: manifest.version, manifestDigest: digest },
    createdAt: prev?.createdAt ?? new Date().toISOString(),
    ...mergePersistence(prev ?? { holdsData: false, minimumPersistenceSeconds: 0 }, spec, manifest.holdsData),
    renderDigest: r.digest,
    phase: "running",
  });
}

async function serviceCertificate(ctx: AgentContext, spec: InstanceSpec, instanceDir: string): Promise<void> {
  if (!ctx.deps.site) {
    ctx.alert(`cert:${spec.name}:nosite`, {
      kind: "service-certificate",
      severity: "warning",
      instance: spec.name,
      detail: `instance ${spec.name} declares TLS ports but the agent has no site to obtain its certificate from`,
    });
    return;
  }
  try {
    await ensureServiceCertificate(instanceDir, spec.name, ctx.cfg.hostname, ctx.deps.site);
  } catch (e) {
    ctx.alert(`cert:${spec.name}:${(e as Error).message}`, {
      kind: "service-certificate",
      severity: "warning",
      instance: spec.name,
      detail: `service certificate of ${spec.name} not obtained: ${(e as Error).message}; retried at the next pass`,
    });
  }
}

/**
 * A worker of a user's cluster gets its partition's job socket before its programs start. Failing to
 * serve it is an alert, not a failed apply: the cluster runs, its jobs get no certificate until the
 * next pass serves it.
 */
async function jobSocket(ctx: AgentContext, spec: InstanceSpec, instanceDir: string): Promise<void> {
  try {
    await jobSocketsOf(ctx).ensure(spec, instanceDir);
  } catch (e) {
    ctx.alert(`job-socket:${spec.name}:${(e as Error).message}`, {
      kind: "job-socket",
      severity: "warning",
      instance: spec.name,
      detail: `the job socket of ${spec.name} is not served: ${(e as Error).message}; retried at the next pass`,
    });
  }
}

/**
 * The CRLs the node holds (trust.json's and the site's screened bundle), next to the instance's
 * certificate as tls/crls.pem, for daemons that check revocation themselves (MariaDB's ssl_crl).
 * Public data; rewritten only when it changed.
 */
function instanceCrls(ctx: AgentContext, instanceDir: string): void {
  const crls = ctx.crls();
  const tls = join(instanceDir, "tls");
  if (!crls || !existsSync(tls)) return;
  const text = crls.map((c) => (c.endsWith("\n") ? c : `${c}\n`)).join("");
  const file = join(tls, "crls.pem");
  if (existsSync(file) && readFileSync(file, "utf8") === text) return;
  writeFileAtomic(file, text, 0o644);
}

/** Stops the instance's programs, has the partition user wipe its data, and forgets the instance. */
async function destroyInstance(ctx: AgentContext, rec: InstanceRecord): Promise<void> {
  const p = ctx.paths(rec.partition.user);
  const sup = new Supervisor(p.socket);
  // the wipe runs in the partition's own supervisord: up again if the node restarted since
  await ctx.partitions.ensureUp(rec.partition.user);
  rmSync(join(p.confD, CONF_FILE), { force: true });
  await sup.update();
  // the agent's own files, which the partition user's wipe cannot delete (the jobs directory is
  // also there after an agent restart, its socket then served by nobody)
  await jobSocketsOf(ctx).close(rec.name);
  rmSync(join(p.instanceDir, "tls"), { recursive: true, force: true });
  rmSync(join(p.instanceDir, "jobs"), { recursive: true, force: true });
  await wipeAsPartitionUser(sup, p.confD, p.instanceDir);
  ctx.detector.forget(rec.name);
  ctx.setRecord(rec.name, undefined);
  if (!Object.values(ctx.state.instances).some((r) => r.partition.user === rec.partition.user)) {
    await ctx.partitions.release(rec.partition.user);
    await egressOf(ctx).clear(rec.partition.user);
  }
  ctx.log(`instance ${rec.name} destroyed (partition ${rec.partition.user} wiped)`);
  ctx.alert(`destroyed:${rec.name}:${rec.createdAt}`, {
    kind: "instance-destroyed",
    severity: "info",
    instance: rec.name,
    detail: `instance ${rec.name} (${releaseKey(rec.release)}) destroyed as the desired state asks${rec.holdsData ? ", after its minimum persistence time" : ""}`,
    evidence: { createdAt: rec.createdAt, minimumPersistenceSeconds: rec.minimumPersistenceSeconds },
  });
}

/**
 * Files the partition user made are not the agent's to delete: a one-shot program in the partition's
 * own supervisord deletes them, and the agent waits (at most 30 s) for it to finish.
 */
async function wipeAsPartitionUser(sup: Supervisor, confD: string, instanceDir: string): Promise<void> {
  writeFileAtomic(
    join(confD, WIPE_CONF),
    [
      "[program:zeroroot-wipe]",
      `command=/usr/bin/find ${instanceDir.replace(/%/g, "%%")} -mindepth 1 -delete`,
      "autostart=true",
      "autorestart=false",
      "startsecs=0",
      "startretries=0",
      "",
    ].join("\n"),
    0o640,
  );
  await sup.update();
  const deadline = Date.now() + 30_000;
  for (;;) {
    const w = (await sup.processes()).find((x) => x.name === "zeroroot-wipe");
    if (!w || ["EXITED", "FATAL", "STOPPED"].includes(w.statename) || Date.now() > deadline) break;
    await new Promise((res) => setTimeout(res, 100));
  }
  unlinkSync(join(confD, WIPE_CONF));
  await sup.update();
}
