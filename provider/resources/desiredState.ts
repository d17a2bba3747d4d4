/**
 * DesiredState: what one computer must run, signed (lib/desired-state) and published at
 * `/computers/<id>/desired`. The next version is the higher of the last one and the published
 * one, plus one (a node refuses a lower or reused version). The state signer's certificate and key
 * are read from ZEROROOT_STATE_SIGNER_CERT / _KEY (default ~/.zeroroot/state-signer.{crt,key}) by
 * the plugin; they never enter Pulumi state. `read` reports the version published and the version
 * the node acknowledged in its status report (`/computers/<id>/report/status`). `delete` publishes
 * a signed "run nothing": a missing key would look like an outage, which the agent rides out.
 * `read` also reports `renewalDue` (the document is in the last quarter of its validity); `diff`
 * re-signs on it, never on the clock.
 */
import { createPrivateKey } from "node:crypto";
import { keys } from "../../lib/controlplane";
import {
  appliedVersion,
  buildDesiredState,
  desiredStateDigest,
  publishedVersion,
  renewalDue,
  signDesiredState,
  validateDesiredState,
  type SignedDesiredState,
} from "../../lib/desired-state";
import { RESOURCE_DEFAULTS, resourceType, type DesiredStateInputs } from "../../lib/contracts/resources";
import { certificateSha256 } from "../../lib/pki/fingerprint";
import { Checker } from "../checks";
import { checkRoot, importContext, rootOf } from "../config";
import { operatorClient, readNamedFile } from "../operator-identity";
import { changedKeys, inputsOf, type Handler, type Props } from "../types";

const INPUTS = [
  "computerId",
  "dataCenter",
  "instances",
  "validitySeconds",
  "controlPlaneEndpoints",
  "rootCertificatePem",
  "rootCertificateSha256",
  "controlPlaneTimeoutSeconds",
] as const;

/** Builds and signs the document for `version` with the state signer named by the environment. */
export function signedDocumentFor(
  p: DesiredStateInputs,
  version: number,
  now = new Date(),
): SignedDesiredState {
  const chain = readNamedFile(
    "ZEROROOT_STATE_SIGNER_CERT",
    "state-signer.crt",
    "desired-state signer certificate",
  );
  const certs = chain.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  const key = readNamedFile("ZEROROOT_STATE_SIGNER_KEY", "state-signer.key", "desired-state signer key");
  const document = buildDesiredState({ ...p, version, now });
  return signDesiredState(document, {
    privateKey: createPrivateKey(key),
    certificatePem: `${certs[0] ?? ""}\n`,
    chainPem: certs.slice(1).join("\n"),
  });
}

const clientOf = (p: Props) =>
  operatorClient(p.controlPlaneEndpoints as string[], rootOf(p), Number(p.controlPlaneTimeoutSeconds) * 1000);

/** Whether the published document is in its renewal window (lib/desired-state renewalDue); unreadable: due. */
const publishedRenewalDue = (t: string | undefined, now: Date): boolean => {
  try {
    const d = t ? (JSON.parse(t) as SignedDesiredState).document : undefined;
    return d ? renewalDue(d, now) : false;
  } catch {
    return true;
  }
};
/** Inputs and outputs of an imported resource, from the signed document published for it. */
function importedDocument(text: string, computer: string): Props {
  let d: SignedDesiredState["document"];
  try {
    d = validateDesiredState((JSON.parse(text) as SignedDesiredState).document);
  } catch (e) {
    throw new Error(
      `DesiredState ${computer}: the published document is unreadable: ${(e as Error).message}`,
    );
  }
  if (d.computerId !== computer)
    throw new Error(`DesiredState ${computer}: the document at its key names computer ${d.computerId}`);
  return {
    dataCenter: d.dataCenter,
    instances: d.instances,
    validitySeconds: Math.round((Date.parse(d.expiresAt) - Date.parse(d.issuedAt)) / 1000),
    version: d.version,
    digest: desiredStateDigest(d),
    issuedAt: d.issuedAt,
    expiresAt: d.expiresAt,
    publishedVersion: d.version,
  };
}

