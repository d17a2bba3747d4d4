/**
 * Lifecycle safety and single facts in the stack programs, under Pulumi's mocks: a server is
 * powered off only by an explicit decommission (retainOnDelete, protect for data-holding ones), a
 * disagreement with the global stack fails the program, the image the servers install is a real
 * HardenedImage from lib/hardening's spec, removed config keys are refused with why, and the
 * managed root is @pulumi/tls's.
 */
import { strict as assert } from "node:assert";
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ConfigValidationError, readStackFile } from "../../../lib/fleet";
import { PROFILES } from "../../../lib/pki";
import { resolveHardenedImageSpec, specHash } from "../../../lib/hardening";
import { evaluateStack, revealSecrets, type EvaluatedResource } from "../../../lab/stack-eval";

const STACKS = join(__dirname, "../../../stacks");
const ROOT_PEM = "-----BEGIN CERTIFICATE-----\nMIIB(test root)\n-----END CERTIFICATE-----\n";
const GLOBAL = {
  domain: "zeroroot.example",
  dataCenters: ["dc1", "dc2", "dc3"],
  rootCertificatePem: ROOT_PEM,
};
const outputsOf = (g: Record<string, unknown>) => ({ "organization/zeroroot/global": g });

/** A copy of the example stacks with `edit` applied to one file; returns that file's path. */
function edited(name: string, edit: (text: string) => string): string {
  const dir = mkdtempSync(join(tmpdir(), "zr-lifecycle-"));
  cpSync(STACKS, dir, { recursive: true, filter: (s) => !s.endsWith(".ts") });
  const file = join(dir, name);
  writeFileSync(file, edit(readFileSync(file, "utf8")));
  return file;
}

const bmcOf = (rs: EvaluatedResource[], id: string) =>
  rs.find((r) => r.type === "zeroroot:fleet:BmcServer" && r.inputs.serverId === id)!;

type Server = { id: string; roles: string[] };
const servers = (file: string) =>
  (readStackFile(file).values["zeroroot:dataCenter"] as { servers: Server[] }).servers;

describe("stack lifecycle: a server is powered off only by an explicit decommission", function () {
  this.timeout(60_000);

  it("every BmcServer is retainOnDelete; those running a data-holding service are also protected", async () => {
    const file = join(STACKS, "Pulumi.dc1.yaml");
    const e = await evaluateStack(file, { stackOutputs: outputsOf(GLOBAL) });
    const all = servers(file);
    // dc1-s01 runs the PostgreSQL primary and a Galera member (holdsData: true); dask (holdsData:
    // false) runs on the compute servers; the other storage servers run nothing.
    assert.ok(all.some((s) => s.id === "dc1-s01") && all.some((s) => s.id !== "dc1-s01"));
    for (const s of all) {
      const b = bmcOf(e.resources, s.id);
      assert.deepEqual(
        b.options,
        { protect: s.id === "dc1-s01", retainOnDelete: true },
        `options of ${s.id} (${s.roles.join(",")})`,
      );
      assert.equal(b.inputs.power, "on");
    }
  });

  it("decommission: true lifts protection and retention, powers the server off and places nothing on it", async () => {
    const file = edited("Pulumi.dc1.yaml", (t) =>
      t.replace(
        '        macs: ["52:54:00:01:01:11"]\n',
        '        macs: ["52:54:00:01:01:11"]\n        decommission: true\n',
      ),
    );
    const e = await evaluateStack(file, { stackOutputs: outputsOf(GLOBAL) });
    const b = bmcOf(e.resources, "dc1-s01");
    assert.deepEqual(b.options, { protect: false, retainOnDelete: false });
    assert.equal(b.inputs.power, "off");
    const state = e.resources.find(
      (r) => r.type === "zeroroot:desired-state:DesiredState" && r.inputs.computerId === "dc1-s01",
    );
    assert.deepEqual(state?.inputs.instances, []);
    // The other servers keep theirs: retained (none of them holds data).
    for (const other of servers(file).filter((s) => s.id !== "dc1-s01"))
      assert.deepEqual(bmcOf(e.resources, other.id).options, { protect: false, retainOnDelete: true });
  });

  it("refuses a decommission flag that is not a boolean, at its key path", async () => {
    // on dc1-s02, where no service is placed by name (dc1-s01's would be reported too)
    const file = edited("Pulumi.dc1.yaml", (t) =>
      t.replace(
        '        macs: ["52:54:00:01:01:12"]\n',
        '        macs: ["52:54:00:01:01:12"]\n        decommission: "yes"\n',
      ),
    );
    await assert.rejects(evaluateStack(file, { stackOutputs: outputsOf(GLOBAL) }), (err: unknown) => {
      assert.ok(err instanceof ConfigValidationError);
      assert.deepEqual(
        err.issues.map((i) => i.path),
        ["zeroroot:dataCenter.servers[1].decommission"],
      );
      assert.match(err.issues[0].allowed, /true to power the server off/);
      return true;
    });
  });
});

