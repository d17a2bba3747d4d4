/**
 * Runs drift's observers, or the provider's BmcServer `read`, from inside a lab management namespace
 * (the test process lives in the host's namespace, which reaches no lab network). Input is one JSON
 * document on stdin (it holds BMC passwords: never on a command line); output one JSON line.
 *
 *   in-namespace.ts observe        stdin {targets, endpoints, rootPem, cert, key, probes}
 *   in-namespace.ts provider-read  stdin {id, props}
 *   in-namespace.ts drift          stdin {dc, remediate}: desired (the lab's stack) against observed, as
 *                                  `zeroroot drift` judges it, then lib/drift's remediation when asked
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { compareServer } from "../../../lib/drift/compare";
import { applyRemediation, planRemediation } from "../../../lib/drift/remediate";
import { createRemediationActions } from "../../../lib/drift/observe/remediate";
import { observeTargetOf } from "../../../lib/drift/targets";
import { controlPlaneEndpoints } from "../../../lab/orchestrate/controlplane";
import { readLabLayout } from "../../../lab/orchestrate/layout";
import { bmcInputOf, desiredOf } from "./fixture";
import { ControlPlaneClient } from "../../../lib/controlplane";
import { observeFleet, type ObserveTarget } from "../../../lib/drift/observe";
import { bmcServer } from "../../../provider/resources/bmcServer";

interface ObserveInput {
  readonly targets: ObserveTarget[];
  readonly endpoints: string[];
  readonly rootPem: string;
  readonly cert: string;
  readonly key: string;
  readonly probes: boolean;
}

async function observe(input: ObserveInput): Promise<unknown> {
  const controlPlane = new ControlPlaneClient({
    endpoints: input.endpoints,
    identity: {
      trustAnchorsPem: readFileSync(input.rootPem, "utf8"),
      certificateChainPem: readFileSync(input.cert, "utf8"),
      privateKeyPem: readFileSync(input.key, "utf8"),
    },
  });
  try {
    return await observeFleet(input.targets, { controlPlane, skipProbes: !input.probes });
  } finally {
    controlPlane.close();
  }
}

async function drift(input: { dc: string; remediate: boolean }): Promise<unknown> {
  const lab = readLabLayout()!;
  const desired = await desiredOf(lab, input.dc);
  // The BMC as the deployment state holds it: the managed credential (the stack file's initial one
  // is disabled by BmcCredential), decrypted with the lab's stack passphrase.
  const targets = desired.map((d) => {
    const b = bmcInputOf(lab, input.dc, d.server);
    const t = observeTargetOf(d, String(b.password));
    // The lab image's firewall allows no TCP port (lib/hardening's default spec), so the lab-echo
    // endpoint answers only on the server itself: a TLS probe from the management network cannot
    // reach it. Only endpoints the image's firewall allows are TLS-probed here (reported to the lead).
    const allowed = new Set(d.firewall?.allowedTcpPorts ?? []);
    return {
      ...t,
      tlsPorts: t.tlsPorts.filter((p) => allowed.has(p)),
      bmc: {
        serverId: d.server,
        address: String(b.address),
        port: Number(b.port),
        username: String(b.username),
        password: String(b.password),
        cipherSuite: 3 as const,
      },
    };
  });
  const controlPlane = new ControlPlaneClient({
    endpoints: controlPlaneEndpoints(lab).endpoints,
    identity: {
      trustAnchorsPem: readFileSync(join(lab.dir, "root.pem"), "utf8"),
      certificateChainPem: readFileSync(lab.paths.operator.cert, "utf8"),
      privateKeyPem: readFileSync(lab.paths.operator.key, "utf8"),
    },
  });
  try {
    const observed = await observeFleet(targets, { controlPlane });
    const findings = desired.flatMap((d) =>
      compareServer(
        d,
        observed.find((o) => o.server === d.server),
        Date.now(),
      ),
    );
    const outcomes = input.remediate
      ? await applyRemediation(
          planRemediation(findings),
          desired,
          findings,
          createRemediationActions({ controlPlane, targets }),
        )
      : [];
    return {
      findings: findings.map((f) => ({
        server: f.server,
        check: f.check,
        subject: f.subject,
        message: f.message,
      })),
      outcomes,
      observed,
    };
  } finally {
    controlPlane.close();
  }
}

async function main(): Promise<void> {
  const kind = process.argv[2];
  const input = JSON.parse(readFileSync(0, "utf8")) as Record<string, unknown>;
  try {
    const value =
      kind === "observe"
        ? await observe(input as unknown as ObserveInput)
        : kind === "drift"
          ? await drift(input as { dc: string; remediate: boolean })
          : await bmcServer.read(String(input.id), input.props as Record<string, unknown>);
    process.stdout.write(JSON.stringify({ ok: true, value }) + "\n");
  } catch (e) {
    process.stdout.write(JSON.stringify({ ok: false, message: (e as Error).message }) + "\n");
  }
  process.exit(0);
}

void main();
