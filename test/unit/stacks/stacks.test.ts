/**
 * The four stack programs, evaluated under Pulumi's mocks exactly as `pulumi up` would evaluate
 * them (config from the engine, secrets as secrets), and their resource graphs checked against the
 * inventory.
 */
import { certificateSha256 } from "../../../lib/pki/fingerprint";
import { strict as assert } from "node:assert";
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ConfigValidationError, readStackFile } from "../../../lib/fleet";
import { evaluateStack, isSecretValue, type Evaluation } from "../../../lab/stack-eval";
import { asThePluginSees } from "../../helpers/plugin-view";

const STACKS = join(__dirname, "../../../stacks");
const ROOT_PEM = "-----BEGIN CERTIFICATE-----\nMIIB(test root)\n-----END CERTIFICATE-----\n";
const GLOBAL_OUTPUTS = {
  "organization/zeroroot/global": {
    domain: "zeroroot.example",
    dataCenters: ["dc1", "dc2", "dc3"],
    rootCertificatePem: ROOT_PEM,
  },
};

const evaluate = (file: string, outputs: Record<string, Record<string, unknown>> = GLOBAL_OUTPUTS) =>
  evaluateStack(file, { stackOutputs: outputs });

function inventory(file: string): { id: string }[] {
  return (readStackFile(file).values["zeroroot:dataCenter"] as { servers: { id: string }[] }).servers;
}

describe("stack programs under mocks", () => {
  it("the global stack exports the domain and the data centers, with no warnings", async () => {
    const file = join(STACKS, "Pulumi.global.yaml");
    const e = await evaluate(file);
    assert.deepEqual(e.logs, []);
    // The example root is offline (rootCa.mode: offline): only its certificate, no RootCa resource.
    assert.deepEqual(
      e.resources.filter((r) => r.custom).map((r) => r.type),
      [],
    );
    const rootCa = (readStackFile(file).values["zeroroot:global"] as { rootCa: { certificate: string } })
      .rootCa;
    assert.equal(e.outputs.rootCertificatePem, rootCa.certificate);
    assert.equal(e.outputs.domain, "zeroroot.example");
    assert.deepEqual(e.outputs.dataCenters, ["dc1", "dc2", "dc3"]);
  });

  for (const dc of ["dc1", "dc2", "dc3"]) {
    describe(`stack ${dc}`, () => {
      let e: Evaluation;
      const file = join(STACKS, `Pulumi.${dc}.yaml`);
      before(async () => (e = await evaluate(file)));

      it("evaluates with no warnings or errors", () => assert.deepEqual(e.logs, []));

      it("registers one DataCenter and one Server per inventory entry", () => {
        assert.deepEqual(
          e.resources.filter((r) => r.type === "zeroroot:fleet:DataCenter").map((r) => r.name),
          [dc],
        );
        const servers = e.resources.filter((r) => r.type === "zeroroot:fleet:Server").map((r) => r.name);
        assert.deepEqual(
          servers.sort(),
          inventory(file)
            .map((s) => `${dc}-${s.id.slice(dc.length + 1)}`)
            .sort(),
        );
      });

      it("drives each server through a BmcServer whose BMC password is a Pulumi secret", () => {
        const bmcs = e.resources.filter((r) => r.type === "zeroroot:fleet:BmcServer");
        assert.deepEqual(
          bmcs.map((r) => r.inputs.serverId).sort(),
          inventory(file)
            .map((s) => s.id)
            .sort(),
        );
        for (const b of bmcs) {
          const bmc = b.inputs.bmc as Record<string, unknown>;
          assert.ok(
            isSecretValue(bmc) || isSecretValue(bmc.password),
            `${b.name}: BMC password not marked secret`,
          );
          // The root by reference and the site: the stack's zeroroot provider holds them once.
          const seen = asThePluginSees(b, e.resources);
          assert.equal(seen.rootCertificateSha256, certificateSha256(ROOT_PEM));
          assert.equal(b.provider?.split("::")[3], dc);
          assert.equal(seen.siteServerName, `site.${dc}.zeroroot.example`);
        }
      });

      it("reads the global stack by StackReference", () => {
        const refs = e.resources.filter((r) => r.type === "pulumi:pulumi:StackReference");
        assert.deepEqual(
          refs.map((r) => r.inputs.name),
          ["organization/zeroroot/global"],
        );
      });

      it("exports every server without its BMC credentials", () => {
        const servers = e.outputs.servers as { id: string; bmcEndpoint: string }[];
        assert.deepEqual(
          servers.map((s) => s.id),
          inventory(file).map((s) => s.id),
        );
        assert.doesNotMatch(JSON.stringify(e.outputs), /password|v1:/);
      });
    });
  }

  it("fails, rather than hangs, when the global stack lacks an output the program requires", async () => {
    await assert.rejects(
      evaluate(join(STACKS, "Pulumi.dc1.yaml"), {
        "organization/zeroroot/global": { domain: "zeroroot.example" },
      }),
      /Required output 'rootCertificatePem' does not exist/,
    );
  });

  it("fails the graph check when a server is dropped from the inventory", async () => {
    const dir = mkdtempSync(join(tmpdir(), "zr-stack-"));
    cpSync(STACKS, dir, { recursive: true, filter: (s) => !s.endsWith(".ts") });
    const file = join(dir, "Pulumi.dc1.yaml");
    const text = readFileSync(file, "utf8");
    const start = text.indexOf("      - id: dc1-c02");
    writeFileSync(file, text.slice(0, start));
    const e = await evaluate(file);
    const servers = e.resources.filter((r) => r.type === "zeroroot:fleet:Server").map((r) => r.name);
    assert.equal(servers.length, 4);
    assert.ok(!servers.includes("dc1-c02"));
  });

  it("refuses a bad config before registering any resource, listing every error", async () => {
    const dir = mkdtempSync(join(tmpdir(), "zr-stack-"));
    const file = join(dir, "Pulumi.dc1.yaml");
    writeFileSync(
      file,
      readFileSync(join(STACKS, "Pulumi.dc1.yaml"), "utf8")
        .replace('macs: ["52:54:00:01:01:12"]', 'macs: ["52:54:00:01:01:11"]')
        .replace("cipherSuite: 3", "cipherSuite: 0"),
    );
    await assert.rejects(evaluate(file), (err: unknown) => {
      assert.ok(err instanceof ConfigValidationError);
      assert.deepEqual(err.issues.map((i) => i.path).sort(), [
        "zeroroot:dataCenter.servers[0].bmc.cipherSuite",
        "zeroroot:dataCenter.servers[1].macs[0]",
      ]);
      assert.match(err.message, /stacks?\/Pulumi\.dc1\.yaml:\d+|Pulumi\.dc1\.yaml:\d+/);
      return true;
    });
  });

  it("fails (not just logs) when the global stack has another domain", async () => {
    await assert.rejects(
      evaluate(join(STACKS, "Pulumi.dc2.yaml"), {
        "organization/zeroroot/global": {
          domain: "other.example",
          dataCenters: ["dc1", "dc2", "dc3"],
          rootCertificatePem: ROOT_PEM,
        },
      }),
      /global stack organization\/zeroroot\/global has "other\.example"/,
    );
  });
});
