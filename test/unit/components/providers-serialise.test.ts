/**
 * Every zeroroot dynamic provider survives Pulumi's closure serialisation and runs from the
 * serialised text alone, loaded as Pulumi's dynamic-provider host loads it, from a directory
 * with no project files (so a provider that `require`s our TypeScript by path fails here).
 */
import { strict as assert } from "node:assert";
import { bmcServerProvider } from "../../../components/fleet/bmcServer";
import { rootCaProvider } from "../../../components/pki/rootCa";
import { shipped } from "../../helpers/shipped-provider";
import { parseCertificate } from "../../../lib/pki";

describe("dynamic providers as Pulumi ships them", function () {
  this.timeout(60_000);

  it("the RootCa provider creates a root from its serialised form", async () => {
    const p = await shipped(rootCaProvider);
    assert.ok(p.create);
    const r = await p.create({
      commonName: "serialised root",
      keyType: "ec-p256",
      validityDays: 30,
      renewBeforeDays: 5,
    });
    assert.equal(parseCertificate(r.outs.certificatePem as string).commonName, "serialised root");
  });

  it("the BmcServer provider loads from its serialised form and diffs", async () => {
    const p = await shipped(bmcServerProvider);
    assert.equal(typeof p.create, "function");
    assert.equal(typeof p.delete, "function");
    const olds = { serverId: "dc1-s01", macs: ["52:54:00:01:01:11"], bmc: { address: "10.77.1.111" } };
    assert.ok(p.diff);
    const d = await p.diff("dc1-s01", olds, { ...olds, macs: ["52:54:00:01:01:99"] });
    assert.deepEqual(d.replaces, ["macs"]);
  });

  it("the BmcServer provider, from its serialised form, fails create with the variable to set when the operator's certificate is missing", async () => {
    const p = await shipped(bmcServerProvider);
    const saved = { ...process.env };
    process.env.ZEROROOT_OPERATOR_CERT = "/nonexistent/operator.crt";
    try {
      assert.ok(p.create);
      await assert.rejects(
        p.create({ serverId: "dc1-s01", macs: ["52:54:00:01:01:11"], bmc: { address: "10.77.1.111" } }),
        /operator certificate: cannot read \/nonexistent\/operator\.crt .*set ZEROROOT_OPERATOR_CERT/,
      );
    } finally {
      process.env = saved;
    }
  });
});
