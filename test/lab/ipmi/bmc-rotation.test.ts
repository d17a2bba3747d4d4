/**
 * BMC credentials nobody knows, in the lab (ipmi_sim BMCs, the real stack programs through the lab
 * runner and the plugin): after `lab up` every BMC has been rotated to a managed random password
 * and the initial lab credential is refused; advancing the keeper (the stack's `bmcCredentials.
 * generation`) rotates again as an in-place update, without replacing or power-cycling the server;
 * a rotation the BMC does not honour fails the deployment with a clear message and leaves the
 * working credential in place. Brings the current lab id's lab up first (`lab up`).
 */
import { strict as assert } from "node:assert";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parse, stringify } from "yaml";
import { BmcError, IpmitoolBmcClient, spawnRunner } from "../../../lib/ipmi";
import { bmcSimEvents } from "../../../lab/bmc";
import { labBmcCredential, type LabBmcLogin } from "../../../lab/bmc/login";
import { inNamespace } from "../../../lab/net";
import { runChild } from "../../../lab/orchestrate/child";
import { BMC_USER, mgmtNs, REPO_ROOT, type LabLayout } from "../../../lab/orchestrate/layout";
import { labUp } from "../../../lab/orchestrate/up";
import { ensureLabSigners } from "../../../lab/orchestrate/pki";
import { labReleasesDir } from "../../../lab/orchestrate/releases";
import { serverStatus } from "../../../lab/server";

const TSX = join(REPO_ROOT, "node_modules", ".bin", "tsx");
const DC = "dc1";

