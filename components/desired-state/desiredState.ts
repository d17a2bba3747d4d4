/**
 * DesiredState: what one computer must run (its instances), signed and published at
 * `/computers/<id>/desired`. One resource per computer, never per instance, so 1,000 servers with
 * 100 instances each stay a few thousand resources.
 *
 * At deploy time the provider takes the next version (the higher of its last one and the one in the
 * control plane, plus one: a node refuses a lower or reused version), builds and signs the document
 * with lib/desired-state, and writes it with the operator's identity. The state signer's
 * certificate and key are read from the files named by ZEROROOT_STATE_SIGNER_CERT and
 * ZEROROOT_STATE_SIGNER_KEY (default ~/.zeroroot/state-signer.{crt,key}); they never enter Pulumi
 * state. A document expires: `diff` reports a change once half its validity has passed, so every
 * `pulumi up` renews documents before nodes would refuse them.
 */
import * as pulumi from "@pulumi/pulumi";
import { createPrivateKey } from "node:crypto";
import { dynamicType, type DesiredStateInputs, type InstanceSpec } from "../../lib/contracts/resources";
import type { SignedDesiredState } from "../../lib/desired-state";
import { projectModule } from "../project-module";
import { readNamedFile } from "../operator-identity";
import { operatorClient } from "../release/connect";

export const DESIRED_STATE_TYPE = dynamicType("DesiredState");

export interface DesiredStateArgs {
  readonly computerId: string;
  readonly dataCenter: string;
  readonly instances: readonly InstanceSpec[];
  /** Lifetime of each signed document. @default 604800 (7 days) */
  readonly validitySeconds?: number;
  /** Client URLs of the control-plane members. */
  readonly controlPlaneEndpoints: pulumi.Input<readonly string[]>;
  /** The root the members' certificates chain to. */
  readonly rootCertificatePem: pulumi.Input<string>;
  /** @default 30 */
  readonly controlPlaneTimeoutSeconds?: number;
}

export type DesiredStateProps = DesiredStateInputs & {
  controlPlaneEndpoints: string[];
  rootCertificatePem: string;
  controlPlaneTimeoutSeconds: number;
};

export type DesiredStateOuts = DesiredStateProps & {
  version: number;
  digest: string;
  issuedAt: string;
  expiresAt: string;
  signer: string;
};

/** Builds and signs the document for `version` with the state signer named by the environment. */
export function signedDocumentFor(
  p: DesiredStateInputs,
  version: number,
  now = new Date(),
): SignedDesiredState {
  const ds = projectModule<typeof import("../../lib/desired-state")>("lib/desired-state");
  const chain = readNamedFile(
    "ZEROROOT_STATE_SIGNER_CERT",
    "state-signer.crt",
    "desired-state signer certificate",
  );
  const certs = chain.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  const key = readNamedFile("ZEROROOT_STATE_SIGNER_KEY", "state-signer.key", "desired-state signer key");
  const document = ds.buildDesiredState({
    computerId: p.computerId,
    dataCenter: p.dataCenter,
    version,
    instances: p.instances,
    validitySeconds: p.validitySeconds,
    now,
  });
  return ds.signDesiredState(document, {
    privateKey: createPrivateKey(key),
    certificatePem: `${certs[0] ?? ""}\n`,
    chainPem: certs.slice(1).join("\n"),
  });
}

/** Refuses, at preview, a document no node would accept (root partition, missing persistence…). */
function problem(p: DesiredStateProps): string | undefined {
  if (!Array.isArray(p.instances) || typeof p.validitySeconds !== "number") return undefined; // unknown yet
  const ds = projectModule<typeof import("../../lib/desired-state")>("lib/desired-state");
  try {
    ds.buildDesiredState({ ...p, version: 1 });
    return undefined;
  } catch (e) {
    return (e as Error).message;
  }
}

