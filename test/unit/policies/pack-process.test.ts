/**
 * The real pack process, started the way the Pulumi CLI starts it (`run-policy-pack` with ts-node,
 * from the pack directory), spoken to over gRPC as the engine does. No Pulumi CLI needed.
 */
import { strict as assert } from "node:assert";
import { spawn, type ChildProcess } from "node:child_process";
import * as path from "node:path";
import * as grpc from "@grpc/grpc-js";
import * as analyzerrpc from "@pulumi/pulumi/proto/analyzer_grpc_pb";
import * as analyzerproto from "@pulumi/pulumi/proto/analyzer_pb";
import { Empty } from "google-protobuf/google/protobuf/empty_pb";
import { Struct } from "google-protobuf/google/protobuf/struct_pb";
import { dynamicType } from "../../../lib/contracts/resources";
import { bmcServer, clone } from "../rules/fixtures";
import { wrapSecret } from "./stack-fixture";

const root = path.resolve(__dirname, "../../..");
type Client = {
  getAnalyzerInfo(req: Empty, cb: (e: Error | null, r: analyzerproto.AnalyzerInfo) => void): void;
  analyze(
    req: analyzerproto.AnalyzeRequest,
    cb: (e: Error | null, r: analyzerproto.AnalyzeResponse) => void,
  ): void;
  close(): void;
};

describe("the policy pack process (as `pulumi preview --policy-pack policies` runs it)", function () {
  this.timeout(120000);
  let child: ChildProcess;
  let client: Client;

  before(async () => {
    child = spawn(
      process.execPath,
      [path.join(root, "node_modules/@pulumi/pulumi/cmd/run-policy-pack"), "127.0.0.1:1", "."],
      {
        cwd: path.join(root, "policies"),
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    let err = "";
    child.stderr!.on("data", (d) => (err += d));
    const port = await new Promise<string>((resolve, reject) => {
      child.stdout!.on("data", (d) => resolve(String(d).trim()));
      child.on("exit", (code) => reject(new Error(`pack exited ${code}: ${err}`)));
    });
    const Ctor = (
      analyzerrpc as unknown as { AnalyzerClient: new (a: string, c: grpc.ChannelCredentials) => Client }
    ).AnalyzerClient;
    client = new Ctor(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  });
  after(() => {
    client?.close();
    if (child?.pid) child.kill();
  });

  const analyze = (props: unknown) => {
    const req = new analyzerproto.AnalyzeRequest();
    req.setType(dynamicType("BmcServer"));
    req.setName("dc1-s01-bmc");
    req.setUrn(`urn:pulumi:dc1::zeroroot::${dynamicType("BmcServer")}::dc1-s01-bmc`);
    req.setOptions(new analyzerproto.AnalyzerResourceOptions());
    req.setProperties(Struct.fromJavaScript(props as Record<string, never>));
    return new Promise<string[]>((resolve, reject) =>
      client.analyze(req, (e, r) =>
        e ? reject(e) : resolve(r.getDiagnosticsList().map((d) => d.getPolicyname())),
      ),
    );
  };

  it("serves every policy of the pack", async () => {
    const info = await new Promise<analyzerproto.AnalyzerInfo>((resolve, reject) =>
      client.getAnalyzerInfo(new Empty(), (e, r) => (e ? reject(e) : resolve(r))),
    );
    assert.equal(info.getName(), "zeroroot");
    assert.ok(
      info
        .getPoliciesList()
        .map((p) => p.getName())
        .includes("zero-password"),
    );
  });

  it("refuses a plain-text BMC password and accepts a secret one", async () => {
    assert.deepEqual(await analyze(bmcServer), ["zero-password"]);
    const p = clone(bmcServer);
    p.bmc.password = wrapSecret(p.bmc.password);
    assert.deepEqual(await analyze(p), []);
  });
});
