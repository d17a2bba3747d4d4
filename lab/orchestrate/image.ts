/**
 * The image the lab's sites serve: the hardened base image (built once per spec by lab/image,
 * cached) with the node agent bundle added at /opt/zeroroot/agent. Composed again only when the
 * base or the agent changes; named by its sha256, which the installer checks.
 */
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  renameSync,
  rmSync,
  statSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { bundleAgent } from "../../agents/node/bundle";
import { buildImage, unpackImage } from "../image";
import { AGENT_COMMAND, AGENT_DIR_IN_IMAGE, LAB_ROLES, labImageSpec, type LabRole } from "./image-spec";
import type { LabLayout } from "./layout";
import { labReleases, releaseRef } from "./releases";

export { AGENT_COMMAND, AGENT_DIR_IN_IMAGE };

export interface ServedImage {
  readonly sha256: string;
  readonly path: string;
}

/** The images the sites serve: one per server role (lib/hardening roles.ts). */
export type LabImages = Readonly<Record<LabRole, ServedImage>>;

const sha256File = (f: string) => createHash("sha256").update(readFileSync(f)).digest("hex");

function dirDigest(dir: string): string {
  const h = createHash("sha256");
  const walk = (d: string) => {
    for (const e of readdirSync(d).sort()) {
      const p = join(d, e);
      h.update(e);
      if (statSync(p).isDirectory()) walk(p);
      else h.update(readFileSync(p));
    }
  };
  walk(dir);
  return h.digest("hex");
}

/** Builds (or finds cached) the hardened image of each lab role and composes what the sites serve. */
export async function ensureLabImages(lab: LabLayout, log: (m: string) => void): Promise<LabImages> {
  const out = {} as Record<LabRole, ServedImage>;
  // Bases first: the datastore releases pin the package versions of the storage image. The roles'
  // bases are built side by side: each build is mostly one mmdebstrap waiting on downloads and dpkg,
  // so two at once take little more than the longer one (the cache's lock keeps one build per spec).
  // Both settle before a failure is thrown, so no build goes on behind the error lab up reports.
  const settled = await Promise.allSettled(
    LAB_ROLES.map(async (role) => {
      const t = Date.now();
      const base = await buildImage(labImageSpec(role), { log: (m) => log(`image ${role}: ${m}`) });
      log(
        `image ${role}: hardened base ${base.cacheHit ? "from cache" : `built in ${((Date.now() - t) / 1000).toFixed(0)} s`} (${base.manifest.sha256.slice(0, 12)})`,
      );
      return { role, base };
    }),
  );
  const bases = settled.map((r) => {
    if (r.status === "rejected") throw r.reason;
    return r.value;
  });
  for (const { role, base } of bases) out[role] = await composeImage(lab, role, base, log);
  return out;
}

async function composeImage(
  lab: LabLayout,
  role: LabRole,
  base: { path: string; manifest: { sha256: string } },
  log: (m: string) => void,
): Promise<ServedImage> {
  const work = mkdtempSync(join(tmpdir(), "zr-compose-"));
  try {
    const bundle = join(work, "agent");
    await bundleAgent(bundle);
    // every lab release's files, each under <name>@<version>/
    const releaseDir = join(work, "releases");
    for (const r of labReleases()) {
      mkdirSync(join(releaseDir, releaseRef(r)), { recursive: true });
      for (const [path, source] of Object.entries(r.sources))
        copyFileSync(source, join(releaseDir, releaseRef(r), path));
    }
    const key = createHash("sha256")
      .update(base.manifest.sha256)
      .update(dirDigest(bundle))
      .update(dirDigest(releaseDir))
      .digest("hex")
      .slice(0, 32);
    mkdirSync(lab.paths.images, { recursive: true, mode: 0o755 });
    const marker = join(lab.paths.images, `composed-${key}`);
    if (existsSync(marker)) {
      const sha256 = readFileSync(marker, "utf8").trim();
      if (existsSync(join(lab.paths.images, `${sha256}.tar.zst`)))
        return { sha256, path: join(lab.paths.images, `${sha256}.tar.zst`) };
    }
    const rootfs = join(work, "rootfs");
    mkdirSync(rootfs);
    await unpackImage(base.path, rootfs);
    const target = join(rootfs, AGENT_DIR_IN_IMAGE.slice(1));
    mkdirSync(target, { recursive: true });
    spawnSync("cp", ["-a", `${bundle}/.`, target]);
    const releaseTarget = join(rootfs, "opt/zeroroot/releases");
    mkdirSync(releaseTarget, { recursive: true });
    spawnSync("cp", ["-a", `${releaseDir}/.`, releaseTarget]);
    spawnSync("chown", ["-R", "0:0", join(rootfs, "opt/zeroroot")]);
    spawnSync("chmod", ["-R", "u=rwX,go=rX", join(rootfs, "opt/zeroroot")]);
    chmodSync(target, 0o755);
    const out = join(lab.paths.images, `composing-${process.pid}.tar.zst`);
    const r = spawnSync("tar", ["--zstd", "-cpf", out, "--numeric-owner", "-C", rootfs, "."], {
      encoding: "utf8",
    });
    if (r.status !== 0) throw new Error(`composing the lab ${role} image failed: ${r.stderr}`);
    const sha256 = sha256File(out);
    const path = join(lab.paths.images, `${sha256}.tar.zst`);
    renameSync(out, path);
    chmodSync(path, 0o644);
    spawnSync("sh", ["-c", `echo ${sha256} > ${marker}`]);
    log(`image ${role}: agent bundle and releases added; served image ${sha256.slice(0, 12)}`);
    return { sha256, path };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
