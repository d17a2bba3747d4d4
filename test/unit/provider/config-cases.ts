/**
 * The table of hostile and mistaken provider configuration values (used by config.test.ts): each row
 * is one value of one key, a part of the reason it must be refused with, and what the message must
 * show as received — escaped as lib/fleet's describeValue escapes, or hidden.
 */
import { execFileSync } from "node:child_process";
import * as pki from "../../../lib/pki";
import type { Props } from "../../../provider/types";

export const ROOT = pki.createRootCa({ commonName: "provider config test root" });
export const SERVER_NAME = "site.dc1.zeroroot.example";
const ENDPOINT = "https://etcd.dc1.zeroroot.example:2379";

/** A configuration as the dc1 stack gives it: every row changes one key of it. */
export const GOOD: Props = {
  rootCertificatePem: ROOT.certificatePem,
  controlPlaneEndpoints: [ENDPOINT, "https://etcd.dc2.zeroroot.example:2379"],
  siteUrl: "https://10.77.1.2:8443",
  siteServerName: SERVER_NAME,
};

/** A dc1 issuing CA: a CA, but not the root. */
function issuingCaPem(): string {
  const key = pki.generateKeyPair();
  const csr = pki.createCsr({ commonName: "dc1 issuing CA" }, key.privateKey);
  return pki.issueFromCsr(ROOT.ca, "issuing", csr, {
    nameScope: { dnsZones: ["dc1.zeroroot.example"], ipNetworks: [] },
  }).certificatePem;
}

/** A self-signed certificate that is not a CA, made by openssl. */
function selfSignedLeafPem(): string {
  const args = ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"];
  args.push("-keyout", "/dev/null", "-subj", "/CN=not a ca", "-days", "1");
  args.push("-addext", "basicConstraints=critical,CA:FALSE");
  return execFileSync("openssl", args, { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] });
}

const LONG_NAME = `${`${"a".repeat(60)}.`.repeat(5)}example`;
const PEM_START = "-----BEGIN CERTIFICATE-----\\nMII";

export type Key = "siteUrl" | "siteServerName" | "controlPlaneEndpoints" | "rootCertificatePem";
/** [title, key, value, why (a part of the reason), what the reason shows as received]. */
export type Row = readonly [string, Key, unknown, RegExp, string];

