/**
 * The component graph of a server whose BMC credential is managed (Pulumi's mocks): one
 * BmcCredential carrying the rotation keepers and the initial password (secret), which makes the
 * managed password itself (a secret output: no random resource, no password input), and a
 * BmcServer that logs in with the managed user and password, not the initial ones.
 */
import { strict as assert } from "node:assert";
import * as pulumi from "@pulumi/pulumi";
import { Server, type ServerArgs } from "../../../components/fleet";
import { isWrappedSecret, unwrapSecrets } from "../../helpers/pulumi-mocks";
import { promiseOf } from "../../helpers/pulumi-mocks";

const RESULT = "Zz9Yy8Xx7Ww6Vv5U";
const ROOT_PEM = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";

interface Seen {
  type: string;
  name: string;
  inputs: Record<string, unknown>;
}

async function mock(into: Seen[]): Promise<void> {
  await pulumi.runtime.setMocks(
    {
      newResource: (args) => {
        into.push({ type: args.type, name: args.name, inputs: args.inputs });
        // What the plugin returns: the managed user in use and the password it made.
        if (args.type === "zeroroot:fleet:BmcCredential")
          return {
            id: "dc1-s01",
            state: { ...args.inputs, username: "zeroroot-a", userId: 3, password: RESULT },
          };
        return { id: `${args.name}-id`, state: args.inputs };
      },
      call: (args) => args.inputs,
    },
    "zeroroot",
    "dc1",
    false,
  );
}

const args = (over: Partial<ServerArgs> = {}): ServerArgs => ({
  id: "dc1-s01",
  dataCenter: "dc1",
  hostname: "s01.dc1.zeroroot.example",
  roles: ["storage"],
  address: "10.78.1.11",
  macs: ["52:54:00:01:01:11"],
  bmc: { address: "10.77.1.11", username: "factory", password: pulumi.secret("Init-7f3a9c") },
  site: { url: "https://10.77.1.2:8443", serverName: "site.dc1.zeroroot.example" },
  rootCertificatePem: ROOT_PEM,
  ...over,
});

describe("a server with a managed BMC credential (component graph)", function () {
  this.timeout(20_000);

  it("registers one BmcCredential per server and no random resource: the rotation keepers are its input", async () => {
    const seen: Seen[] = [];
    await mock(seen);
    const s = new Server(
      "dc1-s01",
      args({ managedBmcCredential: { keepers: { period: "2026-Q4", generation: "0" } } }),
    );
    await promiseOf(s.urn);
    await promiseOf(s.agentUser);
    assert.deepEqual(
      seen.map((r) => r.type),
      ["zeroroot:fleet:Server", "zeroroot:fleet:BmcCredential", "zeroroot:fleet:BmcServer"],
    );
    const [cred] = seen.filter((r) => r.type === "zeroroot:fleet:BmcCredential");
    assert.equal(cred.name, "dc1-s01-bmc-credential");
    assert.deepEqual(cred.inputs.keepers, { period: "2026-Q4", generation: "0" });
  });

  it("gives the BmcCredential the initial credential (secret) and no password: the plugin makes it", async () => {
    const seen: Seen[] = [];
    await mock(seen);
    const s = new Server(
      "dc1-s01",
      args({ managedBmcCredential: { keepers: { period: "2026-Q4" }, userIds: [5, 6] } }),
    );
    await promiseOf(s.agentUser);
    const [cred] = seen.filter((r) => r.type === "zeroroot:fleet:BmcCredential");
    assert.ok(cred, "a BmcCredential is registered");
    assert.ok(isWrappedSecret(cred.inputs.initialPassword), "the initial password is secret");
    assert.ok(!("password" in cred.inputs), "the managed password is not an input");
    assert.deepEqual(unwrapSecrets({ ...cred.inputs }), {
      serverId: "dc1-s01",
      address: "10.77.1.11",
      port: 623,
      cipherSuite: 3,
      initialUsername: "factory",
      initialPassword: "Init-7f3a9c",
      keepers: { period: "2026-Q4" },
      userIds: [5, 6],
    });
  });

  it("drives the BmcServer with the managed user and password, never the initial ones", async () => {
    const seen: Seen[] = [];
    await mock(seen);
    const s = new Server("dc1-s01", args({ managedBmcCredential: { keepers: { period: "2026-Q4" } } }));
    await promiseOf(s.agentUser);
    const [server] = seen.filter((r) => r.type === "zeroroot:fleet:BmcServer");
    const bmc = server.inputs.bmc as Record<string, unknown>;
    // The mocks return the password plain (they ignore additionalSecretOutputs): the component
    // itself keeps it secret on the way to BmcServer.
    assert.ok(isWrappedSecret(bmc) || isWrappedSecret(bmc.password), "the BMC password stays secret");
    const plain = unwrapSecrets(bmc) as Record<string, unknown>;
    assert.equal(plain.username, "zeroroot-a");
    assert.equal(plain.password, RESULT);
  });

  it("without managedBmcCredential, drives the BMC with the inventory's credential and makes no password", async () => {
    const seen: Seen[] = [];
    await mock(seen);
    const s = new Server("dc1-s01", args());
    await promiseOf(s.agentUser);
    assert.deepEqual(
      seen.filter((r) => r.type.startsWith("random:") || r.type === "zeroroot:fleet:BmcCredential"),
      [],
    );
    const [server] = seen.filter((r) => r.type === "zeroroot:fleet:BmcServer");
    const plain = unwrapSecrets(server.inputs.bmc) as Record<string, unknown>;
    assert.equal(plain.username, "factory");
  });
});
