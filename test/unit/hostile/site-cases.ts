/** The table of hostile requests to the site services (used by site.test.ts). */
import { ROUTES, type TlsIdentity } from "../../../lib/site";
import { identityFrom, type SiteFixture } from "../../helpers/site-fixture";
import { csrFor, forgeLeaf, json } from "../site/helpers";

export type Who = "none" | "operator" | "computer" | ((site: SiteFixture) => TlsIdentity);
export interface Case {
  readonly name: string;
  readonly method: string;
  readonly path: string | ((site: SiteFixture) => string);
  readonly who?: Who;
  readonly headers?: Record<string, string>;
  readonly body?: string;
  readonly status: number;
}

export const MAC = "52:54:00:01:01:11";
const TOKEN = `Bearer ${"A".repeat(43)}`;
const withToken = (v: unknown) => ({ ...json(v), headers: { ...json(v).headers, authorization: TOKEN } });
const ARM = { serverId: "dc1-s05", hostname: "s05.dc1.zeroroot.test", mac: "52:54:00:01:01:15" };
const REPORT = { agentUser: "zr-agent", agentUid: 2000, listeningTcpPorts: [22], bootId: "b" };
const get = (name: string, path: Case["path"], status: number, who: Who = "none"): Case => ({
  name,
  method: "GET",
  path,
  who,
  status,
});
const postJson = (name: string, path: string, who: Who, body: unknown, status: number): Case => ({
  name,
  method: "POST",
  path,
  who,
  ...json(body),
  status,
});

