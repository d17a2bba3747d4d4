import { strict as assert } from "node:assert";
import {
  EtcdPermissionDeniedError,
  GRPCUnavailableError,
  GRPCDeadlineExceededError,
  EtcdUserNotFoundError,
} from "etcd3";
import {
  checkEndpoints,
  classify,
  ComputerChannel,
  ControlPlaneClient,
  PermissionDeniedError,
  UnreachableError,
  ControlPlaneConfigError,
} from "../../../lib/controlplane";
import {
  createCsr,
  createRootCa,
  exportPkcs8,
  generateKeyPair,
  issueFromCsr,
  loadCa,
} from "../../../lib/pki";
import type { ClientIdentity } from "../../../lib/controlplane";
import { issueIdentity } from "../../../lab/controlplane/identity";
import { mergeHosts } from "../../../lab/controlplane/hosts";
import { layoutFromNetPlan } from "../../../lab/controlplane/layout";
import { defaultNetPlan } from "../../../lab/net";

function testIdentity(): ClientIdentity {
  const root = createRootCa({ commonName: "unit root" });
  const k = generateKeyPair();
  const issuing = issueFromCsr(root.ca, "issuing", createCsr({ commonName: "unit dc1" }, k.privateKey), {
    nameScope: { dnsZones: ["dc1.example"] },
  });
  const ca = loadCa(issuing.certificatePem, exportPkcs8(k.privateKey));
  return issueIdentity(ca, root.certificatePem, "computer", "dc1-s1");
}

describe("control-plane client", () => {
  const identity = testIdentity();

  it("classifies etcd's permission denied and unknown user as permission-denied", () => {
    for (const e of [
      new EtcdPermissionDeniedError("etcdserver: permission denied"),
      new EtcdUserNotFoundError("etcdserver: user name not found"),
    ]) {
      const c = classify(e, "get /k");
      assert.ok(c instanceof PermissionDeniedError);
      assert.equal(c.kind, "permission-denied");
      assert.match(c.message, /^control plane: get \/k: permission-denied/);
    }
  });

  it("classifies an unavailable member as unreachable and a deadline as timeout", () => {
    const u = classify(new GRPCUnavailableError("14 UNAVAILABLE: No connection established"), "put /k");
    assert.ok(u instanceof UnreachableError);
    assert.equal(u.kind, "unreachable");
    assert.equal(classify(new GRPCDeadlineExceededError("4 DEADLINE_EXCEEDED"), "get /k").kind, "timeout");
  });

  it("refuses plain http, IP addresses and an empty endpoint list", () => {
    assert.throws(() => checkEndpoints([]), ControlPlaneConfigError);
    assert.throws(() => checkEndpoints(["http://etcd.dc1.example:2379"]), /plain http is never allowed/);
    assert.throws(() => checkEndpoints(["https://10.0.0.1:2379"]), /uses an IP address; use the DNS name/);
    checkEndpoints(["https://etcd.dc1.zeroroot.example:2379"]);
  });

  it("times out a call to an endpoint that does not answer, as unreachable or timeout, within its bound", async () => {
    const client = new ControlPlaneClient({
      endpoints: ["https://nothing.invalid:2379"],
      identity,
      timeoutMs: 800,
    });
    const t0 = Date.now();
    await assert.rejects(
      client.get("/computers/a/desired"),
      (e: Error) => e instanceof UnreachableError || /unreachable|timeout|protocol/.test(e.message),
    );
    assert.ok(Date.now() - t0 < 2000, `took ${Date.now() - t0} ms`);
    client.close();
  });

  it("refuses an identity that is not PEM, without echoing it", () => {
    assert.throws(
      () =>
        new ControlPlaneClient({
          endpoints: ["https://etcd.dc1.example:2379"],
          identity: { ...identity, privateKeyPem: "secret-not-a-key" },
        }),
      (e: Error) =>
        e instanceof ControlPlaneConfigError &&
        /cannot be loaded/.test(e.message) &&
        !e.message.includes("secret-not-a-key"),
    );
  });

  it("refuses a computer channel for an invalid id", () => {
    const client = {} as ControlPlaneClient;
    assert.throws(() => new ComputerChannel(client, "Bad/Id"), /not a valid id/);
  });
});

describe("control-plane lab helpers", () => {
  it("merges member names into a namespace hosts file, keeping other lines and replacing its own", () => {
    const once = mergeHosts("127.0.0.1\tlocalhost\n10.0.0.9\tother\n", [
      { address: "10.78.1.2", name: "etcd.dc1.z" },
    ]);
    const twice = mergeHosts(once, [{ address: "10.78.1.3", name: "etcd.dc1.z" }]);
    assert.match(twice, /10\.0\.0\.9\tother/);
    assert.doesNotMatch(twice, /10\.78\.1\.2/);
    assert.match(twice, /10\.78\.1\.3\tetcd\.dc1\.z/);
    assert.match(mergeHosts(undefined, []), /localhost/);
  });

  it("places one member per data center in its management namespace, on the data address", () => {
    const l = layoutFromNetPlan(defaultNetPlan(), "zeroroot.example");
    assert.deepEqual(l[0], {
      dc: "dc1",
      namespace: "zr-dc1-mgmt",
      address: "10.78.1.2",
      dnsName: "etcd.dc1.zeroroot.example",
    });
    assert.equal(l.length, 3);
  });
});
