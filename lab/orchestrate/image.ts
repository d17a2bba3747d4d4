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
import { resolveHardenedImageSpec } from "../../lib/hardening";
import { bundleAgent } from "../../agents/node/bundle";
import { buildImage, unpackImage } from "../image";
import { LAB_PARTITIONS, type LabLayout } from "./layout";
import { LAB_RELEASE_REF, labReleaseSources } from "./releases";

export const AGENT_DIR_IN_IMAGE = "/opt/zeroroot/agent";
// A small young generation keeps the agent's resident memory down (docs/agent.md, bench/agent.ts).
export const AGENT_COMMAND = `/usr/bin/node --max-semi-space-size=1 ${AGENT_DIR_IN_IMAGE}/agent.js`;

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

export async function ensureLabImage(
  lab: LabLayout,
  log: (m: string) => void,
): Promise<{ sha256: string; path: string }> {
  const spec = resolveHardenedImageSpec({ agentCommand: AGENT_COMMAND, partitions: LAB_PARTITIONS });
  const t = Date.now();
  const base = await buildImage(spec, { log: (m) => log(`image: ${m}`) });
  log(
    `image: hardened base ${base.cacheHit ? "from cache" : `built in ${((Date.now() - t) / 1000).toFixed(0)} s`} (${base.manifest.sha256.slice(0, 12)})`,
  );
  const work = mkdtempSync(join(tmpdir(), "zr-compose-"));
  try {
    const bundle = join(work, "agent");
    await bundleAgent(bundle);
    const releaseDir = join(work, "release");
    mkdirSync(releaseDir);
    for (const [path, source] of Object.entries(labReleaseSources()))
      copyFileSync(source, join(releaseDir, path));
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
    const releaseTarget = join(rootfs, "opt/zeroroot/releases", LAB_RELEASE_REF);
    mkdirSync(releaseTarget, { recursive: true });
    spawnSync("cp", ["-a", `${releaseDir}/.`, releaseTarget]);
    spawnSync("chown", ["-R", "0:0", join(rootfs, "opt/zeroroot")]);
    spawnSync("chmod", ["-R", "u=rwX,go=rX", join(rootfs, "opt/zeroroot")]);
    chmodSync(target, 0o755);
    const out = join(lab.paths.images, `composing-${process.pid}.tar.zst`);
    const r = spawnSync("tar", ["--zstd", "-cpf", out, "--numeric-owner", "-C", rootfs, "."], {
      encoding: "utf8",
    });
    if (r.status !== 0) throw new Error(`composing the lab image failed: ${r.stderr}`);
    const sha256 = sha256File(out);
    const path = join(lab.paths.images, `${sha256}.tar.zst`);
    renameSync(out, path);
    chmodSync(path, 0o644);
    spawnSync("sh", ["-c", `echo ${sha256} > ${marker}`]);
    log(`image: agent bundle added; served image ${sha256.slice(0, 12)}`);
    return { sha256, path };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
