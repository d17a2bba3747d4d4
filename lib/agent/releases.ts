/**
 * Checking the releases a desired state refers to, as the node does before running anything: the
 * signed release (lib/release verifyReleaseText: size and depth bounds, signature, chain, software
 * signer identity and grant, expiry and lifetime, rollback per release name), that it is the very
 * manifest the desired state names (digest), its files in the release directory (sizes before
 * digests), and its Debian packages installed at the exact version.
 */
import type { InstanceSpec } from "../contracts/resources";
import { verifyReleaseText, type AuthorisationList, type FileSource } from "../release";
import type { ReleaseCheck } from "./plan";

export interface ReleaseTrust {
  readonly root: string;
  readonly authorisation: AuthorisationList;
  readonly crls?: readonly string[];
}

export const releaseKey = (r: { name: string; version: string }): string => `${r.name}@${r.version}`;

/** Installed packages and versions from dpkg's status file. */
export function parseDpkgStatus(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const para of text.split(/\n\n+/)) {
    const name = /^Package: (.+)$/m.exec(para)?.[1];
    const version = /^Version: (.+)$/m.exec(para)?.[1];
    const status = /^Status: (.+)$/m.exec(para)?.[1];
    if (name && version && status?.endsWith(" installed")) out.set(name.trim(), version.trim());
  }
  return out;
}

export interface CheckReleaseInput {
  /** The value stored at /releases/<name>@<version>, or undefined when absent. */
  readonly document: string | undefined;
  readonly ref: InstanceSpec["release"];
  readonly trust: ReleaseTrust;
  /** Highest version accepted for this name and its digest. */
  readonly last?: { readonly version: string; readonly digest: string };
  readonly files: FileSource;
  readonly packages: ReadonlyMap<string, string>;
  readonly now: Date;
}

export function checkRelease(input: CheckReleaseInput): ReleaseCheck {
  const { ref } = input;
  const at = `release ${releaseKey(ref)}`;
  if (input.document === undefined)
    return { ok: false, reason: "missing", detail: `${at} is not published at /releases/${releaseKey(ref)}` };
  const r = verifyReleaseText(input.document, {
    root: input.trust.root,
    authorisation: input.trust.authorisation,
    crls: input.trust.crls,
    lastAcceptedVersion: input.last?.version,
    lastAcceptedDigest: input.last?.digest,
    files: input.files,
    now: input.now,
  });
  if (!r.ok) return { ok: false, reason: r.reason, detail: `${at}: ${r.detail}` };
  if (r.manifest.name !== ref.name || r.manifest.version !== ref.version)
    return {
      ok: false,
      reason: "wrong-release",
      detail: `${at}: the document published there is ${r.manifest.name} ${r.manifest.version}`,
    };
  if (r.manifestDigest !== ref.manifestDigest)
    return {
      ok: false,
      reason: "digest-mismatch",
      detail: `${at}: manifest digest ${r.manifestDigest}, the desired state names ${ref.manifestDigest}`,
    };
  for (const p of r.manifest.packages) {
    const have = input.packages.get(p.name);
    if (have !== p.version)
      return {
        ok: false,
        reason: "package-missing",
        detail: `${at}: package ${p.name} ${p.version} is ${have ? `installed at ${have}` : "not installed"}`,
      };
  }
  return { ok: true, manifest: r.manifest, digest: r.manifestDigest };
}
