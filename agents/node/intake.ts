/**
 * Intake: verifying a desired-state document from the control plane, and every release it names,
 * against this node's trust and its own record (rollback protection per release name). Refusals
 * raise alerts; nothing here changes a partition.
 */
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { InstanceSpec } from "../../lib/contracts/resources";
import { keys, type ControlPlaneClient } from "../../lib/controlplane";
import {
  renewalDue,
  verifyDesiredStateText,
  verifyFreshnessText,
  type DesiredStateDocument,
} from "../../lib/desired-state";
import { freshnessDecision } from "../../lib/agent/freshness";
import { compareSemVer, directoryFileSource, type ReleaseManifest } from "../../lib/release";
import type { ReleaseCheck } from "../../lib/agent/plan";
import { checkRelease, parseDpkgStatus, releaseKey } from "../../lib/agent/releases";
import type { AgentContext } from "./context";

type ReleaseRef = InstanceSpec["release"];
type Accepted = { readonly version: string; readonly digest: string } | undefined;

/** A document verified for this computer: what to reconcile and what to remember once applied. */
export interface VerifiedDocument {
  readonly document: DesiredStateDocument;
  readonly digest: string;
  readonly signed: unknown;
  /** The very document last applied (same version and digest). */
  readonly unchanged: boolean;
}

/**
 * Verifies a document read from the control plane. A refusal raises `desired-state-refused` (once per
 * content) and returns undefined: the caller keeps the last verified state.
 */
export function verifyIncoming(ctx: AgentContext, text: string): VerifiedDocument | undefined {
  const last = ctx.state.desired;
  const trust = ctx.trust();
  const v = verifyDesiredStateText(text, {
    root: trust.root,
    authorisedSigners: trust.authorisation,
    node: trust.node,
    crls: trust.crls,
    lastAppliedVersion: last?.version,
    lastAppliedDigest: last?.digest,
    now: trust.now,
  });
  // verified within bounds: parsing it again to keep it as received is safe
  if (v.ok) {
    if (renewalDue(v.document, trust.now))
      ctx.alert(`expiring:${v.document.version}`, {
        kind: "desired-state-expiring",
        severity: "warning",
        detail: `desired state version ${v.document.version} expires at ${v.document.expiresAt}; run \`pulumi refresh\` then \`pulumi up\` for data center ${v.document.dataCenter} to re-sign it`,
        evidence: { version: v.document.version, expiresAt: v.document.expiresAt },
      });
    return {
      document: v.document,
      digest: v.digest,
      signed: JSON.parse(text) as unknown,
      unchanged: v.unchanged,
    };
  }
  const digest = `sha256:${createHash("sha256").update(text).digest("hex")}`;
  ctx.alert(`desired:${digest}`, {
    kind: "desired-state-refused",
    severity: "critical",
    detail: `desired state refused (${v.reason}): ${v.detail}; keeping the last verified state${last ? ` (version ${last.version})` : ""}`,
    evidence: { reason: v.reason, digest, bytes: Buffer.byteLength(text) },
  });
  return undefined;
}

/**
 * Whether a verified document counts as current: its data center's timestamp statement, read next to
 * it, verified (lib/desired-state/freshness.ts) and decided on (lib/agent/freshness.ts). "apply" and
 * "keep" reconcile to the document; "hold" keeps the last applied state. An unreadable key counts as
 * no statement.
 */
export async function checkFreshness(
  ctx: AgentContext,
  client: ControlPlaneClient,
  v: VerifiedDocument,
): Promise<"apply" | "hold" | "keep"> {
  let text: string | undefined;
  try {
    text = await client.get(keys.freshness(ctx.cfg.serverId));
  } catch (e) {
    ctx.log(`freshness statement unreadable (${(e as Error).message}): counted as none`);
  }
  const required = ctx.cfg.controlPlane?.requireFreshness ?? false;
  // Not required yet (the site publishes no statements): a missing one is tolerated, a present one is not ignored.
  if (text === undefined && !required) return v.unchanged ? "keep" : "apply";
  const trust = ctx.trust();
  const fresh = verifyFreshnessText(text, {
    root: trust.root,
    crls: trust.crls,
    node: trust.node,
    target: { computerId: v.document.computerId, version: v.document.version, digest: v.digest },
    lastIssuedAt: ctx.freshness?.issuedAt,
    now: trust.now,
  });
  const d = freshnessDecision({ version: v.document.version, unchanged: v.unchanged }, fresh);
  if (fresh.ok)
    ctx.freshness = {
      version: fresh.statement.version,
      issuedAt: fresh.statement.issuedAt,
      expiresAt: fresh.statement.expiresAt,
    };
  if (d.alert)
    ctx.alert(d.alert.dedupe, {
      kind: d.alert.kind,
      severity: d.alert.severity,
      detail: d.alert.detail,
      evidence: { version: v.document.version, reason: fresh.ok ? undefined : fresh.reason },
    });
  return d.action;
}

