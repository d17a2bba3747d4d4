/**
 * The provider object the plugin's server (server.ts) serves: routes each call by the resource's
 * type token to its handler (resources/), unwraps secrets before a handler runs and marks them
 * secret again after, keeps outputs free of the inputs the engine stores anyway, and enforces the
 * rule that makes a diff honest: a change a handler cannot apply in place (no `update`, or a key
 * it does not update) is a replacement.
 */
import { certificateSha256 } from "../lib/pki/fingerprint";
import { checkConfig, configure, configuredFacts, type ConfiguredFacts } from "./config";
import { bmcCredential } from "./resources/bmcCredential";
import { bmcServer } from "./resources/bmcServer";
import { certificate } from "./resources/certificate";
import { desiredState } from "./resources/desiredState";
import { hardenedImage } from "./resources/hardenedImage";
import { issuingCa } from "./resources/issuingCa";
import { rootCa } from "./resources/rootCa";
import { softwareRelease } from "./resources/softwareRelease";
import { conceal, containsUnknown, reveal } from "./values";
import type { CheckFailure, Handler, Props } from "./types";

export const HANDLERS: readonly Handler[] = [
  rootCa,
  issuingCa,
  certificate,
  bmcCredential,
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

/** The handler serving a type token, if any. */
export const handlerOf = (token: string): Handler | undefined => BY_TOKEN.get(token);

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

/**
 * What the handlers see of a resource's old state: its old inputs with its old outputs. The engine
 * sends both (old_inputs with Diff, Update and Delete; inputs with Read), and outputs no longer
 * repeat inputs; state written before this still has the inputs in its outputs, which works too.
 */
const oldState = (outs: Props, inputs: Props | undefined): Props => ({ ...outs, ...(inputs ?? {}) });

/**
 * State written when resources held the root's PEM, and a program that now names the same root by
 * its SHA-256 (the provider holds the PEM): no change, so the upgrade re-runs nothing.
 */
function rootByReference(olds: Props, news: Props): Props {
  const { rootCertificatePem: pem, ...rest } = olds;
  if (typeof pem !== "string" || news.rootCertificatePem !== undefined) return olds;
  try {
    return certificateSha256(pem) === news.rootCertificateSha256
      ? { ...rest, rootCertificateSha256: news.rootCertificateSha256 }
      : olds;
  } catch {
    return olds; // an unreadable PEM: a change, as before
  }
}

/**
 * A resource's properties as its handler sees them: each key the handler may leave to the provider's
 * configuration (`Handler.configured`) and the resource left out takes the configured value. The
 * root counts as given when either its PEM or its digest is. `filled` names the keys added, which
 * are never stored with the resource (check, create, read and update leave them out again).
 */
export function withConfiguration(
  h: Handler,
  p: Props,
  facts: ConfiguredFacts = configuredFacts(),
): { props: Props; filled: string[] } {
  const filled = (h.configured ?? []).filter(
    (k) =>
      p[k] === undefined &&
      facts[k] !== undefined &&
      !(k === "rootCertificateSha256" && p.rootCertificatePem !== undefined),
  );
  return { props: { ...p, ...Object.fromEntries(filled.map((k) => [k, facts[k]])) }, filled };
}

const without = (p: Props, keys: readonly string[]): Props =>
  Object.fromEntries(Object.entries(p).filter(([k]) => !keys.includes(k)));

/** A check failure of a key the resource could leave to the configuration says so. */
function configurationHint(h: Handler, f: CheckFailure, given: Props): CheckFailure {
  const key = (h.configured ?? []).find((k) => f.property === k);
  if (!key || given[key] !== undefined) return f;
  const providerKey = key === "rootCertificateSha256" ? "rootCertificatePem" : key;
  return {
    property: f.property,
    reason: `${f.reason}; or leave it out and set the zeroroot provider's ${providerKey} (new ZerorootProvider(name, {${providerKey}}), or stack config zeroroot:${providerKey})`,
  };
}

/** A handler's outputs minus the keys that are inputs. */
export function withoutInputs(outs: Props, inputs: Props): Props {
  return Object.fromEntries(Object.entries(outs).filter(([k]) => !(k in inputs)));
}

/**
 * Outputs as stored: the handler's outputs without the keys that are inputs (the engine keeps the
 * inputs anyway and the SDK resolves an input-named output from them), secret outputs marked.
 */
function outputs(
  h: Handler,
  outs: Props,
  inputs: Props,
  secretInputs: ReturnType<typeof reveal>["secrets"],
): Props {
  return conceal(withoutInputs(outs, inputs), [...secretInputs, ...(h.secretOutputs ?? []).map((k) => [k])]);
}

/** The provider object the server (server.ts) serves: the engine's calls with everything it sends. */
export interface ZerorootProvider {
  readonly version: string;
  readonly schema: string;
  checkConfig(news: Props): { inputs: Props; failures: CheckFailure[] };
  configure(config: Props): void;
  check(urn: string, olds: Props, news: Props): Promise<{ inputs: Props; failures: CheckFailure[] }>;
  diff(
    id: string,
    urn: string,
    olds: Props,
    news: Props,
    oldInputs?: Props,
  ): Promise<{ changes: boolean; replaces: string[]; diffs: string[]; deleteBeforeReplace: boolean }>;
  create(urn: string, inputs: Props): Promise<{ id: string; outs: Props }>;
  read(
    id: string,
    urn: string,
    props: Props,
    inputs?: Props,
  ): Promise<{ id: string; props: Props; inputs: Props }>;
  update(id: string, urn: string, olds: Props, news: Props, oldInputs?: Props): Promise<Props>;
  delete(id: string, urn: string, props: Props, oldInputs?: Props): Promise<void>;
}

export function makeProvider(version: string, schema: string): ZerorootProvider {
  return {
    version,
    schema,
    checkConfig: (news) => checkConfig(plain(news)),
    configure: (config) => configure(plain(config)),
    async check(urn, _olds, news) {
      const h = handlerFor(urn);
      // Unknown values (preview) are judged when known: create runs check's rules again.
      if (!h.check || containsUnknown(news)) return { inputs: news, failures: [] };
      const { value, secrets } = reveal(news);
      const { props, filled } = withConfiguration(h, value as Props);
      const r = h.check(props);
      return {
        inputs: conceal(without(r.inputs, filled), secrets),
        failures: r.failures.map((f) => configurationHint(h, f, value as Props)),
      };
    },
    async diff(id, urn, olds, news, oldInputs) {
      const h = handlerFor(urn);
      // Both sides with the configuration filled in: state that still holds a configured fact (state
      // written before it moved to the configuration) and a program that leaves it to the provider
      // differ only where the values do.
      const n = withConfiguration(h, plain(news)).props;
      const o = withConfiguration(h, plain(oldState(olds, oldInputs))).props;
      const d = h.diff(id, rootByReference(o, n), n);
      const replaces = [...new Set(h.update ? d.replaces : [...d.replaces, ...d.updates])];
      const changes = replaces.length > 0 || (!!h.update && d.updates.length > 0);
      const diffs = [...new Set([...d.replaces, ...d.updates])];
      return { changes, replaces, diffs, deleteBeforeReplace: d.deleteBeforeReplace ?? false };
    },
    async create(urn, inputs) {
      const h = handlerFor(urn);
      const { value, secrets } = reveal(inputs);
      const { props } = withConfiguration(h, value as Props);
      const checked = h.check ? h.check(props) : { inputs: props, failures: [] };
      if (checked.failures.length > 0)
        throw new Error(checked.failures.map((f) => `${f.property}: ${f.reason}`).join("; "));
      const r = await h.create(checked.inputs);
      return { id: r.id, outs: outputs(h, r.outs, checked.inputs, secrets) };
    },
    async read(id, urn, props, inputs) {
      const h = handlerFor(urn);
      const { value, secrets } = reveal(oldState(props ?? {}, inputs));
      const stored = value as Props;
      const r = await h.read(id, withConfiguration(h, stored).props);
      // What the configuration holds stays out of a resource's inputs when the resource left it out,
      // so a refresh stores no more than the program did. An import (nothing stored) gets every
      // input: the engine writes them into the program it generates.
      const facts = configuredFacts();
      const importing = Object.keys(stored).length === 0;
      const fromConfiguration = importing
        ? []
        : (h.configured ?? []).filter(
            (k) => stored[k] === undefined && JSON.stringify(r.inputs[k]) === JSON.stringify(facts[k]),
          );
      return {
        id: r.id,
        props: outputs(h, r.props, r.inputs, secrets),
        inputs: conceal(without(r.inputs, fromConfiguration), [...secrets, ...(h.secretInputs ?? [])]),
      };
    },
    async update(id, urn, olds, news, oldInputs) {
      const h = handlerFor(urn);
      // diff turns every change into a replacement for a handler without update: unreachable then.
      if (!h.update)
        throw new Error(`${h.token} has no in-place update; this change should have replaced it`);
      const n = reveal(news);
      const filledNews = withConfiguration(h, n.value as Props).props;
      const old = withConfiguration(h, plain(oldState(olds, oldInputs))).props;
      const outs = await h.update(id, old, filledNews);
      return outputs(h, outs, filledNews, n.secrets);
    },
    async delete(id, urn, props, oldInputs) {
      const h = handlerFor(urn);
      if (h.delete) await h.delete(id, withConfiguration(h, plain(oldState(props, oldInputs))).props);
    },
  };
}
