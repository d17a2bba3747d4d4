/**
 * The pack's policies through @pulumi/policy's own analyzer functions (internal, pinned 1.21.0), with
 * real AnalyzeRequests: the engine's unknown sentinels, secret wrappers, enforcement levels.
 */
import { strict as assert } from "node:assert";
import * as analyzerproto from "@pulumi/pulumi/proto/analyzer_pb";
import { Struct } from "google-protobuf/google/protobuf/struct_pb";
import { dynamicType } from "../../../lib/contracts/resources";
import { policies } from "../../../policies/policies";
import { installSecretTracking } from "../../../policies/secret-tracking";
import { bmcServer, clone, desiredState } from "../rules/fixtures";
import { wrapSecret } from "./stack-fixture";

// Internal (not in server.d.ts): the functions the analyzer's gRPC service is made of.
type RpcFun = (
  call: { request: unknown },
  callback: (err: unknown, resp: analyzerproto.AnalyzeResponse) => void,
) => Promise<void>;
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { makeAnalyzeRpcFun, makeAnalyzeStackRpcFun } = require("@pulumi/policy/server") as {
  makeAnalyzeRpcFun: (name: string, version: string, level: string, policies: unknown[]) => RpcFun;
  makeAnalyzeStackRpcFun: (name: string, version: string, level: string, policies: unknown[]) => RpcFun;
};

const UNKNOWN_NUMBER = "3eeb2bf0-c639-47a8-9e75-3b44932eb421";
type Diag = { policy: string; message: string; level: number; urn: string };

function request(kind: "BmcServer" | "DesiredState", name: string, props: unknown, protect = true) {
  const req = new analyzerproto.AnalyzeRequest();
  req.setType(dynamicType(kind));
  req.setName(name);
  req.setUrn(`urn:pulumi:dc1::zeroroot::${dynamicType(kind)}::${name}`);
  req.setProperties(Struct.fromJavaScript(props as Record<string, never>));
  const opts = new analyzerproto.AnalyzerResourceOptions();
  opts.setProtect(protect);
  req.setOptions(opts);
  return req;
}

function analyze(req: analyzerproto.AnalyzeRequest): Promise<Diag[]> {
  const fn = makeAnalyzeRpcFun("zeroroot", "0.1.0", "mandatory", [...policies]);
  return new Promise((resolve, reject) =>
    fn({ request: req }, (err, resp) =>
      err
        ? reject(err)
        : resolve(
            resp.getDiagnosticsList().map((d) => ({
              policy: d.getPolicyname(),
              message: d.getMessage(),
              level: d.getEnforcementlevel(),
              urn: d.getUrn(),
            })),
          ),
    ),
  );
}

describe("the pack under @pulumi/policy's analyzer (real AnalyzeRequests)", () => {
  before(() => installSecretTracking());

  it("passes a BMC whose password arrives as a secret", async () => {
    const p = clone(bmcServer);
    p.bmc.password = wrapSecret(p.bmc.password);
    assert.deepEqual(await analyze(request("BmcServer", "b", p)), []);
  });

  it("fails when the BMC password arrives as plain text, as a mandatory violation", async () => {
    const d = await analyze(request("BmcServer", "b", bmcServer));
    assert.deepEqual(
      d.map((x) => x.policy),
      ["zero-password"],
    );
    assert.equal(d[0].level, analyzerproto.EnforcementLevel.MANDATORY);
    assert.match(d[0].message, /bmc\.password is plain text/);
    assert.ok(!d[0].message.includes(bmcServer.bmc.password));
  });

  it("reports nothing when a value is unknown at preview", async () => {
    const p = clone(bmcServer);
    p.bmc.password = wrapSecret(p.bmc.password);
    p.bmc.cipherSuite = UNKNOWN_NUMBER;
    const s = clone(desiredState);
    s.instances[0].programs[0].uid = UNKNOWN_NUMBER;
    s.instances[0].minimumPersistenceSeconds = UNKNOWN_NUMBER;
    assert.deepEqual(await analyze(request("BmcServer", "b", p)), []);
    assert.deepEqual(await analyze(request("DesiredState", "s", s)), []);
  });

  it("fails when a daemon runs as root", async () => {
    const s = clone(desiredState);
    s.instances[0].programs[0].uid = 0;
    const d = await analyze(request("DesiredState", "s", s));
    assert.deepEqual(
      d.map((x) => x.policy),
      ["zero-root"],
    );
    assert.match(d[0].urn, /DesiredState::s$/);
  });

  it("sees the protect option of a data-holding desired state", async () => {
    const d = await analyze(request("DesiredState", "s", desiredState, false));
    assert.deepEqual(
      d.map((x) => x.policy),
      ["persistence"],
    );
  });

  it("runs the stack policies over AnalyzeStackRequests", async () => {
    const res = (kind: "DesiredState", name: string, dc: string) => {
      const r = new analyzerproto.AnalyzerResource();
      const p = clone(desiredState);
      p.dataCenter = dc;
      r.setType(dynamicType(kind));
      r.setName(name);
      r.setUrn(`urn:pulumi:dc1::zeroroot::${dynamicType(kind)}::${name}`);
      r.setProperties(Struct.fromJavaScript(p));
      r.setOptions(new analyzerproto.AnalyzerResourceOptions());
      return r;
    };
    const req = new analyzerproto.AnalyzeStackRequest();
    req.setResourcesList([res("DesiredState", "a", "dc1"), res("DesiredState", "b", "dc1")]);
    const fn = makeAnalyzeStackRpcFun("zeroroot", "0.1.0", "mandatory", [...policies]);
    const d: string[] = await new Promise((resolve, reject) =>
      fn({ request: req }, (err, resp) =>
        err ? reject(err) : resolve(resp.getDiagnosticsList().map((x) => x.getPolicyname())),
      ),
    );
    // No SoftwareRelease declares the instances' release and no signer is configured.
    assert.deepEqual([...new Set(d)], ["signed-software"]);
  });
});