async function publish(p: Props, lastVersion: number): Promise<Props> {
  const client = clientOf(p);
  try {
    const key = keys.desired(String(p.computerId));
    const stored = publishedVersion(await client.get(key)) ?? 0;
    const signed = signedDocumentFor(p as unknown as DesiredStateInputs, Math.max(lastVersion, stored) + 1);
    await client.put(key, JSON.stringify(signed));
    const d = signed.document;
    return {
      ...inputsOf(p, INPUTS),
      version: d.version,
      digest: desiredStateDigest(d),
      issuedAt: d.issuedAt,
      expiresAt: d.expiresAt,
      // Which signer signed it, by fingerprint: the certificate itself is in the published document.
      signerSha256: certificateSha256(signed.signature.certificates[0] ?? ""),
    };
  } finally {
    client.close();
  }
}

export const desiredState: Handler = {
  token: resourceType("DesiredState"),
  // The control plane and the root are the data center's: the provider's configuration holds them once.
  configured: ["rootCertificateSha256", "controlPlaneEndpoints"],
  check(news) {
    const inputs: Props = {
      ...news,
      validitySeconds: news.validitySeconds ?? RESOURCE_DEFAULTS.validitySeconds,
      controlPlaneTimeoutSeconds:
        news.controlPlaneTimeoutSeconds ?? RESOURCE_DEFAULTS.controlPlaneTimeoutSeconds,
    };
    const c = new Checker(inputs);
    c.text("computerId", 63);
    c.text("dataCenter", 63);
    checkRoot(c, inputs);
    c.texts("controlPlaneEndpoints", 9);
    c.int("controlPlaneTimeoutSeconds", 1, 600);
    if (c.failures.length === 0) {
      try {
        buildDesiredState({ ...(inputs as unknown as DesiredStateInputs), version: 1 });
      } catch (e) {
        c.fail("instances", `no node would accept this desired state: ${(e as Error).message}`);
      }
    }
    return c.result(inputs);
  },
  diff(_id, olds, news) {
    const replaces = changedKeys(olds, news, ["computerId"]);
    const updates = changedKeys(
      olds,
      news,
      INPUTS.filter((k) => k !== "computerId"),
    );
    // Re-sign only when `read` (pulumi refresh, drift detection) saw the published document in its
    // renewal window: diff never looks at the clock, so a preview is the same whatever day it runs.
    // Currency between deploys is the data center's timestamp service's job (docs/release.md, "Freshness").
    if (olds.renewalDue === true) updates.push("expiresAt");
    // Someone published another version since (read saw it): sign ours again, above theirs.
    if (typeof olds.publishedVersion === "number" && olds.publishedVersion !== olds.version)
      updates.push("publishedVersion");
    return { replaces, updates };
  },
  async create(inputs) {
    return { id: String(inputs.computerId), outs: await publish(inputs, 0) };
  },
  async read(id, stored) {
    // An import (`pulumi import`): the engine sends the id only; the document itself holds the rest.
    // (The router fills in the configured control plane, so the absent computer id tells an import.)
    const importing = stored.computerId === undefined;
    const props = importing
      ? {
          computerId: id,
          ...importContext(`DesiredState ${id}`),
          controlPlaneTimeoutSeconds: RESOURCE_DEFAULTS.controlPlaneTimeoutSeconds,
        }
      : stored;
    const client = clientOf(props);
    try {
      const computer = String(props.computerId ?? id);
      const text = await client.get(keys.desired(computer));
      // Nothing published for an import: nothing to import (an empty id tells the engine so).
      if (importing && text === undefined) return { id: "", props: {}, inputs: {} };
      const published = publishedVersion(text) ?? 0; // unreadable: the node refuses it anyway
      const acknowledged = appliedVersion(await client.get(keys.status(computer))) ?? 0;
      const observed = {
        ...props,
        ...(importing ? importedDocument(String(text), computer) : {}),
        publishedVersion: published,
        acknowledgedVersion: acknowledged,
        renewalDue: publishedRenewalDue(text, new Date()),
      };
      return { id, props: observed, inputs: inputsOf(observed, INPUTS) };
    } finally {
      client.close();
    }
  },
  async update(_id, olds, news) {
    return publish(news, Number(olds.version) || 0);
  },
  async delete(_id, olds) {
    await publish({ ...olds, instances: [] }, Number(olds.version) || 0);
  },
};
