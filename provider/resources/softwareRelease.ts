/**
 * SoftwareRelease: one signed release, verified against the platform root and published to the
 * control plane at `/releases/<name>@<version>`, where nodes fetch it and verify it again. Verified
 * at `check` (so a preview refuses a tampered or foreign-signed release) and again before publishing.
 * `read` fetches what is published: absent, or another document, shows as drift and the next update
 * publishes again. A release is immutable: a new version replaces; the same version with another
 * manifest is refused, as nodes would refuse it. `delete` leaves it published on purpose: other
 * stacks' computers may still run it; nodes run only what their signed desired state names.
 */
import { keys } from "../../lib/controlplane";
import {
  manifestDigest,
  parseAuthorisationList,
  validateManifest,
  verifyEnvelope,
  verifyRelease,
  type SignedRelease,
} from "../../lib/release";
import { RESOURCE_DEFAULTS, resourceType } from "../../lib/contracts/resources";
import { Checker } from "../checks";
import { checkRoot, importContext, rootOf } from "../config";
import { operatorClient } from "../operator-identity";
import { changedKeys, inputsOf, type Handler, type Props } from "../types";

const INPUTS = [
  "name",
  "version",
  "manifestDigest",
  "signerCertificatePem",
  "signature",
  "manifest",
  "signatureAlgorithm",
  "signerChainCertificates",
  "rootCertificatePem",
  "rootCertificateSha256",
  "controlPlaneEndpoints",
  "controlPlaneTimeoutSeconds",
  "authorisedSigners",
] as const;

/** The signed document as it was signed, from the resource's props. */
export function signedOf(p: Props): SignedRelease {
  return {
    manifest: p.manifest as SignedRelease["manifest"],
    signature: {
      algorithm: p.signatureAlgorithm as SignedRelease["signature"]["algorithm"],
      value: String(p.signature),
      certificates: [String(p.signerCertificatePem), ...((p.signerChainCertificates as string[]) ?? [])],
    },
  };
}

/**
 * Why a release cannot be published, or undefined when it verifies. With `authorisedSigners` (the
 * list nodes trust), this is the nodes' own verifier, lib/release verifyRelease; without it, only
 * the signature chain and the manifest are checked (who may sign is then left to the nodes).
 */
export function refusal(p: Props, now = new Date()): string | undefined {
  const signed = signedOf(p);
  if (p.authorisedSigners !== undefined && p.authorisedSigners !== null) {
    let authorisation;
    try {
      authorisation = parseAuthorisationList(p.authorisedSigners, "authorisedSigners");
    } catch (e) {
      return (e as Error).message;
    }
    const v = verifyRelease(signed, { root: rootOf(p), authorisation, now });
    if (!v.ok) return `${v.reason}: ${v.detail}`;
    if (v.manifest.name !== p.name || v.manifest.version !== p.version)
      return `the manifest is ${v.manifest.name}@${v.manifest.version}, the resource says ${String(p.name)}@${String(p.version)}`;
    if (v.manifestDigest !== p.manifestDigest)
      return `manifestDigest is ${String(p.manifestDigest)}; the manifest's is ${v.manifestDigest}`;
    return undefined;
  }
  const env = verifyEnvelope(signed.manifest, signed.signature, {
    root: rootOf(p),
    at: now,
  });
  if (!env.ok) return `${env.reason}: ${env.detail}`;
  let m;
  try {
    m = validateManifest(signed.manifest);
  } catch (e) {
    return `malformed: ${(e as Error).message}`;
  }
  if (m.name !== p.name || m.version !== p.version)
    return `the manifest is ${m.name}@${m.version}, the resource says ${String(p.name)}@${String(p.version)}`;
  const digest = manifestDigest(m);
  if (digest !== p.manifestDigest)
    return `manifestDigest is ${String(p.manifestDigest)}; the manifest's is ${digest}`;
  if (now.getTime() > Date.parse(m.notAfter))
    return `expired: release ${m.name} ${m.version} expired at ${m.notAfter}`;
  return undefined;
}

const clientOf = (p: Props) =>
  operatorClient(p.controlPlaneEndpoints as string[], rootOf(p), Number(p.controlPlaneTimeoutSeconds) * 1000);

async function publish(p: Props): Promise<Props> {
  const why = refusal(p);
  if (why) throw new Error(`release ${String(p.name)}@${String(p.version)} is refused: ${why}`);
  const key = keys.release(String(p.name), String(p.version));
  const client = clientOf(p);
  try {
    await client.put(key, JSON.stringify(signedOf(p)));
  } finally {
    client.close();
  }
  return { ...inputsOf(p, INPUTS), publishedKey: key, published: true };
}

