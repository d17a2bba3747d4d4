/**
 * The provider object the SDK serves over gRPC (`@pulumi/pulumi/provider`'s `main`): routes each
 * call by the resource's type token to its handler (resources/), unwraps secrets before a handler
 * runs and marks them secret again after, and enforces the rule that makes a diff honest: a change
 * a handler cannot apply in place (no `update`, or a key it does not update) is a replacement.
 */
import type * as provider from "@pulumi/pulumi/provider";
import { bmcServer } from "./resources/bmcServer";
import { certificate } from "./resources/certificate";
import { desiredState } from "./resources/desiredState";
import { hardenedImage } from "./resources/hardenedImage";
import { issuingCa } from "./resources/issuingCa";
import { rootCa } from "./resources/rootCa";
import { softwareRelease } from "./resources/softwareRelease";
import { conceal, containsUnknown, reveal } from "./values";
import type { Handler, Props } from "./types";

export const HANDLERS: readonly Handler[] = [
  rootCa,
  issuingCa,
  certificate,
  bmcServer,
  softwareRelease,
  desiredState,
  hardenedImage,
];
const BY_TOKEN = new Map(HANDLERS.map((h) => [h.token, h]));

/** The type token of a URN `urn:pulumi:<stack>::<project>::<parent$...$type>::<name>`. */
export function typeOfUrn(urn: string): string {
  return (urn.split("::")[2] ?? "").split("$").pop() ?? "";
}

function handlerFor(urn: string): Handler {
  const token = typeOfUrn(urn);
  const h = BY_TOKEN.get(token);
  if (!h)
    throw new Error(
      `resource type ${JSON.stringify(token)} is not served by pulumi-resource-zeroroot; it serves: ${[...BY_TOKEN.keys()].join(", ")}`,
    );
  return h;
}

const plain = (v: unknown) => reveal(v).value as Props;

/** Outputs with the input paths that were secret, and the handler's own secret outputs, marked. */
function outputs(h: Handler, outs: Props, secretInputs: ReturnType<typeof reveal>["secrets"]): Props {
  return conceal(outs, [...secretInputs, ...(h.secretOutputs ?? []).map((k) => [k])]);
}

export function makeProvider(version: string, schema: string): provider.Provider {
  return {
    version,
    schema,
    async check(urn, _olds, news) {
      const h = handlerFor(urn);
      // Unknown values (preview) are judged when known: create runs check's rules again.
      if (!h.check || containsUnknown(news)) return { inputs: news };
      const { value, secrets } = reveal(news);
      const r = h.check(value as Props);
      return { inputs: conceal(r.inputs, secrets), failures: r.failures };
    },
    async diff(id, urn, olds, news) {
      const h = handlerFor(urn);
      const d = h.diff(id, plain(olds), plain(news));
      const replaces = [...new Set(h.update ? d.replaces : [...d.replaces, ...d.updates])];
      const changes = replaces.length > 0 || (!!h.update && d.updates.length > 0);
      return { changes, replaces, deleteBeforeReplace: d.deleteBeforeReplace ?? false };
    },
    async create(urn, inputs) {
      const h = handlerFor(urn);
      const { value, secrets } = reveal(inputs);
      const checked = h.check ? h.check(value as Props) : { inputs: value as Props, failures: [] };
      if (checked.failures.length > 0)
        throw new Error(checked.failures.map((f) => `${f.property}: ${f.reason}`).join("; "));
      const r = await h.create(checked.inputs);
      return { id: r.id, outs: outputs(h, r.outs, secrets) };
    },
    async read(id, urn, props) {
      const h = handlerFor(urn);
      const { value, secrets } = reveal(props ?? {});
      const r = await h.read(id, value as Props);
      return { id: r.id, props: outputs(h, r.props, secrets), inputs: conceal(r.inputs, secrets) };
    },
    async update(id, urn, olds, news) {
      const h = handlerFor(urn);
      // diff turns every change into a replacement for a handler without update: unreachable then.
      if (!h.update)
        throw new Error(`${h.token} has no in-place update; this change should have replaced it`);
      const n = reveal(news);
      return { outs: outputs(h, await h.update(id, plain(olds), n.value as Props), n.secrets) };
    },
    async delete(id, urn, props) {
      const h = handlerFor(urn);
      if (h.delete) await h.delete(id, plain(props));
    },
  };
}
