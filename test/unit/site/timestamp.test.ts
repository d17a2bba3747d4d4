import { strict as assert } from "node:assert";
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { keys, type WatchHandlers } from "../../../lib/controlplane";
import {
  buildDesiredState,
  desiredStateDigest,
  signDesiredState,
  verifyFreshnessText,
  FRESHNESS_LIMITS,
} from "../../../lib/desired-state";
import * as pki from "../../../lib/pki";
import { parseAuthorisationList } from "../../../lib/release";
import { loadTimestampIdentity, TimestampLoop, type StatementStore } from "../../../agents/site/timestamp";
import { identityOf, issuingCa, leaf, type Party } from "../release/fixtures";

/** The two calls the loop makes, over a map; watches are recorded so a test can fire them. */
class MapStore implements StatementStore {
  readonly data = new Map<string, string>();
  readonly watched = new Map<string, WatchHandlers>();
  puts = 0;
  get(key: string) {
    return Promise.resolve(this.data.get(key));
  }
  put(key: string, value: string) {
    this.puts++;
    this.data.set(key, value);
    return Promise.resolve();
  }
  watch(key: string, h: WatchHandlers) {
    this.watched.set(key, h);
    return Promise.resolve({ cancel: () => Promise.resolve() });
  }
}

describe("the site's timestamp service (re-signs freshness statements for its computers)", function () {
  this.timeout(30_000);
  const dir = mkdtempSync(join(tmpdir(), "zr-ts-"));
  const config = { dataCenter: "dc1", domain: "zeroroot.example", stateDir: dir };
  let rootPem: string;
  let siteCa: pki.CertificateAuthority;
  let stateSigner: Party;
  let mallory: Party;
  let computer: Party;
  const LIFE = 3600;

  before(() => {
    const root = pki.createRootCa({ commonName: "zeroroot root CA" });
    rootPem = root.certificatePem;
    siteCa = issuingCa(root.ca, "dc1", ["computer", "service"]);
    const offline = issuingCa(root.ca, "dc1");
    stateSigner = leaf(offline, "software", "control-plane-dc1");
    mallory = leaf(offline, "software", "mallory");
    computer = leaf(siteCa, "computer", "dc1-s01");
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  const authorisation = () =>
    parseAuthorisationList({
      signers: [{ identity: "dc1/software/control-plane-dc1", desiredState: ["dc1"] }],
    });
  const document = (version: number, signer: Party = stateSigner, computerId = "dc1-s01") =>
    JSON.stringify(
      signDesiredState(
        buildDesiredState({ computerId, dataCenter: "dc1", version, instances: [], validitySeconds: 86_400 }),
        signer,
      ),
    );
  const setup = () => {
    const id = loadTimestampIdentity(config, siteCa, rootPem);
    const store = new MapStore();
    const loop = new TimestampLoop({
      dataCenter: "dc1",
      signer: id.signer,
      store,
      computers: () => ["dc1-s01"],
      trust: { root: rootPem, authorisation: authorisation() },
      lifetimeSeconds: LIFE,
      log: () => undefined,
    });
    return { id, store, loop };
  };
  /** What the node decides about the stored statement for `doc`. */
  const nodeVerdict = (store: MapStore, doc: string, now = new Date()) => {
    const d = (JSON.parse(doc) as { document: Parameters<typeof desiredStateDigest>[0] }).document;
    const r = verifyFreshnessText(store.data.get(keys.freshness("dc1-s01")), {
      root: rootPem,
      node: identityOf({ rootPem } as never, computer),
      target: { computerId: "dc1-s01", version: d.version, digest: desiredStateDigest(d) },
      now,
    });
    return r.ok ? "fresh" : r.reason;
  };

  it("issues its own identity dc1/service/timestamp.dc1.<domain> from the site's CA, key kept 0600, and reuses it", () => {
    const a = loadTimestampIdentity(config, siteCa, rootPem);
    const v = pki.verifyIdentity(a.client.certificateChainPem, rootPem, { use: "clientAuth" });
    assert.ok(v.ok);
    assert.equal(pki.formatIdentity(v.identity), "dc1/service/timestamp.dc1.zeroroot.example");
    assert.equal(statSync(join(dir, "timestamp.key")).mode & 0o777, 0o600);
    assert.equal(
      loadTimestampIdentity(config, siteCa, rootPem).signer.certificatePem,
      a.signer.certificatePem,
    );
  });

  it("vouches for the computer's current document so that the node accepts it", async () => {
    const { store, loop } = setup();
    const doc = document(3);
    store.data.set(keys.desired("dc1-s01"), doc);
    assert.equal(await loop.scan(), 1);
    assert.equal(nodeVerdict(store, doc), "fresh");
    assert.ok(
      store.watched.has(keys.desired("dc1-s01")),
      "watches the document to vouch for a new one at once",
    );
  });

  it("re-signs only once a quarter of the lifetime has passed, so the node never sees it expire while the site runs", async () => {
    const { store, loop } = setup();
    const doc = document(3);
    store.data.set(keys.desired("dc1-s01"), doc);
    const t0 = Date.now();
    await loop.scan(new Date(t0));
    assert.equal(await loop.scan(new Date(t0 + 60_000)), 0);
    const renew = t0 + LIFE * 1000 * FRESHNESS_LIMITS.renewFraction;
    assert.equal(await loop.scan(new Date(renew + 1000)), 1);
    assert.equal(store.puts, 2);
  });

  it("a frozen site's last statement stops vouching after the lifetime", async () => {
    const { store, loop } = setup();
    const doc = document(3);
    store.data.set(keys.desired("dc1-s01"), doc);
    await loop.scan();
    assert.equal(nodeVerdict(store, doc, new Date(Date.now() + LIFE * 1000 + 1000)), "expired");
  });

  it("vouches for a new version as soon as it is written, and the old statement no longer fits it", async () => {
    const { store, loop } = setup();
    store.data.set(keys.desired("dc1-s01"), document(3));
    await loop.scan();
    const v4 = document(4);
    store.data.set(keys.desired("dc1-s01"), v4);
    assert.equal(nodeVerdict(store, v4), "wrong-version");
    assert.equal(await loop.stamp("dc1-s01"), true);
    assert.equal(nodeVerdict(store, v4), "fresh");
  });

  it("refuses to vouch for a document the nodes would refuse, or for a version below one it vouched for", async () => {
    const { store, loop } = setup();
    store.data.set(keys.desired("dc1-s01"), document(3, mallory));
    assert.equal(await loop.stamp("dc1-s01"), false, "unauthorised signer");
    store.data.set(keys.desired("dc1-s01"), document(3, stateSigner, "dc1-s02"));
    assert.equal(await loop.stamp("dc1-s01"), false, "a document for another computer");
    store.data.set(keys.desired("dc1-s01"), document(5));
    assert.equal(await loop.stamp("dc1-s01"), true);
    store.data.set(keys.desired("dc1-s01"), document(4));
    assert.equal(await loop.stamp("dc1-s01"), false, "rollback written to the control plane");
    assert.equal(store.puts, 1);
  });
});