export const CASES: Case[] = [
  // Routing and method
  get("an unknown route", "/nope", 404),
  {
    name: "an unknown method on a known path",
    method: "DELETE",
    path: ROUTES.alerts,
    who: "operator",
    status: 404,
  },
  get("a path that climbs out of the image directory", "/images/../../etc/passwd", 404),
  get("a server lookup for __proto__", "/admin/servers/__proto__", 404, "operator"),
  get("a server lookup for constructor", "/admin/servers/constructor", 404, "operator"),
  get("a server lookup for toString", "/admin/servers/toString", 404, "operator"),
  // Netboot: MACs and percent-encoding
  get("netboot of something that is not a MAC", "/netboot/zz", 400),
  get("netboot with a broken percent-encoding", "/netboot/%E0%A4%A", 400),
  get(
    "netboot of a MAC with an encoded newline",
    `/netboot/${encodeURIComponent(`${MAC}\nALERT forged`)}`,
    400,
  ),
  get("netboot of the broadcast MAC", "/netboot/ff:ff:ff:ff:ff:ff", 400),
  get("netboot of a multicast MAC", "/netboot/01:00:5e:00:00:01", 400),
  get("netboot of the all-zero MAC", "/netboot/00:00:00:00:00:00", 400),
  get("netboot of a MAC nobody armed", "/netboot/52:54:00:09:09:09", 404),
  // Image: tokens
  get("the image without a token", (s) => ROUTES.image(s.config.imageSha256), 403),
  {
    name: "the image with an unknown token",
    method: "GET",
    path: (s) => ROUTES.image(s.config.imageSha256),
    headers: { authorization: TOKEN },
    status: 403,
  },
  {
    name: "the image with a 10 KB token",
    method: "GET",
    path: (s) => ROUTES.image(s.config.imageSha256),
    headers: { authorization: `Bearer ${"A".repeat(7000)}` },
    status: 403,
  },
  // Enrollment bodies
  {
    name: "enroll with no content-type",
    method: "POST",
    path: ROUTES.enroll,
    headers: { authorization: TOKEN },
    body: "{}",
    status: 415,
  },
  {
    name: "enroll as text/plain",
    method: "POST",
    path: ROUTES.enroll,
    headers: { authorization: TOKEN, "content-type": "text/plain" },
    body: "{}",
    status: 415,
  },
  { name: "enroll with a null body", method: "POST", path: ROUTES.enroll, ...withToken("null"), status: 400 },
  { name: "enroll with an array body", method: "POST", path: ROUTES.enroll, ...withToken("[]"), status: 400 },
  {
    name: "enroll with a string body",
    method: "POST",
    path: ROUTES.enroll,
    ...withToken('"x"'),
    status: 400,
  },
  {
    name: "enroll with a body that is not JSON",
    method: "POST",
    path: ROUTES.enroll,
    ...withToken("{"),
    status: 400,
  },
  {
    name: "enroll with fields of the wrong type",
    method: "POST",
    path: ROUTES.enroll,
    ...withToken({ mac: 5, csrPem: [] }),
    status: 400,
  },
  {
    name: "enroll with a MAC that carries a forged log line",
    method: "POST",
    path: ROUTES.enroll,
    ...withToken({ mac: `${MAC}\nALERT forged`, csrPem: "x" }),
    status: 400,
  },
  {
    name: "enroll with a 9,000-character CSR",
    method: "POST",
    path: ROUTES.enroll,
    ...withToken({ mac: MAC, csrPem: "x".repeat(9000) }),
    status: 400,
  },
  {
    name: "enroll with an extra field",
    method: "POST",
    path: ROUTES.enroll,
    ...withToken({ mac: MAC, csrPem: "x", admin: true }),
    status: 400,
  },
  {
    name: "enroll with a __proto__ field",
    method: "POST",
    path: ROUTES.enroll,
    ...withToken(`{"__proto__":{"mac":"${MAC}","csrPem":"x"}}`),
    status: 400,
  },
  postJson("enroll with no Authorization", ROUTES.enroll, "none", { mac: MAC, csrPem: "x" }, 403),
  {
    name: "enroll with a malformed token",
    method: "POST",
    path: ROUTES.enroll,
    headers: { ...json({}).headers, authorization: "Bearer a\u00e9b" },
    body: JSON.stringify({ mac: MAC, csrPem: "x" }),
    status: 403,
  },
  {
    name: "enroll with a token this site never issued",
    method: "POST",
    path: ROUTES.enroll,
    ...withToken({ mac: MAC, csrPem: "x" }),
    status: 403,
  },
  {
    name: "enroll announcing a 1 GB body",
    method: "POST",
    path: ROUTES.enroll,
    headers: { ...withToken({}).headers, "content-length": "1000000000" },
    body: "{}",
    status: 413,
  },
  // Arm (operator)
  postJson("arm with a null body", ROUTES.arm, "operator", null, 400),
  postJson("arm with an array body", ROUTES.arm, "operator", [ARM], 400),
  postJson(
    "arm with fields of the wrong type",
    ROUTES.arm,
    "operator",
    { serverId: 1, hostname: [], mac: {} },
    400,
  ),
  postJson(
    "arm a server of another data center",
    ROUTES.arm,
    "operator",
    { ...ARM, serverId: "dc2-s05" },
    400,
  ),
  postJson("arm a server named __proto__", ROUTES.arm, "operator", { ...ARM, serverId: "__proto__" }, 400),
  postJson(
    "arm a server named constructor",
    ROUTES.arm,
    "operator",
    { ...ARM, serverId: "constructor" },
    400,
  ),
  postJson(
    "arm a 70-character server id",
    ROUTES.arm,
    "operator",
    { ...ARM, serverId: `dc1-${"s".repeat(66)}` },
    400,
  ),
  postJson(
    "arm a host name outside the data center's zone",
    ROUTES.arm,
    "operator",
    { ...ARM, hostname: "s05.dc2.zeroroot.test" },
    400,
  ),
  postJson("arm the broadcast MAC", ROUTES.arm, "operator", { ...ARM, mac: "ff:ff:ff:ff:ff:ff" }, 400),
  postJson("arm a MAC with a newline", ROUTES.arm, "operator", { ...ARM, mac: `${ARM.mac}\n` }, 400),
  postJson("arm with a 10 KB body", ROUTES.arm, "operator", { ...ARM, pad: "x".repeat(10_000) }, 413),
  postJson(
    "arm a MAC already registered to another server",
    ROUTES.arm,
    "operator",
    { ...ARM, mac: MAC },
    409,
  ),
  // Readiness (computer)
  postJson("readiness with a null body", ROUTES.ready, "computer", null, 400),
  postJson("readiness with a uid as a string", ROUTES.ready, "computer", { ...REPORT, agentUid: "0" }, 400),
  postJson(
    "readiness with port 70000",
    ROUTES.ready,
    "computer",
    { ...REPORT, listeningTcpPorts: [70_000] },
    400,
  ),
  postJson(
    "readiness with 5,000 ports",
    ROUTES.ready,
    "computer",
    { ...REPORT, listeningTcpPorts: Array(5000).fill(80) },
    400,
  ),
  postJson(
    "readiness with a boot id that carries a newline",
    ROUTES.ready,
    "computer",
    { ...REPORT, bootId: "b\nALERT forged" },
    400,
  ),
  // Service certificates (computer)
  postJson(
    "a service CSR for an instance that is no DNS label",
    "/services/csr",
    "computer",
    { instance: "../x", csrPem: "x" },
    400,
  ),
  postJson(
    "a service CSR that is not a CSR",
    "/services/csr",
    "computer",
    { instance: "db", csrPem: "garbage" },
    400,
  ),
  postJson(
    "a service CSR whose name would exceed 64 characters",
    "/services/csr",
    "computer",
    { instance: "a".repeat(60), csrPem: csrFor("x") },
    400,
  ),
  postJson("a service CSR with a null body", "/services/csr", "computer", null, 400),
  // Identities
  get("an admin route with no certificate", ROUTES.alerts, 401),
  get("an admin route with a computer certificate", ROUTES.alerts, 403, "computer"),
  get("an admin route with dc2's operator", ROUTES.alerts, 403, (s) =>
    identityFrom(s.cas.dc2, "user", "operator"),
  ),
  get("an admin route with a service certificate named operator", ROUTES.alerts, 403, (s) =>
    identityFrom(s.cas.dc1, "service", "operator"),
  ),
  get("an admin route with a foreign root's operator", ROUTES.alerts, 401, (s) => s.foreignOperator),
  postJson(
    "readiness from a user named like a computer",
    ROUTES.ready,
    (s) => identityFrom(s.cas.dc1, "user", "dc1-s01"),
    REPORT,
    403,
  ),
  postJson("readiness from an operator", ROUTES.ready, "operator", REPORT, 403),
  postJson(
    "readiness from dc1-s01 minted by dc2's CA",
    ROUTES.ready,
    (s) => forgeLeaf(s.cas.dc2, "computer", "dc1-s01", "zeroroot://computer.dc2.zeroroot.test/dc1-s01"),
    REPORT,
    403,
  ),
  postJson(
    "a service CSR from dc1-s01 minted by dc2's CA",
    "/services/csr",
    (s) => forgeLeaf(s.cas.dc2, "computer", "dc1-s01", "zeroroot://computer.dc2.zeroroot.test/dc1-s01"),
    { instance: "db", csrPem: csrFor("x") },
    403,
  ),
];
