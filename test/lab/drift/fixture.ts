/**
 * What the drift lab tests need around a running lab: each server's observe target (its BMC
 * credential as the stack's state holds it, decrypted with the lab's stack passphrase), the
 * observers and the provider's `read` run from the data center's management namespace.
 */
import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { ObserveTarget } from "../../../lib/drift/observe";
import type { ObservedServer } from "../../../lib/drift/observed";
import { readStackFile } from "../../../lib/fleet";
import { PassphraseCrypter } from "../../../lab/pulumi-passphrase";
import { controlPlaneEndpoints } from "../../../lab/orchestrate/controlplane";
import { mgmtNs, REPO_ROOT, type LabLayout } from "../../../lab/orchestrate/layout";

const TSX = join(REPO_ROOT, "node_modules/.bin/tsx");
const HELPER = join(__dirname, "in-namespace.ts");

export const stackFileOf = (lab: LabLayout, dc: string) => join(lab.paths.stacks, `Pulumi.${dc}.yaml`);

/** The BmcServer's `bmc` input as the lab's deployment state keeps it (a secret), decrypted. */
export function bmcInputOf(lab: LabLayout, dc: string, server: string): Record<string, unknown> {
  const salt = readStackFile(stackFileOf(lab, dc)).encryptionSalt;
  assert.ok(salt, `the lab's stack file of ${dc} has no encryption salt`);
  const crypter = PassphraseCrypter.fromSalt(lab.secrets.stackPassphrase, salt);
  const state = JSON.parse(readFileSync(join(lab.paths.state, `${dc}.json`), "utf8")) as {
    resources: Record<string, { type: string; id: string; inputs: Record<string, unknown> }>;
  };
  const r = Object.values(state.resources).find(
    (x) => x.type === "zeroroot:fleet:BmcServer" && x.id === server,
  );
  assert.ok(r, `no BmcServer ${server} in the lab's ${dc} state`);
  const bmc = r.inputs.bmc as { secure?: string } & Record<string, unknown>;
  return typeof bmc.secure === "string"
    ? (JSON.parse(crypter.decrypt(bmc.secure)) as Record<string, unknown>)
    : bmc;
}

/** The observe target of each server of a data center, as its stack declares it. */
export function targetsOf(
  lab: LabLayout,
  dc: string,
  declared: { tcp: number[]; tls: number[] },
): ObserveTarget[] {
  const d = lab.plan.dataCenters.find((x) => x.id === dc)!;
  return d.servers.map((s) => {
    const b = bmcInputOf(lab, dc, s.id);
    return {
      dataCenter: dc,
      server: s.id,
      bmc: {
        serverId: s.id,
        address: String(b.address),
        port: Number(b.port),
        username: String(b.username),
        password: String(b.password),
        cipherSuite: 3,
      },
      address: s.dataAddress,
      declaredTcpPorts: declared.tcp,
      tlsPorts: declared.tls,
    };
  });
}

function inNs<T>(dc: string, kind: string, input: unknown): T {
  const r = spawnSync("ip", ["netns", "exec", mgmtNs(dc), TSX, HELPER, kind], {
    input: JSON.stringify(input),
    encoding: "utf8",
    timeout: 180_000,
  });
  const line = r.stdout.trim().split("\n").pop() ?? "";
  assert.ok(line.startsWith("{"), `helper in ${mgmtNs(dc)} printed no result: ${r.stdout} ${r.stderr}`);
  const out = JSON.parse(line) as { ok: boolean; value?: T; message?: string };
  assert.ok(out.ok, `helper ${kind} in ${mgmtNs(dc)}: ${out.message}`);
  return out.value as T;
}

/** lib/drift/observe's observeFleet, run where the data center's BMCs and servers are reachable. */
export function observeIn(
  lab: LabLayout,
  dc: string,
  targets: ObserveTarget[],
  probes = true,
): ObservedServer[] {
  return inNs<ObservedServer[]>(dc, "observe", {
    targets,
    endpoints: controlPlaneEndpoints(lab).endpoints,
    rootPem: join(lab.dir, "root.pem"),
    cert: lab.paths.operator.cert,
    key: lab.paths.operator.key,
    probes,
  });
}

/** The provider's BmcServer `read` (what `pulumi refresh` calls), run from the same namespace. */
export function providerReadIn(lab: LabLayout, dc: string, server: string): Record<string, unknown> {
  const props = { serverId: server, bmc: { ...bmcInputOf(lab, dc, server), cipherSuite: 3 } };
  return inNs<{ props: Record<string, unknown> }>(dc, "provider-read", { id: server, props }).props;
}

/** Polls `probe` until it returns a value that `ok` accepts; fails with the last value seen. */
export async function until<T>(
  what: string,
  probe: () => T,
  ok: (v: T) => boolean,
  timeoutMs = 90_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last = probe();
  while (!ok(last)) {
    if (Date.now() > deadline)
      assert.fail(`${what}: not seen within ${timeoutMs} ms; last: ${JSON.stringify(last).slice(0, 2000)}`);
    await new Promise((r) => setTimeout(r, 3000));
    last = probe();
  }
  return last;
}
