/**
 * RootCa: the platform root kept in Pulumi state (managed-root mode). Nothing exists outside the
 * state, so `read` re-derives serial and dates from the stored certificate (a hand-edited state
 * shows as drift) and `delete` is absent: there is nothing to remove, the key leaves with the state.
 * Only `renewBeforeDays` changes in place; every other change, and a due renewal, replaces.
 */
import { createRootCa, exportPkcs8, KEY_KINDS, parseCertificate, PROFILES } from "../../lib/pki";
import { resourceType } from "../../lib/contracts/resources";
import { Checker, renewalDue } from "../checks";
import { changedKeys, inputsOf, type Handler, type Props } from "../types";

const INPUTS = ["commonName", "keyType", "validityDays", "renewBeforeDays"] as const;
const ROOT = PROFILES.root;

export const rootCa: Handler = {
  token: resourceType("RootCa"),
  secretOutputs: ["keyPem"],
  check(news) {
    const inputs: Props = {
      ...news,
      keyType: news.keyType ?? "ec-p256",
      validityDays: news.validityDays ?? ROOT.validityDays,
      renewBeforeDays: news.renewBeforeDays ?? ROOT.renewBeforeDays,
    };
    const c = new Checker(inputs);
    c.text("commonName", 64);
    c.oneOf("keyType", KEY_KINDS);
    c.int("validityDays", 1, ROOT.validityDays);
    c.int("renewBeforeDays", 0, Number(inputs.validityDays) - 1 || 0);
    return c.result(inputs);
  },
  diff(_id, olds, news) {
    const replaces = changedKeys(olds, news, ["commonName", "keyType", "validityDays"]);
    if (renewalDue("root", olds.notAfter, news.renewBeforeDays)) replaces.push("notAfter");
    return { replaces, updates: changedKeys(olds, news, ["renewBeforeDays"]) };
  },
  async create(inputs) {
    const root = createRootCa({
      commonName: String(inputs.commonName),
      organization: "zeroroot",
      keyKind: inputs.keyType as (typeof KEY_KINDS)[number],
      validityDays: Number(inputs.validityDays),
    });
    const info = root.ca.info;
    return {
      id: info.serial,
      outs: {
        ...inputsOf(inputs, INPUTS),
        certificatePem: root.certificatePem,
        keyPem: exportPkcs8(root.ca.privateKey).toString(),
        serial: info.serial,
        notAfter: info.notAfter.toISOString(),
      },
    };
  },
  async read(id, props) {
    if (typeof props.certificatePem !== "string")
      throw new Error(
        `RootCa ${id} cannot be imported: its key exists only in Pulumi state; create it instead`,
      );
    const info = parseCertificate(String(props.certificatePem));
    const observed = { ...props, serial: info.serial, notAfter: info.notAfter.toISOString() };
    return { id, props: observed, inputs: inputsOf(observed, INPUTS) };
  },
  async update(_id, olds, news) {
    // Only renewBeforeDays reaches here (diff): the certificate and key stay as created.
    return { ...olds, renewBeforeDays: news.renewBeforeDays };
  },
};