describe("stack consistency checks fail the program", function () {
  this.timeout(60_000);

  it("fails, naming both domains, when the global stack has another domain", async () => {
    await assert.rejects(
      evaluateStack(join(STACKS, "Pulumi.dc2.yaml"), {
        stackOutputs: outputsOf({ ...GLOBAL, domain: "other.example" }),
      }),
      /stack for dc2 disagrees with the global stack:\n {2}- zeroroot:domain is "zeroroot\.example" but the global stack organization\/zeroroot\/global has "other\.example"/,
    );
  });

  it("fails when the data center is not in the global stack's list, naming the list", async () => {
    await assert.rejects(
      evaluateStack(join(STACKS, "Pulumi.dc3.yaml"), {
        stackOutputs: outputsOf({ ...GLOBAL, dataCenters: ["dc1", "dc2", "dc4"] }),
      }),
      /data center "dc3" is not in the global stack's zeroroot:global\.dataCenters \("dc1", "dc2", "dc4"\); add it there first/,
    );
  });

  it("registers no BmcServer with a root certificate when the check fails (every resource waits for it)", async () => {
    const seen: EvaluatedResource[] = [];
    await assert.rejects(
      evaluateStack(join(STACKS, "Pulumi.dc2.yaml"), {
        stackOutputs: outputsOf({ ...GLOBAL, domain: "other.example" }),
        onResource: async (r) => {
          seen.push(r);
          return { id: r.name, state: r.inputs };
        },
      }),
      /disagrees with the global stack/,
    );
    assert.deepEqual(
      seen.filter((r) => r.type === "zeroroot:fleet:BmcServer"),
      [],
    );
  });
});

describe("stack facts: image, removed keys, cipher suites, managed root", function () {
  this.timeout(60_000);

  it("creates one HardenedImage per data center from lib/hardening's spec", async () => {
    const e = await evaluateStack(join(STACKS, "Pulumi.dc1.yaml"), { stackOutputs: outputsOf(GLOBAL) });
    const images = e.resources.filter((r) => r.type === "zeroroot:image:HardenedImage");
    assert.equal(images.length, 1);
    const partitions = (
      readStackFile(join(STACKS, "Pulumi.dc1.yaml")).values["zeroroot:dataCenter"] as {
        partitionsPerServer?: number;
      }
    ).partitionsPerServer;
    const spec = resolveHardenedImageSpec({ partitions: partitions ?? 100 });
    assert.equal(images[0].inputs.specHash, specHash(spec));
    assert.deepEqual(images[0].inputs.packages, spec.packages);
    assert.equal(images[0].inputs.dataCenter, "dc1");
    assert.equal(images[0].inputs.imageSha256, undefined);
    assert.equal(e.outputs.imageSpecHash, specHash(spec));
  });

  it("passes the configured image archive (sha256, site image dir) to the HardenedImage", async () => {
    const sha = "ab".repeat(32);
    const file = edited("Pulumi.dc1.yaml", (t) =>
      t.replace(
        "    servers:\n",
        `    image: { sha256: ${sha}, dir: /var/lib/zeroroot/site/images }\n    servers:\n`,
      ),
    );
    const e = await evaluateStack(file, { stackOutputs: outputsOf(GLOBAL) });
    const image = e.resources.find((r) => r.type === "zeroroot:image:HardenedImage")!;
    assert.equal(image.inputs.imageSha256, sha);
    assert.equal(image.inputs.imageDir, "/var/lib/zeroroot/site/images");
  });

  it("refuses the removed bootDisk key as unknown, saying it was never used", async () => {
    const file = edited("Pulumi.dc1.yaml", (t) =>
      t.replace(
        '        macs: ["52:54:00:01:01:11"]\n',
        '        macs: ["52:54:00:01:01:11"]\n        bootDisk: /dev/sda\n',
      ),
    );
    await assert.rejects(evaluateStack(file, { stackOutputs: outputsOf(GLOBAL) }), (err: unknown) => {
      assert.ok(err instanceof ConfigValidationError);
      const i = err.issues.find((x) => x.path === "zeroroot:dataCenter.servers[0].bootDisk");
      assert.ok(i, "the issue names the key path");
      assert.equal(i.received, "a key zeroroot does not know");
      assert.match(i.fix, /bootDisk was never used.*delete the key/);
      assert.match(err.message, /Pulumi\.dc1\.yaml:\d+/);
      return true;
    });
  });

  it("passes a configured cipher suite 17 through to the BMC as configured", async () => {
    const file = edited("Pulumi.dc1.yaml", (t) => t.replace("cipherSuite: 3", "cipherSuite: 17"));
    const e = await evaluateStack(file, { stackOutputs: outputsOf(GLOBAL) });
    const bmc = revealSecrets(bmcOf(e.resources, "dc1-s01").inputs.bmc) as { cipherSuite: number };
    assert.equal(bmc.cipherSuite, 17);
  });

  it("the managed root is @pulumi/tls's PrivateKey and SelfSignedCert with lib/pki's root profile", async () => {
    const file = edited("Pulumi.global.yaml", (t) =>
      t.replace(
        / {4}rootCa:\n {6}mode: offline\n {6}certificate: \|\n( {8}.*\n)+/,
        "    rootCa: { mode: managed }\n",
      ),
    );
    const e = await evaluateStack(file);
    const types = e.resources.filter((r) => r.custom).map((r) => r.type);
    assert.deepEqual(types, ["tls:index/privateKey:PrivateKey", "tls:index/selfSignedCert:SelfSignedCert"]);
    const cert = e.resources.find((r) => r.type === "tls:index/selfSignedCert:SelfSignedCert")!;
    assert.equal(cert.inputs.isCaCertificate, true);
    assert.equal(cert.inputs.validityPeriodHours, PROFILES.root.validityDays * 24);
    assert.equal(cert.inputs.earlyRenewalHours, PROFILES.root.renewBeforeDays * 24);
    assert.deepEqual(cert.inputs.allowedUses, ["cert_signing", "crl_signing"]);
    assert.deepEqual(cert.inputs.subject, { commonName: "zeroroot.example root CA" });
  });
});
