/**
 * Certificate: a leaf issued from a CSR by a data center's issuing CA, whose key is read by path on
 * the machine running the provider (the management server). State holds the CSR, the certificate
 * and dates, never a key. `read` runs the nodes' own verifier (lib/pki verifyCertificate) against
 * the issuing CA and, when `crlPath` names the CA's CRL, reports revocation; a revoked certificate
 * is replaced on the next update. `update` applies a moved key or CRL path only; `delete` is absent:
 * an issued certificate cannot be un-issued (revoke it through the site or ceremony).
 */
import { readFileSync } from "node:fs";
import {
  issueFromCsr,
  KEY_KINDS,
  LEAF_KINDS,
  loadCa,
  parseCertificate,
  parseCsr,
  PROFILES,
  verifyCertificate,
  type LeafKind,
} from "../../lib/pki";
import { resourceType } from "../../lib/contracts/resources";
import { Checker, renewalDue } from "../checks";
import { changedKeys, inputsOf, type Handler, type Props } from "../types";

const INPUTS = [
  "kind",
  "subject",
  "dnsNames",
  "ipAddresses",
  "keyType",
  "validityDays",
  "extendedKeyUsage",
  "csrPem",
  "renewBeforeDays",
  "caCertificatePem",
  "keyPath",
  "passphrasePath",
  "crlPath",
] as const;
const ISSUED_FROM = ["kind", "subject", "dnsNames", "ipAddresses", "keyType", "validityDays", "csrPem"];
const WHERE = ["keyPath", "passphrasePath", "crlPath", "renewBeforeDays"];

const readText = (path: string, what: string): string => {
  try {
    return readFileSync(path, "utf8");
  } catch (e) {
    throw new Error(`${what}: cannot read ${path} (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
  }
};

/** What the nodes' verifier says of the certificate now: "ok", or its refusal reason. */
function observe(p: Props): { verification: string; revoked: boolean; detail: string } {
  const kind = PROFILES[p.kind as LeafKind];
  const crls = p.crlPath ? [readText(String(p.crlPath), "crlPath")] : undefined;
  const r = verifyCertificate(String(p.certPem), String(p.caCertificatePem), {
    use: kind.extendedKeyUsage[0],
    crls,
  });
  if (r.ok) return { verification: "ok", revoked: false, detail: "" };
  return { verification: r.reason, revoked: r.reason === "revoked", detail: r.detail };
}

export const certificate: Handler = {
  token: resourceType("Certificate"),
  check(news) {
    const profile = PROFILES[news.kind as LeafKind] ?? PROFILES.user;
    const inputs: Props = {
      ...news,
      dnsNames: news.dnsNames ?? [],
      ipAddresses: news.ipAddresses ?? [],
      keyType: news.keyType ?? "ec-p256",
      validityDays: news.validityDays ?? profile.validityDays,
      renewBeforeDays: news.renewBeforeDays ?? profile.renewBeforeDays,
      extendedKeyUsage: [...profile.extendedKeyUsage],
      passphrasePath: news.passphrasePath ?? "",
      crlPath: news.crlPath ?? "",
    };
    const c = new Checker(inputs);
    c.oneOf("kind", LEAF_KINDS);
    c.text("subject", 64);
    c.texts("dnsNames");
    c.texts("ipAddresses");
    c.oneOf("keyType", KEY_KINDS);
    c.int("validityDays", 1, profile.validityDays);
    c.int("renewBeforeDays", 0, Number(inputs.validityDays) - 1 || 0);
    c.pem("csrPem", "CERTIFICATE REQUEST");
    c.pem("caCertificatePem");
    c.text("keyPath", 4096);
    if (c.failures.length === 0) {
      try {
        const kind = parseCsr(String(inputs.csrPem)).keyKind;
        if (kind !== inputs.keyType)
          c.fail("keyType", `the CSR carries a ${kind} key but keyType is ${String(inputs.keyType)}`);
      } catch (e) {
        c.fail("csrPem", `csrPem cannot be read: ${(e as Error).message}`);
      }
    }
    return c.result(inputs);
  },
  diff(_id, olds, news) {
    const replaces = changedKeys(olds, news, [...ISSUED_FROM, "caCertificatePem"]);
    if (renewalDue(news.kind as LeafKind, olds.notAfter, news.renewBeforeDays)) replaces.push("notAfter");
    if (olds.revoked === true) replaces.push("revoked");
    return { replaces, updates: changedKeys(olds, news, WHERE) };
  },
  async create(inputs) {
    const pass = inputs.passphrasePath
      ? readText(String(inputs.passphrasePath), "passphrasePath").split(/\r?\n/)[0]
      : undefined;
    const ca = loadCa(String(inputs.caCertificatePem), readText(String(inputs.keyPath), "keyPath"), pass);
    const issued = issueFromCsr(ca, inputs.kind as LeafKind, String(inputs.csrPem), {
      commonName: String(inputs.subject),
      dnsNames: inputs.dnsNames as string[],
      ipAddresses: inputs.ipAddresses as string[],
      validityDays: Number(inputs.validityDays),
    });
    return {
      id: issued.serial,
      outs: {
        ...inputsOf(inputs, INPUTS),
        certPem: issued.certificatePem,
        serial: issued.serial,
        notAfter: issued.notAfter.toISOString(),
        verification: "ok",
        revoked: false,
      },
    };
  },
  async read(id, props) {
    if (typeof props.certPem !== "string")
      throw new Error(`Certificate ${id} cannot be imported by id alone; create it from its CSR`);
    const info = parseCertificate(props.certPem);
    const seen = observe(props);
    const observed = { ...props, serial: info.serial, notAfter: info.notAfter.toISOString(), ...seen };
    return { id, props: observed, inputs: inputsOf(observed, INPUTS) };
  },
  async update(_id, olds, news) {
    // Only where the CA key or CRL is, or the renewal window, changed: the certificate stays.
    return { ...olds, ...inputsOf(news, WHERE) };
  },
};
