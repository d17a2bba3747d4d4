/**
 * HardenedImage: the hardened operating system one data center's servers are installed with, as
 * lib/hardening describes it (packages, users, programs, firewall, spec hash), so the policy pack
 * judges the image the stack really names. With `imageSha256` and `imageDir`, the archive the site
 * serves installers (`<imageDir>/<sha256>.tar.zst`) must exist there and hash to that digest:
 * `create` refuses a missing or altered archive, and `read` reports `present` and the digest it
 * found, so a deleted or replaced image shows on `pulumi refresh` and the next `up` fails with the
 * reason instead of letting installs fail later. `delete` is absent on purpose: the archive may
 * serve other stacks and installs in flight; removing it is the site operator's act.
 */
import { createHash } from "node:crypto";
import { createReadStream, existsSync, statSync } from "node:fs";
import { isAbsolute, join } from "node:path";
import { resourceType } from "../../lib/contracts/resources";
import { Checker, shown } from "../checks";
import { changedKeys, inputsOf, type Handler, type Props } from "../types";

const INPUTS = [
  "dataCenter",
  "packages",
  "rootLocked",
  "remoteRootLogin",
  "firewall",
  "users",
  "programs",
  "specHash",
  "imageDir",
  "imageSha256",
] as const;
const HEX64 = /^[0-9a-f]{64}$/;
/** Bound before hashing: an image archive is a few hundred MiB; more is not an image of ours. */
export const MAX_IMAGE_BYTES = 8 * 1024 ** 3;

export const imagePath = (p: Props): string => join(String(p.imageDir), `${String(p.imageSha256)}.tar.zst`);

/** What is at the image path: its size and SHA-256, or absent (or too large to be ours). */
async function observe(p: Props): Promise<{ present: boolean; foundSha256: string; sizeBytes: number }> {
  const file = imagePath(p);
  if (!existsSync(file) || !statSync(file).isFile()) return { present: false, foundSha256: "", sizeBytes: 0 };
  const size = statSync(file).size;
  if (size > MAX_IMAGE_BYTES) return { present: false, foundSha256: "", sizeBytes: size };
  const h = createHash("sha256");
  for await (const chunk of createReadStream(file)) h.update(chunk as Buffer);
  const found = h.digest("hex");
  return { present: found === p.imageSha256, foundSha256: found, sizeBytes: size };
}

const withArchive = (p: Props) => typeof p.imageSha256 === "string" && p.imageSha256 !== "";

async function record(p: Props): Promise<Props> {
  const inputs = inputsOf(p, INPUTS);
  if (!withArchive(p)) return { ...inputs, present: false, foundSha256: "", sizeBytes: 0 };
  const seen = await observe(p);
  if (!seen.present)
    throw new Error(
      seen.foundSha256
        ? `image ${imagePath(p)} hashes to ${seen.foundSha256}, not ${String(p.imageSha256)}; the site would serve an altered image: publish the image built from spec ${String(p.specHash)} again`
        : `image ${imagePath(p)} is not there${seen.sizeBytes ? ` (or is over ${MAX_IMAGE_BYTES} bytes)` : ""}; build and publish it to the site's image directory before the servers install from it`,
    );
  return { ...inputs, ...seen };
}

export const hardenedImage: Handler = {
  token: resourceType("HardenedImage"),
  check(news) {
    const c = new Checker(news);
    c.text("dataCenter", 63);
    c.texts("packages", 2000);
    c.oneOf("rootLocked", [true, false]);
    c.oneOf("remoteRootLogin", [true, false]);
    if (!HEX64.test(String(news.specHash)))
      c.fail("specHash", `specHash is ${shown(news.specHash)}; give lib/hardening's specHash (64 hex)`);
    for (const k of ["users", "programs"])
      if (!Array.isArray(news[k]) || (news[k] as unknown[]).length > 5000)
        c.fail(k, `${k} is ${shown(news[k])}; give a list (lib/hardening toHardenedImageInputs)`);
    if (!news.firewall || typeof news.firewall !== "object")
      c.fail(
        "firewall",
        `firewall is ${shown(news.firewall)}; give {inputPolicy, allowedTcpPorts, allowedUdpPorts}`,
      );
    if (withArchive(news) || news.imageDir !== undefined) {
      if (!HEX64.test(String(news.imageSha256)))
        c.fail(
          "imageSha256",
          `imageSha256 is ${shown(news.imageSha256)}; give the archive's SHA-256 (64 lower-case hex)`,
        );
      if (typeof news.imageDir !== "string" || !isAbsolute(news.imageDir) || news.imageDir.length > 4096)
        c.fail(
          "imageDir",
          `imageDir is ${shown(news.imageDir)}; give the site's image directory, an absolute path`,
        );
    }
    return c.result(news);
  },
  diff(_id, olds, news) {
    // Every input names the image; another spec or another archive is another image. The stored
    // `present` of a refresh that found it gone counts as a change, so the next up says why.
    const replaces = changedKeys(olds, news, INPUTS);
    if (replaces.length === 0 && withArchive(news) && olds.present === false) replaces.push("imageSha256");
    return { replaces, updates: [] };
  },
  async create(inputs) {
    return {
      id: `${String(inputs.dataCenter)}-${String(inputs.specHash).slice(0, 16)}`,
      outs: await record(inputs),
    };
  },
  async read(id, props) {
    if (props.specHash === undefined)
      throw new Error(
        `HardenedImage ${id} cannot be imported by id alone: its spec is an input of the program`,
      );
    if (!withArchive(props)) return { id, props, inputs: inputsOf(props, INPUTS) };
    return { id, props: { ...props, ...(await observe(props)) }, inputs: inputsOf(props, INPUTS) };
  },
};
