import { strict as assert } from "node:assert";
import {
  ControlPlane,
  CONTROL_PLANE_TYPE,
  resolveControlPlaneArgs,
  type ControlPlaneArgs,
} from "../../../components/controlplane";
import { installMocks, promiseOf, type MockSession } from "../../helpers/pulumi-mocks";

const args: ControlPlaneArgs = {
  domain: "zeroroot.example",
  members: [
    { dataCenter: "dc1", address: "10.78.1.2" },
    { dataCenter: "dc2", address: "10.78.2.2" },
    { dataCenter: "dc3", address: "10.78.3.2" },
  ],
  computers: [{ id: "dc1-s1", dc: "dc1" }],
  operators: ["alice"],
};

describe("ControlPlane component", () => {
  let session: MockSession;
  before(() => {
    session = installMocks({ stack: "global" });
  });

  it("describes one member per data center by DNS name, and the access plan, creating no other resource", async () => {
    const cp = new ControlPlane("cp", args);
    assert.deepEqual(await promiseOf(cp.endpoints), [
      "https://etcd.dc1.zeroroot.example:2379",
      "https://etcd.dc2.zeroroot.example:2379",
      "https://etcd.dc3.zeroroot.example:2379",
    ]);
    assert.equal(
      await promiseOf(cp.initialCluster),
      "dc1=https://etcd.dc1.zeroroot.example:2380,dc2=https://etcd.dc2.zeroroot.example:2380,dc3=https://etcd.dc3.zeroroot.example:2380",
    );
    const plan = await promiseOf(cp.accessPlan);
    assert.deepEqual(plan.users.find((u) => u.name === "dc1-s1")?.roles, ["computer-dc1-s1"]);
    assert.doesNotMatch(JSON.stringify(plan), /password/i);
    assert.equal(await promiseOf(cp.peerCommonName), "etcd-peer");
    assert.deepEqual(
      session.resources.filter((r) => r.name.startsWith("cp")).map((r) => r.type),
      [CONTROL_PLANE_TYPE],
    );
  });

  it("refuses an even number of members and a data center with two", () => {
    assert.throws(
      () => resolveControlPlaneArgs({ ...args, members: args.members.slice(0, 2) }),
      /2 given; give an odd number/,
    );
    assert.throws(
      () =>
        resolveControlPlaneArgs({
          ...args,
          members: [...args.members.slice(0, 2), { dataCenter: "dc1", address: "10.78.1.3" }],
        }),
      /members\[2\]\.dataCenter: "dc1" has two members/,
    );
  });

  it("refuses a computer in a data center without a member", () => {
    assert.throws(
      () => resolveControlPlaneArgs({ ...args, computers: [{ id: "dc9-s1", dc: "dc9" }] }),
      /"dc9" is not one of dataCenters/,
    );
  });

  it("refuses equal client and peer ports", () => {
    assert.throws(() => resolveControlPlaneArgs({ ...args, clientPort: 2380 }), /both 2380/);
  });
});
