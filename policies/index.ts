/**
 * Entry of the zeroroot CrossGuard policy pack: the only place that constructs a PolicyPack
 * (construction starts the analyzer's gRPC server). Built into dist/index.js (`npm run build`),
 * which the Pulumi CLI runs:
 *   pulumi preview --policy-pack policies --policy-pack-config policies/policy-config.json
 *
 * The module exports a promise; the Pulumi runner awaits it. The pack serves nothing until secret
 * tracking is installed and verified: if @pulumi/policy's internals moved, it refuses to start.
 */
import { PolicyPack } from "@pulumi/policy";
import { policies } from "./policies";
import { installSecretTracking } from "./secret-tracking";

async function start(): Promise<void> {
  await installSecretTracking();
  new PolicyPack("zeroroot", {
    description:
      "zeroroot's rule book: no SSH, zero root, zero password, mutual TLS, signed software, persistence.",
    enforcementLevel: "mandatory",
    policies: [...policies],
  });
}

export = start();
