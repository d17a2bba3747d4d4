/**
 * The live side of `zeroroot drift`: the operator's control-plane identity (files, never values on
 * the command line), the BMC passwords decrypted from the stack files with the stack's passphrase
 * (PULUMI_CONFIG_PASSPHRASE or PULUMI_CONFIG_PASSPHRASE_FILE, as the Pulumi CLI reads it), and the
 * observers of lib/drift/observe. A control plane that does not answer at all is an error (exit 1):
 * the fleet was not judged, which is not the same as drift.
 */
import { existsSync, readFileSync } from "node:fs";
import { PassphraseCrypter } from "../../lab/pulumi-passphrase";
import { ControlPlaneClient, keys } from "../../lib/controlplane";
import type { DesiredServer } from "../../lib/drift/desired";
import type { ObserveTarget } from "../../lib/drift/observe";
import type { ObservedServer } from "../../lib/drift/observed";
import type { RemediationActions, RemediationContext } from "../../lib/drift/remediate";
import { observeTargetOf } from "../../lib/drift/targets";
import { KEYS, readStackFile, stackFilesIn } from "../../lib/fleet";
import type { UserError } from "../errors";

interface LiveOptions {
  cert?: string;
  key?: string;
  ca?: string;
  dir?: string;
  probes: boolean;
}

type Fail = (message: string) => UserError;

let context: RemediationContext | undefined;

export async function observeLive(
  desired: readonly DesiredServer[],
  stackFiles: ReadonlyMap<string, string>,
  opts: LiveOptions,
  fail: Fail,
): Promise<ObservedServer[]> {
  const certFile = opts.cert ?? process.env.ZEROROOT_OPERATOR_CERT;
  const keyFile = opts.key ?? process.env.ZEROROOT_OPERATOR_KEY;
  if (!certFile || !keyFile)
    throw fail(
      "the control plane needs the operator's certificate: give --cert and --key (or ZEROROOT_OPERATOR_CERT/KEY), or judge saved observations with --observed",
    );
  const read = (what: string, f: string) => {
    if (!existsSync(f)) throw fail(`${what} ${f}: no such file`);
    return readFileSync(f, "utf8");
  };
  const trust = opts.ca ? read("--ca", opts.ca) : rootOf(stackFiles, fail);
  const endpoints = [...new Set(desired.flatMap((d) => d.controlPlaneEndpoints))];
  if (endpoints.length === 0)
    throw fail("the stacks name no control-plane endpoint (is the global stack evaluated?)");
  let controlPlane: ControlPlaneClient;
  try {
    controlPlane = new ControlPlaneClient({
      endpoints,
      identity: {
        trustAnchorsPem: trust,
        certificateChainPem: read("--cert", certFile),
        privateKeyPem: read("--key", keyFile),
      },
    });
  } catch (e) {
    throw fail(`control plane: ${(e as Error).message}`);
  }
  try {
    // One read first: a control plane that cannot be reached at all means the fleet was not judged.
    await controlPlane.get(keys.desired(desired[0].server));
  } catch (e) {
    controlPlane.close();
    throw fail(
      `the control plane (${endpoints.join(", ")}) cannot be read: ${(e as Error).message.slice(0, 300)}`,
    );
  }
  const targets = desired.map((d) => observeTargetOf(d, bmcPassword(d, stackFiles)));
  context = { controlPlane, targets };
  const { observeFleet } = await import("../../lib/drift/observe");
  return observeFleet(targets, { controlPlane, skipProbes: !opts.probes });
}

/** The remediation actions of lib/drift/observe/remediate.ts over the context of the last observation. */
export function remediationActions(desired: readonly DesiredServer[], fail: Fail): RemediationActions {
  let mod: { createRemediationActions?: (ctx: RemediationContext) => RemediationActions };
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    mod = require("../../lib/drift/observe/remediate") as typeof mod;
  } catch {
    throw fail("--remediate: this build has no remediation actions (lib/drift/observe/remediate.ts)");
  }
  if (!mod.createRemediationActions)
    throw fail("--remediate: lib/drift/observe/remediate.ts exports no createRemediationActions");
  const targets: ObserveTarget[] = [
    ...(context?.targets ?? desired.map((d) => observeTargetOf(d, undefined))),
  ];
  return mod.createRemediationActions({ controlPlane: context?.controlPlane, targets });
}

/** The offline root certificate of the global stack beside the data-center stacks. */
function rootOf(stackFiles: ReadonlyMap<string, string>, fail: Fail): string {
  const dirs = [...new Set([...stackFiles.values()].map((f) => f.slice(0, f.lastIndexOf("/")) || "."))];
  for (const dir of dirs)
    for (const f of stackFilesIn(dir)) {
      const g = readStackFile(f).values[KEYS.global] as { rootCa?: { certificate?: unknown } } | undefined;
      if (typeof g?.rootCa?.certificate === "string") return g.rootCa.certificate;
    }
  throw fail("no offline root certificate in the global stack: give the trust anchors with --ca");
}

const passwords = new Map<string, Map<string, string>>();

/**
 * The BMC password from the stack file, decrypted with the stack's passphrase (once per file: the
 * key derivation takes a second); undefined without a passphrase, or when it does not decrypt.
 */
function bmcPassword(d: DesiredServer, stackFiles: ReadonlyMap<string, string>): string | undefined {
  const file = stackFiles.get(d.stack);
  if (!file) return undefined;
  if (!passwords.has(file)) passwords.set(file, decryptPasswords(file));
  return passwords.get(file)!.get(d.server);
}

function decryptPasswords(file: string): Map<string, string> {
  const out = new Map<string, string>();
  const envFile = process.env.PULUMI_CONFIG_PASSPHRASE_FILE;
  const passphrase =
    process.env.PULUMI_CONFIG_PASSPHRASE ??
    (envFile && existsSync(envFile) ? readFileSync(envFile, "utf8").replace(/\r?\n$/, "") : undefined);
  if (passphrase === undefined) return out;
  try {
    const salt = readStackFile(file).encryptionSalt;
    if (!salt) return out;
    const crypter = PassphraseCrypter.fromSalt(passphrase, salt);
    const sf = readStackFile(file, { decrypt: (c) => crypter.decrypt(c) });
    const dc = sf.values[KEYS.dataCenter] as
      { servers?: { id?: unknown; bmc?: { password?: unknown } }[] } | undefined;
    for (const s of dc?.servers ?? [])
      if (typeof s.id === "string" && typeof s.bmc?.password === "string") out.set(s.id, s.bmc.password);
  } catch {
    // a wrong passphrase leaves the BMCs unobserved: findings, not a crash
  }
  return out;
}
