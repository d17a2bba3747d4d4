/**
 * Desired-state freshness on real etcd with the bundled agent (requireFreshness on): the data
 * center's timestamp service, as its own etcd user, vouches for the document; when it freezes, the
 * statement expires within its (here 6-second) period and the node applies nothing new.
 */
import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import { keys } from "../../../lib/controlplane";
import { timestampName } from "../../../lib/desired-state";
import * as pki from "../../../lib/pki";
import { parseAuthorisationList } from "../../../lib/release";
import { issueIdentity } from "../../../lab/controlplane";
import { TimestampLoop, type StatementStore } from "../../../agents/site/timestamp";
import { AgentLab, canRunLab, COMPUTER, sleep, waitFor, ZONE } from "./harness";

const LIFETIME_SECONDS = 6;

(canRunLab() ? describe : describe.skip)("desired-state freshness on real etcd (lab)", function () {
  this.timeout(180_000);
  const lab = new AgentLab({ partitions: 1, requireFreshness: true });
  let loop: TimestampLoop;

  /** The timestamp service's etcd calls, made inside the test network as its own identity. */
  const store: StatementStore = {
    get: async (key) => {
      const a = await lab.probe.get("ts", key);
      if (!a.ok) throw new Error(`${a.kind}: ${a.message}`);
      return a.value ?? undefined;
    },
    put: async (key, value) => {
      const a = await lab.probe.put("ts", key, value);
      if (!a.ok) throw new Error(`${a.kind}: ${a.message}`);
    },
    watch: () => Promise.resolve({ cancel: () => Promise.resolve() }),
  };
  const version = async () => (await lab.status())?.desired?.version;
  const alert = (kind: string, v: number) =>
    waitFor(
      async () => (await lab.alerts()).find((a) => a.kind === kind && a.evidence?.version === v),
      20_000,
      `${kind} alert for version ${v}`,
      250,
    );

  before(async () => {
    await lab.start();
    const name = timestampName(`dc1.${ZONE}`);
    const id = issueIdentity(lab.ca.dc1, lab.rootPem, "service", name);
    await lab.probe.connect("ts", lab.cp.endpoints, id);
    loop = new TimestampLoop({
      dataCenter: "dc1",
      signer: {
        privateKey: pki.loadPrivateKey(id.privateKeyPem),
        certificatePem: id.certificateChainPem.split(/(?<=-----END CERTIFICATE-----\n?)/)[0],
        chainPem: lab.ca.dc1.certificatePem,
      },
      store,
      computers: () => [COMPUTER],
      trust: {
        root: lab.rootPem,
        authorisation: parseAuthorisationList({
          signers: [{ identity: "dc1/software/control-plane-dc1", desiredState: ["dc1"] }],
        }),
      },
      lifetimeSeconds: LIFETIME_SECONDS,
      log: () => undefined,
    });
  });

  after(async () => {
    if (process.env.ZR_KEEP_LAB) return;
    await lab.close();
  });

  afterEach(function () {
    if (this.currentTest?.state === "failed" && fs.existsSync(lab.agentLog))
      console.log(fs.readFileSync(lab.agentLog, "utf8").split("\n").slice(-40).join("\n"));
  });

  it("lets the timestamp identity write its computers' statements only, not their documents", async () => {
    assert.equal((await lab.probe.put("ts", keys.desired(COMPUTER), "{}")).kind, "permission-denied");
    assert.equal((await lab.probe.put("ts", keys.freshness("dc1-s2"), "{}")).ok, true, "dc1-s2 is dc1's too");
    assert.equal((await lab.probe.put("ts", keys.status(COMPUTER), "{}")).kind, "permission-denied");
    assert.equal((await lab.probe.put("s1", keys.freshness(COMPUTER), "{}")).kind, "permission-denied");
  });

  it("holds a new document until the timestamp service vouches for it, then applies it", async () => {
    await lab.putDesired([]);
    lab.startAgent();
    await alert("desired-state-not-fresh", 1);
    assert.equal(await version(), undefined, "nothing applied without a statement");
    assert.equal(await loop.stamp(COMPUTER), true);
    await waitFor(async () => (await version()) === 1 || undefined, 20_000, "version 1 applied", 250);
  });

  it("a frozen timestamp service: the node alerts within the period and applies nothing new", async () => {
    const frozenAt = Date.now();
    await alert("desired-state-stale", 1);
    assert.ok(Date.now() - frozenAt < (LIFETIME_SECONDS + 10) * 1000, "noticed within the period");
    await lab.putDesired([]);
    await alert("desired-state-not-fresh", 2);
    await sleep(3000);
    assert.equal(await version(), 1, "version 2 is held while nobody vouches for it");
    assert.equal(await loop.stamp(COMPUTER), true);
    await waitFor(async () => (await version()) === 2 || undefined, 20_000, "version 2 applied", 250);
  });

  it("refuses a replayed statement of the superseded version", async () => {
    // read and written back as root, as an intruder with write access to etcd would (the timestamp
    // service's own role cannot even read statements back)
    const old = (await lab.etcdctl(["get", keys.freshness(COMPUTER), "--print-value-only"])).trim();
    assert.match(old, /"version":2/);
    await lab.putDesired([]);
    await lab.etcdctl(["put", keys.freshness(COMPUTER), old]);
    await alert("desired-state-not-fresh", 3);
    await sleep(2000);
    assert.equal(await version(), 2);
  });
});