/** Verifies each release the document names, newest last (rollback protection per release name). */
export async function checkReleases(
  ctx: AgentContext,
  client: ControlPlaneClient | undefined,
  doc: DesiredStateDocument,
  local: boolean,
): Promise<Record<string, ReleaseCheck>> {
  const out: Record<string, ReleaseCheck> = {};
  const byKey = new Map<string, ReleaseCheck>();
  const sorted = [...doc.instances].sort((a, b) => compareSemVer(a.release.version, b.release.version));
  let packages: Map<string, string> | undefined;
  const installed = () => (packages ??= readPackages(ctx));
  for (const inst of sorted) {
    const ref = inst.release;
    const key = releaseKey(ref);
    const highest = ctx.state.releases[ref.name];
    let check = byKey.get(key) ?? cachedCheck(ctx, ref, key, highest);
    if (!check && local)
      check = {
        ok: false,
        reason: "unavailable",
        detail: `release ${key} was never accepted by this node`,
      };
    if (!check && client) check = await fetchCheck(ctx, client, ref, highest, installed);
    check ??= { ok: false, reason: "unavailable", detail: "no control plane" };
    byKey.set(key, check);
    out[inst.name] = check;
    // "unavailable" (offline, never accepted) was reported when the release was refused online
    if (!check.ok && check.reason !== "unavailable")
      ctx.alert(`release:${key}:${check.reason}`, {
        kind: "release-refused",
        severity: "critical",
        instance: inst.name,
        detail: check.detail,
        evidence: { release: key, reason: check.reason },
      });
  }
  return out;
}

/** A release this node accepted before, with the digest the document names: no need to fetch it again. */
function cachedCheck(
  ctx: AgentContext,
  ref: ReleaseRef,
  key: string,
  highest: Accepted,
): ReleaseCheck | undefined {
  const cached = ctx.state.releaseDocs[key];
  if (!cached || cached.digest !== ref.manifestDigest) return undefined;
  const running = Object.values(ctx.state.instances).some((r) => releaseKey(r.release) === key);
  return !highest || compareSemVer(ref.version, highest.version) >= 0 || running
    ? {
        ok: true,
        manifest: (cached.signed as { manifest: ReleaseManifest }).manifest,
        digest: cached.digest,
      }
    : {
        ok: false,
        reason: "rollback",
        detail: `release ${key} is older than ${highest.version}, the last accepted, and no instance runs it any more`,
      };
}

/** Reads the signed release from the control plane, verifies it, and remembers it if accepted. */
async function fetchCheck(
  ctx: AgentContext,
  client: ControlPlaneClient,
  ref: ReleaseRef,
  highest: Accepted,
  installed: () => Map<string, string>,
): Promise<ReleaseCheck> {
  const key = releaseKey(ref);
  const document = await client.get(keys.release(ref.name, ref.version));
  const check = checkRelease({
    document,
    ref,
    trust: ctx.trust(),
    last: highest,
    files: directoryFileSource(join(ctx.cfg.paths.releasesDir, key)),
    packages: installed(),
    now: new Date(),
  });
  if (check.ok) {
    const newer = !highest || compareSemVer(ref.version, highest.version) >= 0;
    ctx.state = {
      ...ctx.state,
      releases: newer
        ? { ...ctx.state.releases, [ref.name]: { version: ref.version, digest: check.digest } }
        : ctx.state.releases,
      releaseDocs: {
        ...ctx.state.releaseDocs,
        [key]: { digest: check.digest, signed: JSON.parse(document as string) },
      },
    };
  }
  return check;
}

function readPackages(ctx: AgentContext): Map<string, string> {
  try {
    return parseDpkgStatus(readFileSync(ctx.cfg.paths.dpkgStatus, "utf8"));
  } catch {
    return new Map();
  }
}
