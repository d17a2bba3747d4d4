/**
 * Runs drift's observers, or the provider's BmcServer `read`, from inside a lab management namespace
 * (the test process lives in the host's namespace, which reaches no lab network). Input is one JSON
 * document on stdin (it holds BMC passwords: never on a command line); output one JSON line.
 *
 *   in-namespace.ts observe        stdin {targets, endpoints, rootPem, cert, key, probes}
 *   in-namespace.ts provider-read  stdin {id, props}
 */
import { readFileSync } from "node:fs";
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

async function main(): Promise<void> {
  const kind = process.argv[2];
  const input = JSON.parse(readFileSync(0, "utf8")) as Record<string, unknown>;
  try {
    const value =
      kind === "observe"
        ? await observe(input as unknown as ObserveInput)
        : await bmcServer.read(String(input.id), input.props as Record<string, unknown>);
    process.stdout.write(JSON.stringify({ ok: true, value }) + "\n");
  } catch (e) {
    process.stdout.write(JSON.stringify({ ok: false, message: (e as Error).message }) + "\n");
  }
  process.exit(0);
}

void main();