describe("BMC credential rotation in the lab (ipmi_sim)", function () {
  this.timeout(15 * 60_000);
  let lab: LabLayout;
  let id: string;
  let bmcAddress: string;
  let stackFile: string;

  const client = (login: { username: string; password: string }) =>
    new IpmitoolBmcClient(
      { serverId: id, address: bmcAddress, ...login, cipherSuite: 3 },
      { runner: spawnRunner(inNamespace(mgmtNs(DC))), retry: { retries: 1 } },
    );
  /** true when a session opens; false when the BMC refuses the login. */
  const logsIn = async (login: { username: string; password: string }): Promise<boolean> => {
    try {
      await client(login).getPower();
      return true;
    } catch (e) {
      if (e instanceof BmcError && (e.reason === "auth" || e.reason === "session")) return false;
      throw e;
    }
  };
  const initial = () => ({ username: BMC_USER, password: lab.secrets.bmcPasswords[id] });

  /** Edits `zeroroot:dataCenter.bmcCredentials` of the data center's stack file, as an operator would. */
  const setBmcCredentials = (settings: Record<string, unknown>) => {
    const doc = parse(readFileSync(stackFile, "utf8")) as { config: Record<string, Record<string, unknown>> };
    doc.config["zeroroot:dataCenter"].bmcCredentials = settings;
    writeFileSync(stackFile, stringify(doc));
  };

  /** `pulumi up` of the data center's stack, where `lab up` runs it (its management network). */
  const deploy = async (): Promise<{ ok: boolean; lines: string[] }> => {
    const signers = ensureLabSigners(lab);
    const lines: string[] = [];
    try {
      await runChild(
        [
          "ip",
          "netns",
          "exec",
          mgmtNs(DC),
          TSX,
          join(REPO_ROOT, "lab", "orchestrate", "deploy-cli.ts"),
          "--stack-file",
          stackFile,
          "--state",
          join(lab.paths.state, `${DC}.json`),
          "--outputs-in",
          join(lab.paths.state, "global-outputs.json"),
          "--passphrase-file",
          join(lab.dir, "stack-passphrase"),
          "--releases-dir",
          labReleasesDir(lab),
        ],
        {
          ZEROROOT_OPERATOR_CERT: lab.paths.operator.cert,
          ZEROROOT_OPERATOR_KEY: lab.paths.operator.key,
          ZEROROOT_STATE_SIGNER_CERT: signers.state.cert,
          ZEROROOT_STATE_SIGNER_KEY: signers.state.key,
        },
        (line) => void lines.push(line),
      );
      return { ok: true, lines };
    } catch (e) {
      return { ok: false, lines: [...lines, (e as Error).message] };
    }
  };
  const said = (lines: string[], re: RegExp) => lines.some((l) => re.test(l));
  /** Boots and halts the BMC's hook carried out, and the server's PID 1: what a power cycle changes. */
  const machine = () => ({
    events: bmcSimEvents(join(lab.paths.bmc, id)).length,
    pid: serverStatus(id, { labDir: lab.dir }).pid,
  });

  let current: LabBmcLogin;
  let settings: Record<string, unknown>;

  before(async () => {
    // Its own `lab up`, as every lab file does (quick when the lab already runs): the file before it
    // may have taken the lab down, and with it the deployment state that records the credentials.
    const said: string[] = [];
    try {
      lab = await labUp({ log: (m) => void said.push(m) });
    } catch (e) {
      throw new Error(`${(e as Error).message}\nlab up said (last 40 lines):\n${said.slice(-40).join("\n")}`);
    }
    const dc = lab.plan.dataCenters.find((d) => d.id === DC);
    assert.ok(dc, `the lab has ${DC}`);
    id = dc.servers[0].id;
    bmcAddress = dc.servers[0].bmcAddress;
    stackFile = join(lab.paths.stacks, `Pulumi.${DC}.yaml`);
    const doc = parse(readFileSync(stackFile, "utf8")) as { config: Record<string, Record<string, unknown>> };
    settings = { ...((doc.config["zeroroot:dataCenter"].bmcCredentials as Record<string, unknown>) ?? {}) };
  });

  let gen = 0;
  after(() => {
    // The stack file as the test found it, but for the generation: rotations are not undone.
    if (stackFile && settings) setBmcCredentials({ ...settings, passwordBytes: 16, generation: gen });
  });

  it("after lab up the BMC password was rotated: the deployment recorded a managed user", () => {
    current = labBmcCredential(lab, id);
    assert.equal(current.source, "managed", "a BmcCredential is recorded for the server");
    assert.match(current.username, /^zeroroot-[ab]$/);
    assert.notEqual(current.password, lab.secrets.bmcPasswords[id]);
    assert.match(current.password, /^[A-Za-z0-9]{16}$/);
  });

  it("a login with the initial credential is refused", async () => {
    assert.equal(await logsIn(initial()), false);
  });

  it("a login with the managed credential works", async () => {
    assert.equal(await logsIn(current), true);
  });

  it("advancing the keeper rotates again as an update: server not replaced, not power-cycled", async () => {
    gen = Number(settings.generation ?? 0) + 1;
    const machineBefore = machine();
    assert.ok(machineBefore.pid && machineBefore.events > 0, "the server runs, booted through its BMC");
    setBmcCredentials({ ...settings, generation: gen });
    const r = await deploy();
    assert.ok(r.ok, `the deployment succeeds:\n${r.lines.slice(-15).join("\n")}`);
    // The plugin makes the password: no random resource is registered, none is replaced.
    assert.ok(!said(r.lines, /RandomPassword/), r.lines.join("\n"));
    assert.ok(said(r.lines, new RegExp(`BmcCredential ${id}-bmc-credential: updated`)), r.lines.join("\n"));
    assert.ok(
      said(r.lines, new RegExp(`BmcServer ${id}-bmc: updated`)),
      "the server takes the new login in place",
    );
    assert.ok(!said(r.lines, new RegExp(`replacing|BmcServer ${id}-bmc: replaced`)), "nothing is replaced");
    assert.deepEqual(machine(), machineBefore, "no boot or halt, the same PID 1");
    const rotated = labBmcCredential(lab, id);
    assert.equal(rotated.source, "managed");
    assert.notEqual(rotated.username, current.username, "the other managed user slot");
    assert.notEqual(rotated.password, current.password);
    assert.equal(await logsIn(rotated), true, "the new credential logs in");
    assert.equal(await logsIn(current), false, "the previous managed credential is refused");
    assert.equal(await logsIn(initial()), false, "the initial credential stays refused");
    current = rotated;
  });

  it("a rotation the BMC does not honour fails with a clear message and keeps the working credential", async () => {
    // ipmi_sim accepts a 20-byte password on `user set password` and then refuses every login with it
    // (LAB-NOTES): a BMC that says yes and does not do it.
    const machineBefore = machine();
    setBmcCredentials({ ...settings, generation: gen, passwordBytes: 20 });
    const r = await deploy();
    assert.equal(r.ok, false, "the deployment fails");
    assert.ok(
      said(
        r.lines,
        new RegExp(
          `BmcCredential ${id}-bmc-credential: FAILED.*login is refused.*still logs in and stays in use`,
        ),
      ),
      r.lines.slice(-15).join("\n"),
    );
    assert.ok(!r.lines.join("\n").includes(current.password), "no password in the output");
    const now = labBmcCredential(lab, id);
    assert.deepEqual(
      [now.username, now.password],
      [current.username, current.password],
      "the recorded login",
    );
    assert.equal(await logsIn(current), true, "the working credential still logs in");
    assert.equal(await logsIn(initial()), false);
    assert.deepEqual(machine(), machineBefore, "the server was not touched");
  });

  // A failed update leaves the engine's state as it was (the plugin never writes a credential it could
  // not verify), so the honoured size again is what the state says: nothing to do. Rotation stays one
  // keeper change away.
  it("back to a size the BMC honours, the next deployment changes nothing; the next keeper rotates", async () => {
    setBmcCredentials({ ...settings, generation: gen, passwordBytes: 16 });
    const same = await deploy();
    assert.ok(same.ok, `the deployment succeeds:\n${same.lines.slice(-15).join("\n")}`);
    assert.ok(
      !said(same.lines, new RegExp(`BmcCredential ${id}-bmc-credential: updated`)),
      same.lines.join("\n"),
    );
    const kept = labBmcCredential(lab, id);
    assert.deepEqual([kept.username, kept.password], [current.username, current.password]);
    assert.equal(await logsIn(kept), true);

    setBmcCredentials({ ...settings, generation: gen + 1, passwordBytes: 16 });
    const r = await deploy();
    assert.ok(r.ok, `the deployment succeeds:\n${r.lines.slice(-15).join("\n")}`);
    assert.ok(said(r.lines, new RegExp(`BmcCredential ${id}-bmc-credential: updated`)), r.lines.join("\n"));
    const now = labBmcCredential(lab, id);
    assert.notEqual(now.password, current.password);
    assert.equal(await logsIn(now), true);
    assert.equal(await logsIn(current), false);
    assert.equal(await logsIn(initial()), false);
  });
});
