import { evaluateStack } from "../../lab/stack-eval";
import * as pulumi from "@pulumi/pulumi";
import { bmcServerProvider } from "../../components/fleet/bmcServer";
describe("probe", () => {
  it("serialises", async () => {
    const t = Date.now();
    try { const s = await pulumi.runtime.serializeFunction(() => bmcServerProvider, { allowSecrets: true }); console.log("ser ok", Date.now() - t, s.text.length); }
    catch (e) { console.log("ser err", (e as Error).message.slice(0, 1500)); }
  });
  it("dc1", async () => {
    const t = Date.now();
    const e = await evaluateStack("stacks/Pulumi.dc1.yaml", { stackOutputs: {} });
    console.log(Date.now() - t, e.resources.length);
  });
});