async function publish(
  p: DesiredStateProps,
  lastVersion: number,
): Promise<Omit<DesiredStateOuts, keyof DesiredStateProps>> {
  const { keys } = projectModule<typeof import("../../lib/controlplane")>("lib/controlplane");
  const { desiredStateDigest } = projectModule<typeof import("../../lib/desired-state")>("lib/desired-state");
  const client = operatorClient(
    p.controlPlaneEndpoints,
    p.rootCertificatePem,
    p.controlPlaneTimeoutSeconds * 1000,
  );
  try {
    const key = keys.desired(p.computerId);
    const current = await client.get(key);
    let stored = 0;
    try {
      stored = current ? Number((JSON.parse(current) as SignedDesiredState).document.version) || 0 : 0;
    } catch {
      stored = 0; // unreadable: the node refuses it anyway; overwrite with a newer version
    }
    const signed = signedDocumentFor(p, Math.max(lastVersion, stored) + 1);
    await client.put(key, JSON.stringify(signed));
    const d = signed.document;
    return {
      version: d.version,
      digest: desiredStateDigest(d),
      issuedAt: d.issuedAt,
      expiresAt: d.expiresAt,
      signer: signed.signature.certificates[0],
    };
  } finally {
    client.close();
  }
}

export const desiredStateProvider: pulumi.dynamic.ResourceProvider = {
  async check(_olds: DesiredStateProps, news: DesiredStateProps) {
    const why = problem(news);
    return why
      ? {
          inputs: news,
          failures: [{ property: "instances", reason: `no node would accept this desired state: ${why}` }],
        }
      : { inputs: news };
  },
  async create(inputs: DesiredStateProps) {
    return { id: inputs.computerId, outs: { ...inputs, ...(await publish(inputs, 0)) } };
  },
  async diff(_id: string, olds: DesiredStateOuts, news: DesiredStateProps) {
    const replaces = olds.computerId !== news.computerId ? ["computerId"] : [];
    const changed = INPUT_KEYS.some((k) => JSON.stringify(olds[k]) !== JSON.stringify(news[k]));
    const issued = Date.parse(olds.issuedAt);
    const expires = Date.parse(olds.expiresAt);
    // Renew once half the validity has passed (or when the dates are unreadable).
    const renew = !(Date.now() < issued + (expires - issued) / 2);
    return { changes: changed || renew, replaces, deleteBeforeReplace: false };
  },
  async update(_id: string, olds: DesiredStateOuts, news: DesiredStateProps) {
    return { outs: { ...news, ...(await publish(news, olds.version ?? 0)) } };
  },
  async delete(_id: string, olds: DesiredStateOuts) {
    // An explicit, signed "run nothing": a missing key would look like an outage, and the agent
    // keeps running its last verified state through outages. Data-holding instances are never
    // deleted this way (retainOnDelete), and the node still honours their minimum persistence.
    await publish({ ...olds, instances: [] }, olds.version ?? 0);
  },
};

const INPUT_KEYS = [
  "computerId",
  "dataCenter",
  "instances",
  "validitySeconds",
  "controlPlaneEndpoints",
  "rootCertificatePem",
  "controlPlaneTimeoutSeconds",
] as const;

export class DesiredState extends pulumi.dynamic.Resource {
  declare public readonly version: pulumi.Output<number>;
  declare public readonly digest: pulumi.Output<string>;
  declare public readonly expiresAt: pulumi.Output<string>;

  /** Data-holding computers get `protect` and `retainOnDelete` unless the caller sets them. */
  constructor(name: string, args: DesiredStateArgs, opts: pulumi.CustomResourceOptions = {}) {
    const holdsData = args.instances.some((i) => i.holdsData);
    super(
      desiredStateProvider,
      name,
      {
        computerId: args.computerId,
        dataCenter: args.dataCenter,
        instances: args.instances,
        validitySeconds: args.validitySeconds ?? 604_800,
        controlPlaneEndpoints: args.controlPlaneEndpoints,
        rootCertificatePem: args.rootCertificatePem,
        controlPlaneTimeoutSeconds: args.controlPlaneTimeoutSeconds ?? 30,
        version: undefined,
        digest: undefined,
        issuedAt: undefined,
        expiresAt: undefined,
        signer: undefined,
      },
      holdsData ? { protect: true, retainOnDelete: true, ...opts } : opts,
      "zeroroot",
      "DesiredState",
    );
  }
}
