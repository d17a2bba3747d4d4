/**
 * no-ssh refuses resources that reach a machine over SSH: @pulumi/command's remote resources,
 * registered with that package's real classes under the SDK's mocks, then judged by the rule and by
 * the policy pack exactly as `pulumi preview --policy-pack` would receive them.
 */
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { strict as assert } from "node:assert";
import { noSsh, resourceTypeViewOf, runRule } from "../../../lib/rules";
import { evaluatePolicies, type CapturedResource } from "../../../policies/policies";
import { installMocks, promiseOf, type MockSession } from "../../helpers/pulumi-mocks";
import { compliantStack } from "../policies/stack-fixture";

const captured = (s: MockSession): CapturedResource[] =>
  s.resources.map((r) => ({ type: r.type, name: r.name, urn: r.urn, props: r.inputs }));

describe("rule no-ssh on resources that connect over SSH", () => {
  let session: MockSession;
  before(async () => {
    session = installMocks({ stack: "dc1" });
    const connection = { host: "10.78.1.11", user: "root" };
    const made = [
      new command.remote.Command("reboot-s01", { connection, create: "systemctl reboot" }),
      new command.remote.CopyToRemote("push-config", {
        connection,
        source: new pulumi.asset.StringAsset("x"),
        remotePath: "/etc/x",
      }),
      new command.local.Command("local-build", { create: "make image" }),
    ];
    await Promise.all(made.map((r) => promiseOf(r.urn)));
  });

  it("registers the real resource types of @pulumi/command", () => {
    assert.deepEqual(session.resources.map((r) => r.type).sort(), [
      "command:local:Command",
      "command:remote:Command",
      "command:remote:CopyToRemote",
    ]);
  });

  it("flags command:remote:Command and command:remote:CopyToRemote, not command:local:Command", () => {
    const flagged = session.resources.filter((r) => runRule(noSsh, resourceTypeViewOf(r)).length > 0);
    assert.deepEqual(flagged.map((r) => r.name).sort(), ["push-config", "reboot-s01"]);
    const [f] = runRule(noSsh, resourceTypeViewOf(session.resources.find((r) => r.name === "reboot-s01")!));
    assert.equal(f.rule, "no-ssh");
    assert.equal(f.severity, "critical");
    assert.match(f.message, /"command:remote:Command" connects to a machine over SSH/);
    assert.match(f.ref ?? "", /::command:remote:Command::reboot-s01$/);
  });

  it("is reported by the policy pack as a mandatory no-ssh violation of each remote resource", async function () {
    this.timeout(30000); // the compliant stack signs a release with a fresh key
    const base = await compliantStack();
    const v = evaluatePolicies([...base.resources, ...captured(session)], base.config);
    assert.deepEqual(v.map((x) => [x.policy, x.enforcementLevel, x.resourceName]).sort(), [
      ["no-ssh", "mandatory", "push-config"],
      ["no-ssh", "mandatory", "reboot-s01"],
    ]);
  });

  it("takes its resource types from the pack config (an empty list turns it off)", () => {
    const r = session.resources.find((x) => x.name === "reboot-s01")!;
    assert.deepEqual(runRule(noSsh, resourceTypeViewOf(r), { forbiddenResourceTypes: [] }), []);
  });
});