const RELEASE_ID = /^([A-Za-z0-9][A-Za-z0-9._-]{0,62})@([A-Za-z0-9][A-Za-z0-9._+-]{0,127})$/;

/** A release found by id (`<name>@<version>`) in the control plane, verified before it enters state. */
async function importRelease(id: string): Promise<{ id: string; props: Props; inputs: Props }> {
  const m = RELEASE_ID.exec(id);
  if (!m)
    throw new Error(
      `SoftwareRelease import id is ${JSON.stringify(id.slice(0, 80))}; give <name>@<version>, e.g. postgresql@15.8.0`,
    );
  const [, name, version] = m;
  const ctx = importContext(`SoftwareRelease ${id}`);
  const client = clientOf({
    ...ctx,
    controlPlaneTimeoutSeconds: RESOURCE_DEFAULTS.controlPlaneTimeoutSeconds,
  });
  let text: string | undefined;
  try {
    text = await client.get(keys.release(name, version));
  } finally {
    client.close();
  }
  if (text === undefined) return { id: "", props: {}, inputs: {} };
  let signed: SignedRelease;
  try {
    signed = JSON.parse(text) as SignedRelease;
  } catch {
    throw new Error(`SoftwareRelease ${id}: the published document is not JSON`);
  }
  const p: Props = {
    name,
    version,
    manifestDigest: manifestDigest(signed.manifest),
    signerCertificatePem: signed.signature?.certificates?.[0],
    signature: signed.signature?.value,
    manifest: signed.manifest,
    signatureAlgorithm: signed.signature?.algorithm,
    signerChainCertificates: signed.signature?.certificates?.slice(1) ?? [],
    ...ctx,
    controlPlaneTimeoutSeconds: RESOURCE_DEFAULTS.controlPlaneTimeoutSeconds,
  };
  const why = refusal(p);
  if (why) throw new Error(`SoftwareRelease ${id}: the published release is refused: ${why}`);
  const observed = { ...p, publishedKey: keys.release(name, version), published: true };
  return { id, props: observed, inputs: inputsOf(observed, INPUTS) };
}

export const softwareRelease: Handler = {
  token: resourceType("SoftwareRelease"),
  check(news) {
    const inputs: Props = {
      ...news,
      controlPlaneTimeoutSeconds:
        news.controlPlaneTimeoutSeconds ?? RESOURCE_DEFAULTS.controlPlaneTimeoutSeconds,
    };
    const c = new Checker(inputs);
    c.text("name", 63);
    c.text("version", 128);
    checkRoot(c, inputs);
    c.texts("controlPlaneEndpoints", 9);
    c.int("controlPlaneTimeoutSeconds", 1, 600);
    if (c.failures.length === 0) {
      const why = refusal(inputs);
      if (why) c.fail("signature", `release ${String(news.name)}@${String(news.version)} is refused: ${why}`);
    }
    return c.result(inputs);
  },
  diff(_id, olds, news) {
    const replaces = changedKeys(olds, news, ["name", "version"]);
    const updates = changedKeys(
      olds,
      news,
      INPUTS.filter((k) => k !== "name" && k !== "version"),
    );
    // Not published any more (read saw it missing or different): publish again.
    if (olds.published === false) updates.push("published");
    return { replaces, updates };
  },
  async create(inputs) {
    return { id: `${String(inputs.name)}@${String(inputs.version)}`, outs: await publish(inputs) };
  },
  async read(id, props) {
    // An import (`pulumi import`): the engine sends the id only; the published document holds the rest.
    if (!Array.isArray(props.controlPlaneEndpoints)) return importRelease(id);
    const client = clientOf(props);
    let stored: string | undefined;
    try {
      stored = await client.get(keys.release(String(props.name), String(props.version)));
    } finally {
      client.close();
    }
    let digest = "";
    try {
      digest = stored ? manifestDigest(validateManifest((JSON.parse(stored) as SignedRelease).manifest)) : "";
    } catch {
      digest = "unreadable";
    }
    const published = digest === props.manifestDigest;
    const observed = { ...props, published, publishedDigest: digest };
    return { id, props: observed, inputs: inputsOf(observed, INPUTS) };
  },
  async update(_id, olds, news) {
    if (olds.manifestDigest !== news.manifestDigest)
      throw new Error(
        `release ${String(news.name)}@${String(news.version)} was published with manifest ${String(olds.manifestDigest)}; nodes refuse a version reused with another content (${String(news.manifestDigest)}): give the release a new version`,
      );
    return publish(news);
  },
};
