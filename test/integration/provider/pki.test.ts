/**
 * The plugin as the engine drives it, for the certificate hierarchy: RootCa, IssuingCa and
 * Certificate, each through Check, Create, Read, Diff, Update and Delete over gRPC. Defaults come
 * from lib/pki's profiles; a diff never reports a change the resource cannot apply in place.
 */
import { strict as assert } from "node:assert";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PluginHost, urnOf, type Props } from "../../../provider/host";
import { secret, SECRET_SIG } from "../../../provider/values";
import {
  createCsr,
  exportPkcs8,
  generateKeyPair,
  issueCrl,
  loadCa,
  parseCertificate,
  PROFILES,
} from "../../../lib/pki";

const urn = (type: string, name: string) => urnOf("global", "zeroroot", type, name);
const ROOT = urn("zeroroot:pki:RootCa", "root");
const ISSUING = urn("zeroroot:pki:IssuingCa", "dc1-issuing");
const CERT = urn("zeroroot:pki:Certificate", "dc1-s01-cert");
const unwrap = (v: unknown) =>
  v && typeof v === "object" && SECRET_SIG in v ? (v as unknown as { value: unknown }).value : v;

describe("provider plugin over gRPC: RootCa, IssuingCa, Certificate", function () {
  this.timeout(60_000);
  const dir = mkdtempSync(join(tmpdir(), "zr-provider-pki-"));
  let plugin: PluginHost;
  // As the engine stores each: inputs, and outputs that do not repeat them.
  type Stored = { id: string; inputs: Props; outs: Props };
  let root: Stored;
  let issuing: Stored;
  let cert: Stored;
  const create = async (urn: string, inputs: Props): Promise<Stored> => ({
    ...(await plugin.create(urn, inputs)),
    inputs,
  });
  const issuingKey = generateKeyPair();
  const keyPath = join(dir, "issuing.key");
  writeFileSync(keyPath, exportPkcs8(issuingKey.privateKey));

  before(async () => {
    plugin = await PluginHost.start();
    await plugin.configure();
  });
  after(async () => plugin?.close());

  describe("RootCa", () => {
    it("Check takes validity and renewal from lib/pki's root profile and refuses an unknown key type", async () => {
      const r = await plugin.check(ROOT, {}, { commonName: "test root" });
      assert.deepEqual(r.failures, []);
      assert.equal(r.inputs.validityDays, PROFILES.root.validityDays);
      assert.equal(r.inputs.renewBeforeDays, PROFILES.root.renewBeforeDays);
      const bad = await plugin.check(ROOT, {}, { commonName: "test root", keyType: "dsa-1024" });
      assert.match(
        bad.failures[0].reason,
        /keyType is "dsa-1024"; allowed: "ec-p256", "ec-p384", "rsa-3072", "rsa-4096"/,
      );
    });

    it("Create returns the certificate and its key, the key marked secret on the wire", async () => {
      const inputs = (await plugin.check(ROOT, {}, { commonName: "test root", validityDays: 3650 })).inputs;
      root = await create(ROOT, inputs);
      assert.ok(SECRET_SIG in (root.outs.keyPem as object), "keyPem is secret");
      assert.equal(parseCertificate(String(root.outs.certificatePem)).commonName, "test root");
      assert.equal(root.id, root.outs.serial);
    });

    it("Read re-derives serial and dates from the stored certificate (a hand-edited state is drift)", async () => {
      const r = await plugin.read(
        root.id,
        ROOT,
        { ...root.outs, notAfter: "2099-01-01T00:00:00.000Z" },
        root.inputs,
      );
      assert.equal(r.props.notAfter, root.outs.notAfter);
      assert.equal(r.inputs.commonName, "test root");
      assert.ok(!("certificatePem" in r.inputs), "Read's inputs are inputs only");
    });

    it("refuses an import by id alone: the key exists only in state", async () => {
      await assert.rejects(
        plugin.read(root.id, ROOT, {}),
        /cannot be imported: its key exists only in Pulumi state/,
      );
    });

    it("Diff applies a new renewal window in place, and Update keeps the certificate and key", async () => {
      const news = (
        await plugin.check(ROOT, {}, { commonName: "test root", validityDays: 3650, renewBeforeDays: 100 })
      ).inputs;
      assert.deepEqual(await plugin.diff(root.id, ROOT, root.outs, news, root.inputs), {
        changes: true,
        replaces: [],
        diffs: ["renewBeforeDays"],
        deleteBeforeReplace: false,
      });
      const outs = await plugin.update(root.id, ROOT, root.outs, news, root.inputs);
      assert.equal(outs.renewBeforeDays, undefined, "an input, stored once as an input");
      assert.equal(outs.certificatePem, root.outs.certificatePem);
      assert.ok(SECRET_SIG in (outs.keyPem as object), "keyPem stays secret after Update");
    });

    it("Diff replaces on any other change, and when the renewal window is reached", async () => {
      const base = { commonName: "test root", validityDays: 3650 };
      const soon = new Date(Date.now() + 10 * 86_400_000).toISOString();
      const cases: [Props, Props, string[]][] = [
        [{}, { ...base, commonName: "other root" }, ["commonName"]],
        [{}, { ...base, keyType: "ec-p384" }, ["keyType"]],
        [{}, { ...base, validityDays: 3000 }, ["validityDays"]],
        [{ notAfter: soon }, base, ["notAfter"]],
      ];
      for (const [old, n, replaces] of cases) {
        const news = (await plugin.check(ROOT, {}, n)).inputs;
        const d = await plugin.diff(root.id, ROOT, { ...root.outs, ...old }, news, root.inputs);
        assert.deepEqual(d.replaces, replaces, JSON.stringify(n));
        assert.equal(d.changes, true);
      }
    });
  });

  describe("IssuingCa", () => {
    const csrPem = createCsr({ commonName: "dc1.zeroroot.example issuing CA" }, issuingKey.privateKey);
    const args = (over: Props = {}): Props => ({
      dataCenter: "dc1",
      dnsZones: ["dc1.zeroroot.example"],
      csrPem,
      rootCertificatePem: root.outs.certificatePem,
      rootKeyPem: secret(unwrap(root.outs.keyPem)),
      ...over,
    });

    it("Create signs the CSR with the root; the root key is never an output", async () => {
      const inputs = (await plugin.check(ISSUING, {}, args())).inputs;
      assert.deepEqual(inputs.kinds, ["computer", "service"]);
      assert.equal(inputs.validityDays, PROFILES.issuing.validityDays);
      issuing = await create(ISSUING, inputs);
      assert.ok(!("rootKeyPem" in issuing.outs));
      assert.ok(parseCertificate(String(issuing.outs.certificatePem)).isCa);
    });

    it("has no in-place update, so every change is a replacement", async () => {
      const news = (await plugin.check(ISSUING, {}, { ...args(), renewBeforeDays: 100 })).inputs;
      assert.deepEqual(
        (await plugin.diff(issuing.id, ISSUING, issuing.outs, news, issuing.inputs)).replaces,
        ["renewBeforeDays"],
      );
      const same = (await plugin.check(ISSUING, {}, args())).inputs;
      assert.equal(
        (await plugin.diff(issuing.id, ISSUING, issuing.outs, same, issuing.inputs)).changes,
        false,
      );
    });

    it("Read reports the CA revoked once the root's CRL names it, and the next Diff replaces it", async () => {
      const rootCa = loadCa(String(root.outs.certificatePem), String(unwrap(root.outs.keyPem)));
      const crlPath = join(dir, "root.crl");
      writeFileSync(crlPath, issueCrl(rootCa, [], { number: 1 }));
      const inputs = (await plugin.check(ISSUING, {}, args({ crlPath }))).inputs;
      const before = await plugin.read(issuing.id, ISSUING, issuing.outs, inputs);
      assert.equal(before.props.revoked, false);
      writeFileSync(
        crlPath,
        issueCrl(rootCa, [{ serial: issuing.id, reason: "cACompromise", revokedAt: new Date() }], {
          number: 2,
        }),
      );
      const after = await plugin.read(issuing.id, ISSUING, issuing.outs, inputs);
      assert.equal(after.props.revoked, true);
      assert.match(String(after.props.revocationDetail), /is revoked/);
      assert.deepEqual((await plugin.diff(issuing.id, ISSUING, after.props, inputs, after.inputs)).replaces, [
        "revoked",
      ]);
      // A CRL that is not the root's is refused, not read as "not revoked".
      const other = loadCa(String(issuing.outs.certificatePem), exportPkcs8(issuingKey.privateKey));
      writeFileSync(crlPath, issueCrl(other, [], { number: 1 }));
      await assert.rejects(plugin.read(issuing.id, ISSUING, issuing.outs, inputs), /crl-missing/);
    });
  });

  describe("Certificate", () => {
    const leafKey = generateKeyPair();
    const leafCsr = createCsr({ commonName: "dc1-s01" }, leafKey.privateKey);
    const args = (over: Props = {}): Props => ({
      kind: "computer",
      subject: "dc1-s01",
      csrPem: leafCsr,
      caCertificatePem: issuing.outs.certificatePem,
      keyPath,
      ...over,
    });

    it("Check refuses a CSR whose key is not the declared key type", async () => {
      const r = await plugin.check(CERT, {}, args({ keyType: "ec-p384" }));
      assert.match(r.failures[0].reason, /the CSR carries a ec-p256 key but keyType is ec-p384/);
    });

    it("Create issues from the CSR with the issuing key read by path; state holds no key", async () => {
      const inputs = (await plugin.check(CERT, {}, args())).inputs;
      assert.deepEqual(inputs.extendedKeyUsage, PROFILES.computer.extendedKeyUsage);
      cert = await create(CERT, inputs);
      assert.equal(parseCertificate(String(cert.outs.certPem)).commonName, "dc1-s01");
      assert.ok(!JSON.stringify(cert.outs).includes("PRIVATE KEY"));
    });

    it("Read runs the nodes' verifier: valid before, revoked once the CA's CRL names it", async () => {
      const before = await plugin.read(cert.id, CERT, cert.outs, cert.inputs);
      assert.equal(before.props.verification, "ok");
      assert.equal(before.props.revoked, false);
      const ca = loadCa(String(issuing.outs.certificatePem), exportPkcs8(issuingKey.privateKey));
      const crlPath = join(dir, "issuing.crl");
      writeFileSync(
        crlPath,
        issueCrl(ca, [{ serial: String(cert.outs.serial), reason: "keyCompromise", revokedAt: new Date() }], {
          number: 1,
        }),
      );
      const news = (await plugin.check(CERT, {}, args({ crlPath }))).inputs;
      const after = await plugin.read(cert.id, CERT, cert.outs, news);
      assert.equal(after.props.revoked, true);
      assert.equal(after.props.verification, "revoked");
      assert.deepEqual((await plugin.diff(cert.id, CERT, after.props, news, after.inputs)).replaces, [
        "revoked",
      ]);
    });

    it("Update applies a moved key file in place and keeps the certificate", async () => {
      const moved = join(dir, "moved.key");
      writeFileSync(moved, exportPkcs8(issuingKey.privateKey));
      const news = (await plugin.check(CERT, {}, args({ keyPath: moved }))).inputs;
      assert.deepEqual(await plugin.diff(cert.id, CERT, cert.outs, news, cert.inputs), {
        changes: true,
        replaces: [],
        diffs: ["keyPath"],
        deleteBeforeReplace: false,
      });
      const outs = await plugin.update(cert.id, CERT, cert.outs, news, cert.inputs);
      assert.equal(outs.certPem, cert.outs.certPem);
    });

    it("Delete is accepted and leaves nothing to do (an issued certificate cannot be un-issued)", async () => {
      await plugin.delete(cert.id, CERT, cert.outs, cert.inputs);
    });
  });
});
