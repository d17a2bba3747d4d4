/**
 * A registered resource as the plugin's handler sees it: its own inputs, plus what it left to the
 * stack's explicit zeroroot provider (the provider's configuration, by the plugin's own rule:
 * provider/provider.ts `withConfiguration`). Tests of the stacks assert on this view, so a fact that
 * moved to the provider is still checked for every resource that uses it.
 */
import { factsOf } from "../../provider/config";
import { handlerOf, withConfiguration } from "../../provider/provider";

interface Registered {
  readonly type: string;
  readonly urn: string;
  readonly inputs: Record<string, unknown>;
  readonly provider?: string;
}

export function asThePluginSees(r: Registered, all: readonly Registered[]): Record<string, unknown> {
  const handler = handlerOf(r.type);
  if (!handler) throw new Error(`${r.type} is not served by the zeroroot plugin`);
  // A provider reference is `<provider urn>::<provider id>`.
  const provider = all.find(
    (p) => p.type === "pulumi:providers:zeroroot" && r.provider?.startsWith(`${p.urn}::`),
  );
  return withConfiguration(handler, r.inputs, provider ? factsOf(provider.inputs) : {}).props;
}
