/**
 * Entry of the zeroroot CrossGuard policy pack: the only place that constructs a PolicyPack
 * (construction starts the analyzer's gRPC server). Run by the Pulumi CLI:
 *   pulumi preview --policy-pack policies [--policy-pack-config policy-config.json]
 */
import { PolicyPack } from "@pulumi/policy";
import { policies } from "./policies";
import { installSecretTracking } from "./secrets";

// Before any request is served: lets zero-password see which inputs were Pulumi secrets.
installSecretTracking();

new PolicyPack("zeroroot", {
  description:
    "zeroroot's rule book: no SSH, zero root, zero password, mutual TLS, signed software, persistence.",
  enforcementLevel: "mandatory",
  policies: [...policies],
});