// prettier-ignore
export const ROWS: readonly Row[] = [
  ["an empty site URL", "siteUrl", "", /; empty;/, `is "";`],
  ["a site URL that is a number", "siteUrl", 8443, /not a string/, "is 8443;"],
  ["a site URL that is an object", "siteUrl", { url: GOOD.siteUrl }, /not a string/, `{\\"url\\":`],
  ["a site URL that is null", "siteUrl", null, /not a string/, "is null;"],
  ["plain http", "siteUrl", "http://10.77.1.2:8443", /not an https:\/\/ URL/, `"http://10.77.1.2:8443"`],
  ["no scheme", "siteUrl", "10.77.1.2:8443", /not an https:\/\/ URL/, `"10.77.1.2:8443"`],
  ["an upper-case scheme", "siteUrl", "HTTPS://10.77.1.2:8443", /not an https:\/\/ URL/, `"HTTPS://10.77.1.2:8443"`],
  ["a file URL", "siteUrl", "file:///etc/passwd", /not an https:\/\/ URL/, `"file:///etc/passwd"`],
  ["a user and password", "siteUrl", "https://admin:hunter2@10.77.1.2:8443", /user name or password/, "a string (value hidden)"],
  ["a user and password over http", "siteUrl", "http://admin:hunter2@10.77.1.2", /user name or password/, "a string (value hidden)"],
  ["a path (the client would drop it)", "siteUrl", "https://10.77.1.2:8443/v1", /path, query or fragment/, `"https://10.77.1.2:8443/v1"`],
  ["a query", "siteUrl", "https://10.77.1.2:8443?x=1", /path, query or fragment/, `"https://10.77.1.2:8443?x=1"`],
  ["a fragment", "siteUrl", "https://10.77.1.2:8443#a", /path, query or fragment/, `"https://10.77.1.2:8443#a"`],
  ["a newline in the host (URL parsing would drop it)", "siteUrl", "https://10.77.1\n.2:8443", /control character/, `"https://10.77.1\\n.2:8443"`],
  ["a tab", "siteUrl", "https://10.77.1.2:84\t43", /control character/, `"https://10.77.1.2:84\\t43"`],
  ["a NUL", "siteUrl", "https://10.77.1.2:8443\u0000", /control character/, `"https://10.77.1.2:8443\\u0000"`],
  ["a bidi override", "siteUrl", "https://10.77.1.2:\u202e3448", /non-ASCII/, `"https://10.77.1.2:\\u202e3448"`],
  ["a leading space", "siteUrl", ` ${GOOD.siteUrl}`, /a space/, `" https://10.77.1.2:8443"`],
  ["a non-ASCII host", "siteUrl", "https://sité.dc1.example:8443", /non-ASCII/, `"https://sit\\u00e9.dc1.example:8443"`],
  ["an over-long URL", "siteUrl", `https://${"x".repeat(3000)}.example`, /longer than 300 characters/, "(3016 characters)"],
  ["a port out of range", "siteUrl", "https://10.77.1.2:70000", /port is outside 1-65535/, `"https://10.77.1.2:70000"`],
  ["port 0", "siteUrl", "https://10.77.1.2:0", /port is outside 1-65535/, `"https://10.77.1.2:0"`],
  ["a port that is a word", "siteUrl", "https://10.77.1.2:https", /not host\[:port\]/, `"https://10.77.1.2:https"`],
  ["no host", "siteUrl", "https://:8443", /not host\[:port\]/, `"https://:8443"`],
  ["a wildcard host", "siteUrl", "https://*.dc1.example:8443", /neither an IP address nor/, `"https://*.dc1.example:8443"`],
  ["an IPv4 address with an octet over 255", "siteUrl", "https://10.77.1.256:8443", /neither an IP address nor/, `"https://10.77.1.256:8443"`],
  ["a hex IPv4 form that URL parsing would accept", "siteUrl", "https://0x7f.1:8443", /neither an IP address nor/, `"https://0x7f.1:8443"`],
  ["a host with a trailing dot", "siteUrl", "https://site.dc1.example.:8443", /neither an IP address nor/, `"https://site.dc1.example.:8443"`],
  ["a bracketed host that is no IPv6 address", "siteUrl", "https://[site.dc1]:8443", /neither an IP address nor/, `"https://[site.dc1]:8443"`],
  ["an IPv6 zone", "siteUrl", "https://[fe80::1%eth0]:8443", /neither an IP address nor/, `"https://[fe80::1%eth0]:8443"`],

  ["an empty server name", "siteServerName", "", /; empty;/, `is "";`],
  ["a server name that is a number", "siteServerName", 7, /not a string/, "is 7;"],
  ["a server name that is a list", "siteServerName", [SERVER_NAME], /not a string/, `[\\"site.dc1.zeroroot.example\\"]`],
  ["a space in the name", "siteServerName", "site dc1.zeroroot.example", /a space/, `"site dc1.zeroroot.example"`],
  ["a trailing dot", "siteServerName", `${SERVER_NAME}.`, /ends with a dot/, `"site.dc1.zeroroot.example."`],
  ["a wildcard", "siteServerName", "*.dc1.zeroroot.example", /a wildcard/, `"*.dc1.zeroroot.example"`],
  ["an IPv4 address", "siteServerName", "10.77.1.2", /an IP address; a TLS server name is a DNS name/, `"10.77.1.2"`],
  ["an IPv6 address", "siteServerName", "fd00:77::2", /an IP address/, `"fd00:77::2"`],
  ["a bracketed IPv6 address", "siteServerName", "[fd00:77::2]", /an IP address/, `"[fd00:77::2]"`],
  ["upper case", "siteServerName", "Site.DC1.zeroroot.example", /upper-case/, `"Site.DC1.zeroroot.example"`],
  ["a single label", "siteServerName", "site", /not a fully qualified DNS name/, `"site"`],
  ["a port", "siteServerName", `${SERVER_NAME}:8443`, /not a fully qualified DNS name/, `"site.dc1.zeroroot.example:8443"`],
  ["a URL instead of a name", "siteServerName", `https://${SERVER_NAME}`, /not a fully qualified DNS name/, `"https://site.dc1.zeroroot.example"`],
  ["a label over 63 characters", "siteServerName", `${"a".repeat(64)}.example`, /not a fully qualified DNS name/, `"${"a".repeat(64)}.example"`],
  ["a name over 253 characters", "siteServerName", `${LONG_NAME}.${LONG_NAME}`, /longer than 253 characters/, "(625 characters)"],
  ["a newline", "siteServerName", `${SERVER_NAME}\nx`, /control character/, `"site.dc1.zeroroot.example\\nx"`],
  ["a NUL", "siteServerName", `${SERVER_NAME}\u0000`, /control character/, `"site.dc1.zeroroot.example\\u0000"`],
  ["a leading hyphen", "siteServerName", "-site.dc1.zeroroot.example", /not a fully qualified DNS name/, `"-site.dc1.zeroroot.example"`],

  ["endpoints given as one string", "controlPlaneEndpoints", ENDPOINT, /not a list/, `"https://etcd.dc1.zeroroot.example:2379"`],
  ["no endpoint", "controlPlaneEndpoints", [], /an empty list/, "is [];"],
  ["ten endpoints", "controlPlaneEndpoints", Array.from({ length: 10 }, (_, i) => `https://etcd${i}.zeroroot.example:2379`), /more than 9 endpoints/, `[\\"https://etcd0.zeroroot.example:2379\\"`],
  ["an endpoint twice", "controlPlaneEndpoints", [ENDPOINT, ENDPOINT], /names an endpoint twice/, `[\\"https://etcd.dc1.zeroroot.example:2379\\"`],
  ["an endpoint over http", "controlPlaneEndpoints", [ENDPOINT, "http://etcd.dc2.zeroroot.example:2379"], /not an https:\/\/ URL/, `controlPlaneEndpoints[1] is "http://etcd.dc2.zeroroot.example:2379";`],
  ["an endpoint with a password", "controlPlaneEndpoints", ["https://root:etcd-pw@10.77.1.2:2379"], /user name or password/, "controlPlaneEndpoints[0] is a string (value hidden);"],
  ["an endpoint that is a number", "controlPlaneEndpoints", [ENDPOINT, 2379], /not a string/, "controlPlaneEndpoints[1] is 2379;"],
  ["an endpoint by IPv4 address", "controlPlaneEndpoints", ["https://10.77.1.2:2379"], /a TLS server name cannot be an IP address/, `controlPlaneEndpoints[0] is "https://10.77.1.2:2379";`],
  ["an endpoint by IPv6 address", "controlPlaneEndpoints", ["https://[fd00:77::2]:2379"], /a TLS server name cannot be an IP address/, `controlPlaneEndpoints[0] is "https://[fd00:77::2]:2379";`],
  ["an endpoint without a port", "controlPlaneEndpoints", ["https://etcd.dc1.zeroroot.example"], /and an explicit port/, `controlPlaneEndpoints[0] is "https://etcd.dc1.zeroroot.example";`],
  ["an endpoint with a path", "controlPlaneEndpoints", ["https://10.77.1.2:2379/v3/kv"], /path, query or fragment/, `controlPlaneEndpoints[0] is "https://10.77.1.2:2379/v3/kv";`],

  ["a root that is a number", "rootCertificatePem", 7, /not a string/, "is 7;"],
  ["an empty root", "rootCertificatePem", "", /; empty;/, `is "";`],
  ["a root that is no PEM", "rootCertificatePem", "MIIB...", /not a PEM certificate/, `"MIIB..."`],
  ["a root whose PEM body is not X.509", "rootCertificatePem", "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n", /does not parse as X.509/, "-----BEGIN CERTIFICATE-----\\nMIIB\\n"],
  ["a root over 64 KiB", "rootCertificatePem", ROOT.certificatePem + " ".repeat(65_536), /longer than 64 KiB/, PEM_START],
  ["two certificates", "rootCertificatePem", ROOT.certificatePem + ROOT.certificatePem, /2 certificates; give the root alone/, PEM_START],
  ["an issuing CA instead of the root", "rootCertificatePem", issuingCaPem(), /not self-signed/, PEM_START],
  ["a self-signed certificate that is not a CA", "rootCertificatePem", selfSignedLeafPem(), /not a CA certificate/, PEM_START],
  ["the root's private key pasted by mistake", "rootCertificatePem", pki.exportPkcs8(ROOT.ca.privateKey).toString(), /a private key, which never leaves its machine/, "a private key (not shown)"],
];

/** What each key's message must say is allowed. */
export const ALLOWED: Readonly<Record<Key, RegExp>> = {
  siteUrl: /allowed: https:\/\/<IP address or DNS name>\[:port\]/,
  siteServerName: /allowed: a fully qualified, lower-case DNS name/,
  controlPlaneEndpoints: /allowed: a list of 1-9 distinct client URLs, each https:\/\/<DNS name>:<port>/,
  rootCertificatePem: /allowed: the platform root CA certificate as one PEM block/,
};

/** What a message must never show, whichever row it answers. */
export const NEVER_SHOWN = ["hunter2", "etcd-pw", "PRIVATE KEY"];
