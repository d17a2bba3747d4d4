/**
 * IssuingCa: a data center's issuing CA certificate, signed by the root from a CSR made on the
 * site's management server (the issuing key never leaves it). Outputs certificates and dates,
 * never the root key (an input only, secret). `read` re-derives serial and dates from the stored
 * certificate and, when `crlPath` names the root's CRL (published by the ceremony), reports whether
 * the root revoked it, with the nodes' own revocation check (lib/pki); a revoked CA is replaced by
 * the next update. `update` and `delete` are absent: every change is a new certificate (replace),
 * and a certificate cannot be un-issued (revocation is the root ceremony's job, `zeroroot pki revoke`).
 */
import { readFileSync } from "node:fs";
import { issueFromCsr, LEAF_KINDS, loadCa, parseCertificate, PROFILES, type LeafKind } from "../../lib/pki";
import { checkRevocation, parseCrls } from "../../lib/pki/verify-crl";
import { resourceType } from "../../lib/contracts/resources";
import { Checker, renewalDue } from "../checks";
import { changedKeys, inputsOf, type Handler, type Props } from "../types";

const INPUTS = [
  "dataCenter",
  "dnsZones",
  "ipNetworks",
  "kinds",
  "csrPem",
  "rootCertificatePem",
  "rootKeyPem",
  "validityDays",
  "renewBeforeDays",
  "crlPath",
] as const;
const ISSUING = PROFILES.issuing;
/** A site's online CA issues to computers and services only: no software signers, no users. */
export const ONLINE_CA_KINDS: readonly LeafKind[] = ["computer", "service"];

/** Whether the root's CRL at `crlPath` revokes this CA: the check nodes run on a chain (lib/pki). */
function observeRevocation(p: Props): { revoked: boolean; revocationDetail: string } {
  if (typeof p.crlPath !== "string") return { revoked: false, revocationDetail: "" };
  let text: string;
  try {
    text = readFileSync(p.crlPath, "utf8");
  } catch (e) {
    throw new Error(`crlPath: cannot read ${p.crlPath} (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
  }
  const crls = parseCrls([text]);
  if (!Array.isArray(crls)) throw new Error(`crlPath ${p.crlPath}: ${crls.detail}`);
  const refusal = checkRevocation(
    [parseCertificate(String(p.certificatePem))],
    parseCertificate(String(p.rootCertificatePem)),
    crls,
    new Date(),
    false,
    [],
  );
  if (refusal && refusal.reason !== "revoked")
    throw new Error(`crlPath ${p.crlPath}: ${refusal.reason}: ${refusal.detail}`);
  return { revoked: !!refusal, revocationDetail: refusal?.detail ?? "" };
}

export const issuingCa: Handler = {
  token: resourceType("IssuingCa"),
  check(news) {
    const inputs: Props = {
      ...news,
      ipNetworks: news.ipNetworks ?? [],
      kinds: news.kinds ?? [...ONLINE_CA_KINDS],
      validityDays: news.validityDays ?? ISSUING.validityDays,
      renewBeforeDays: news.renewBeforeDays ?? ISSUING.renewBeforeDays,
    };
    const c = new Checker(inputs);
    c.text("dataCenter", 63);
    c.texts("dnsZones", 1);
    c.texts("ipNetworks", 64);
    c.texts("kinds", LEAF_KINDS.length);
    if (Array.isArray(inputs.kinds) && inputs.kinds.some((k) => !LEAF_KINDS.includes(k as LeafKind)))
      c.fail("kinds", `kinds lists ${JSON.stringify(inputs.kinds)}; allowed: ${LEAF_KINDS.join(", ")}`);
    c.pem("csrPem", "CERTIFICATE REQUEST");
    c.pem("rootCertificatePem");
    if (inputs.crlPath !== undefined) c.text("crlPath", 4096);
    c.int("validityDays", 1, ISSUING.validityDays);
    c.int("renewBeforeDays", 0, Number(inputs.validityDays) - 1 || 0);
    return c.result(inputs);
  },
  diff(_id, olds, news) {
    // rootKeyPem is not compared: the same root may be re-keyed into state; its certificate decides.
    const replaces = changedKeys(
      olds,
      news,
      INPUTS.filter((k) => k !== "rootKeyPem"),
    );
    if (renewalDue("issuing", olds.notAfter, news.renewBeforeDays)) replaces.push("notAfter");
    // Read saw the root revoke it: the next update issues a new one from the (new) CSR.
    if (olds.revoked === true) replaces.push("revoked");
    return { replaces, updates: [] };
  },
  async create(inputs) {
    const root = loadCa(String(inputs.rootCertificatePem), String(inputs.rootKeyPem));
    const zones = inputs.dnsZones as string[];
    const issued = issueFromCsr(root, "issuing", String(inputs.csrPem), {
      commonName: `${zones[0]} issuing CA`,
      nameScope: {
        dnsZones: zones,
        ipNetworks: inputs.ipNetworks as string[],
        kinds: inputs.kinds as LeafKind[],
      },
      validityDays: Number(inputs.validityDays),
      organization: "zeroroot",
    });
    const { rootKeyPem: _key, ...rest } = inputsOf(inputs, INPUTS);
    return {
      id: issued.serial,
      outs: {
        ...rest,
        certificatePem: issued.certificatePem,
        serial: issued.serial,
        notAfter: issued.notAfter.toISOString(),
      },
    };
  },
  async read(id, props) {
    if (typeof props.certificatePem !== "string")
      throw new Error(`IssuingCa ${id} cannot be imported by id alone; create it from its CSR`);
    const info = parseCertificate(props.certificatePem);
    const observed = {
      ...props,
      serial: info.serial,
      notAfter: info.notAfter.toISOString(),
      ...observeRevocation(props),
    };
    return { id, props: observed, inputs: inputsOf(observed, INPUTS) };
  },
};
