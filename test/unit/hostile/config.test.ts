/**
 * Hostile configuration, through the real readers and the real validator: stack-file texts (as
 * `fleet validate` and `pulumi up` read them) and engine JSON (as the stack program receives config).
 * Each case is one attack or mistake and the refusal it must get: the key path and words of the
 * message. Nothing hostile may resolve, reach Object.prototype, or forge a line of the report.
 */
import { strict as assert } from "node:assert";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  CONFIG_BOUNDS,
  ConfigValidationError,
  MAX_FLOW_DEPTH,
  MAX_STACK_FILE_BYTES,
  checkStackConfig,
  formatIssues,
  parseStackFile,
  readStackFile,
  type ConfigIssue,
} from "../../../lib/fleet";
import { parseConfigValue } from "../../../stacks/config";

const STACKS = join(__dirname, "../../../stacks");
const DC1 = readFileSync(join(STACKS, "Pulumi.dc1.yaml"), "utf8");
const FILE = "Pulumi.dc1.yaml";

type Values = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/** Replaces `from` (which must occur) in the example dc1 file. */
const edit =
  (from: string, to: string) =>
  (t: string): string => {
    assert.ok(t.includes(from), `fixture text not found: ${from}`);
    return t.replace(from, to);
  };
const S0 = "      - id: dc1-s01\n        hostname: s01.dc1.zeroroot.example\n";
const BMC0 = "          address: 10.77.1.111\n";
const SECRET0 = "secure: v1:mDC4cfLtrFz4xFl3:56GmeUfvDQ92tHjLhFMZ/3em30MqakaTGDZ8e+ifHHc=";

/** The example's config as the engine hands it to the program: one JSON text per key. */
function engineTexts(): Record<string, string> {
  const file = parseStackFile(DC1, FILE);
  return Object.fromEntries(Object.entries(file.values).map(([k, v]) => [k, JSON.stringify(v)]));
}

interface Case {
  readonly title: string;
  /** An edit of the dc1 stack file's text… */
  readonly yaml?: (text: string) => string;
  /** …or of the engine's config values (plain JSON), then optionally of their JSON texts. */
  readonly engine?: (v: Values) => void;
  readonly json?: (texts: Record<string, string>) => void;
  readonly path: string;
  /** Words of the issue (received | allowed | fix). */
  readonly expect: RegExp;
  /** Text that must not appear anywhere in the report (a secret). */
  readonly hidden?: string;
}

function issuesOf(c: Case): ConfigIssue[] {
  try {
    if (c.yaml) {
      const { value, issues } = checkStackConfig(parseStackFile(c.yaml(DC1), FILE));
      assert.equal(value, undefined, "hostile config resolved");
      return issues;
    }
    const texts = engineTexts();
    if (c.engine) {
      const v = Object.fromEntries(Object.entries(texts).map(([k, t]) => [k, JSON.parse(t)]));
      c.engine(v);
      for (const [k, x] of Object.entries(v)) texts[k] = typeof x === "string" ? x : JSON.stringify(x);
    }
    c.json?.(texts);
    const values = Object.fromEntries(Object.entries(texts).map(([k, t]) => [k, parseConfigValue(t)]));
    const { value, issues } = checkStackConfig({
      values,
      isSecret: (p) => p[p.length - 1] === "password",
    });
    assert.equal(value, undefined, "hostile config resolved");
    return issues;
  } catch (e) {
    if (e instanceof ConfigValidationError) return [...e.issues];
    throw e;
  }
}

const DC = (v: Values) => v["zeroroot:dataCenter"];
const SRV = (v: Values, i: number) => DC(v).servers[i];
const BILLION_LAUGHS =
  "config:\n  zeroroot:domain: zeroroot.example\n" +
  '  zeroroot:dataCenter:\n    a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n' +
  "    b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\n    c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\n" +
  "    d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\n    e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]\n" +
  "    f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]\n    g: [*f,*f,*f,*f,*f,*f,*f,*f,*f]\n";
const nested = (depth: number): unknown => (depth === 0 ? "x" : { k: nested(depth - 1) });

const CASES: Case[] = [
  // ---- prototype keys, at several depths, both ways in ----
  {
    title: "a __proto__ map inside zeroroot:dataCenter (file)",
    yaml: edit("    location: Lille, FR\n", "    __proto__:\n      location: Evil\n"),
    path: "zeroroot:dataCenter.__proto__",
    expect: /the key "__proto__".*JavaScript's object machinery/,
  },
  {
    title: "a constructor key inside a server (file)",
    yaml: edit(S0, `${S0}        constructor: { name: x }\n`),
    path: "zeroroot:dataCenter.servers[0].constructor",
    expect: /the key "constructor"/,
  },
  {
    title: "a prototype key inside a BMC (file)",
    yaml: edit(BMC0, `${BMC0}          prototype: 1\n`),
    path: "zeroroot:dataCenter.servers[0].bmc.prototype",
    expect: /the key "prototype"/,
  },
  {
    title: "a __proto__ map inside a list item (file)",
    yaml: edit('macs: ["52:54:00:01:01:11"]', "macs: [{ __proto__: { polluted: 1 } }]"),
    path: "zeroroot:dataCenter.servers[0].macs[0].__proto__",
    expect: /the key "__proto__"/,
  },
  {
    title: "a __proto__ key inside zeroroot:dataCenter (engine JSON)",
    json: (t) =>
      (t["zeroroot:dataCenter"] = t["zeroroot:dataCenter"].replace("{", '{"__proto__":{"sitePort":1},')),
    path: "zeroroot:dataCenter.__proto__",
    expect: /the key "__proto__"/,
  },
  {
    title: "a __proto__ key inside a service's parameters (engine JSON)",
    json: (t) =>
      (t["zeroroot:services"] = t["zeroroot:services"].replace(
        '"parameters":{',
        '"parameters":{"__proto__":"x",',
      )),
    // the first service with parameters: dc1's PostgreSQL primary
    path: "zeroroot:services[0].parameters.__proto__",
    expect: /the key "__proto__"/,
  },
  {
    title: "a constructor key inside a data network (engine JSON)",
    engine: (v) => (DC(v).dataNetworks[0].constructor = "x"),
    path: "zeroroot:dataCenter.dataNetworks[0].constructor",
    expect: /the key "constructor"/,
  },
  // ---- MACs no card has ----
  {
    title: "the broadcast MAC",
    yaml: edit('"52:54:00:01:01:11"', '"ff:ff:ff:ff:ff:ff"'),
    path: "zeroroot:dataCenter.servers[0].macs[0]",
    expect: /the broadcast address.*unicast MAC/,
  },
  {
    title: "an IPv4 multicast MAC",
    yaml: edit('"52:54:00:01:01:11"', '"01:00:5e:00:00:01"'),
    path: "zeroroot:dataCenter.servers[0].macs[0]",
    expect: /multicast address \(the low bit of its first octet/,
  },
  {
    title: "an IPv6 multicast MAC on the management server",
    yaml: edit('"52:54:00:01:00:02"', '"33:33:00:00:00:01"'),
    path: "zeroroot:dataCenter.managementServer.macs[0]",
    expect: /multicast/,
  },
  {
    title: "the all-zero MAC",
    yaml: edit('"52:54:00:01:01:11"', '"00:00:00:00:00:00"'),
    path: "zeroroot:dataCenter.servers[0].macs[0]",
    expect: /all-zero/,
  },
  {
    title: "a MAC followed by a newline (a forged log line)",
    engine: (v) => (SRV(v, 0).macs[0] = "52:54:00:01:01:11\nINFO all good"),
    path: "zeroroot:dataCenter.servers[0].macs[0]",
    expect: /"52:54:00:01:01:11\\nINFO all good".*colon-separated MAC/,
  },
  {
    title: "more MACs than a machine has cards",
    engine: (v) =>
      (SRV(v, 0).macs = Array.from({ length: 17 }, (_, i) => `52:54:00:09:00:${(i + 16).toString(16)}`)),
    path: "zeroroot:dataCenter.servers[0].macs",
    expect: /at most 16 MAC addresses/,
  },
  // ---- network and broadcast addresses given to machines; overlapping networks ----
  {
    title: "a server on its data network's network address",
    yaml: edit("        address: 10.78.1.11\n", "        address: 10.78.1.0\n"),
    path: "zeroroot:dataCenter.servers[0].address",
    expect: /the network address of 10\.78\.1\.0\/24/,
  },
  {
    title: "a server on its data network's broadcast address",
    yaml: edit("        address: 10.78.1.11\n", "        address: 10.78.1.255\n"),
    path: "zeroroot:dataCenter.servers[0].address",
    expect: /the broadcast address of 10\.78\.1\.0\/24/,
  },
  {
    title: "a BMC on the management network's broadcast address",
    yaml: edit(BMC0, "          address: 10.77.1.255\n"),
    path: "zeroroot:dataCenter.servers[0].bmc.address",
    expect: /broadcast address of 10\.77\.1\.0\/24/,
  },
  {
    title: "the management server on the management network's own address",
    yaml: edit("managementAddress: 10.77.1.2", "managementAddress: 10.77.1.0"),
    path: "zeroroot:dataCenter.managementServer.managementAddress",
    expect: /network address of 10\.77\.1\.0\/24/,
  },
  {
    title: "the management server's data address on the broadcast address",
    yaml: edit("dataAddress: 10.78.1.2", "dataAddress: 10.78.1.255"),
    path: "zeroroot:dataCenter.managementServer.dataAddress",
    expect: /broadcast address/,
  },
  {
    title: "an IPv6 server on its network's subnet-router address",
    engine: (v) => {
      DC(v).dataNetworks.push({ name: "data6", cidr: "fd00:78:1::/64" });
      SRV(v, 0).address = "fd00:78:1::";
    },
    path: "zeroroot:dataCenter.servers[0].address",
    expect: /network address of fd00:78:1::\/64/,
  },
  {
    title: "two data networks that overlap",
    engine: (v) => DC(v).dataNetworks.push({ name: "more", cidr: "10.78.0.0/16" }),
    path: "zeroroot:dataCenter.dataNetworks[1].cidr",
    expect: /overlaps 10\.78\.1\.0\/24/,
  },
  {
    title: "a data network overlapping the management network",
    engine: (v) => DC(v).dataNetworks.push({ name: "bmc-too", cidr: "10.77.1.128/25" }),
    path: "zeroroot:dataCenter.dataNetworks[1].cidr",
    expect: /does not overlap the management network/,
  },
  // ---- secure: values that are not ciphertext ----
  {
    title: "a plain-text password under secure:",
    yaml: edit(SECRET0, "secure: hunter2-plain"),
    path: "zeroroot:dataCenter.servers[0].bmc.password",
    expect: /secure: value that is not in the form v1:.*value hidden.*pulumi config set --secret/,
    hidden: "hunter2-plain",
  },
  {
    title: "a secure: value with a nonce of the wrong size",
    yaml: edit(SECRET0, "secure: v1:AAAA:56GmeUfvDQ92tHjLhFMZ/3em30MqakaTGDZ8e+ifHHc="),
    path: "zeroroot:dataCenter.servers[0].bmc.password",
    expect: /nonce is not 12 bytes/,
  },
  {
    title: "a secure: value whose body is too short to hold the GCM tag",
    yaml: edit(SECRET0, "secure: v1:mDC4cfLtrFz4xFl3:c2VjcmV0"),
    path: "zeroroot:dataCenter.servers[0].bmc.password",
    expect: /body is not base64 of at least 16 bytes/,
  },
  {
    title: "a secure: value that is a number",
    yaml: edit(SECRET0, "secure: 123456"),
    path: "zeroroot:dataCenter.servers[0].bmc.password",
    expect: /not a string \(value hidden\)/,
    hidden: "123456",
  },
  {
    title: "a BMC password in plain text, without secure:",
    yaml: edit(`password:\n            ${SECRET0}`, "password: k3Qp-x9Zr7Lw2Vb8"),
    path: "zeroroot:dataCenter.servers[0].bmc.password",
    expect: /in plain text \| a Pulumi secret/,
    hidden: "k3Qp-x9Zr7Lw2Vb8",
  },
  // ---- unknown keys ----
  {
    title: "a misspelt top-level key",
    yaml: edit("  zeroroot:domain:", "  zeroroot:domian:"),
    path: "zeroroot:domian",
    expect: /one of zeroroot:domain, zeroroot:global, .*did you mean zeroroot:domain\?/,
  },
  {
    title: "a top-level key zeroroot does not know",
    yaml: edit("  zeroroot:domain:", "  zeroroot:banana: 1\n  zeroroot:domain:"),
    path: "zeroroot:banana",
    expect: /a key zeroroot does not know \| one of zeroroot:domain.*remove zeroroot:banana/,
  },
  {
    title: "a bare top-level key, read as zeroroot:<key>",
    yaml: edit("  zeroroot:domain:", "  dataCentre: {}\n  zeroroot:domain:"),
    path: "zeroroot:dataCentre",
    expect: /did you mean zeroroot:dataCenter\?/,
  },
  {
    title: "a misspelt server key",
    yaml: edit("        address: 10.78.1.11\n", "        adress: 10.78.1.11\n"),
    path: "zeroroot:dataCenter.servers[0].adress",
    expect: /: id, hostname, roles, address, macs, bmc, decommission.*did you mean address\?/,
  },
  {
    title: "a misspelt BMC key",
    yaml: edit("          cipherSuite: 3\n", "          cypherSuite: 3\n"),
    path: "zeroroot:dataCenter.servers[0].bmc.cypherSuite",
    expect: /did you mean cipherSuite\?/,
  },
  {
    title: "a key with a newline and an escape sequence in its name",
    engine: (v) => (SRV(v, 0)["evil\n\u001b[2Jkey"] = 1),
    path: 'zeroroot:dataCenter.servers[0]["evil\\n\\u001b[2Jkey"]',
    expect: /a key zeroroot does not know/,
  },
  // ---- wrong types ----
  {
    title: "servers as a string",
    engine: (v) => (DC(v).servers = "all"),
    path: "zeroroot:dataCenter.servers",
    expect: /"all" \| a list of servers/,
  },
  {
    title: "a BMC port as a string",
    engine: (v) => (SRV(v, 0).bmc.port = "623"),
    path: "zeroroot:dataCenter.servers[0].bmc.port",
    expect: /"623" \| a UDP port/,
  },
  {
    title: "roles as a single string",
    engine: (v) => (SRV(v, 0).roles = "storage"),
    path: "zeroroot:dataCenter.servers[0].roles",
    expect: /a list of roles/,
  },
  {
    title: "a fractional partition count",
    engine: (v) => (DC(v).partitionsPerServer = 1.5),
    path: "zeroroot:dataCenter.partitionsPerServer",
    expect: /whole number of partitions/,
  },
  {
    title: "the data center as a list",
    engine: (v) => (v["zeroroot:dataCenter"] = []),
    path: "zeroroot:dataCenter",
    expect: /\[\]/,
  },
  {
    title: "the domain as a number",
    engine: (v) => (v["zeroroot:domain"] = 42),
    path: "zeroroot:domain",
    expect: /42 \| a fully qualified host name/,
  },
  // ---- sizes and counts bounded before work ----
  {
    title: "a 100,000-character location",
    engine: (v) => (DC(v).location = "x".repeat(100_000)),
    path: "zeroroot:dataCenter.location",
    expect: new RegExp(`a string of 100000 characters \\| at most ${CONFIG_BOUNDS.maxStringLength}`),
  },
  {
    title: "a list of 5,000 MACs",
    engine: (v) => (SRV(v, 0).macs = Array(5000).fill("52:54:00:01:01:11")),
    path: "zeroroot:dataCenter.servers[0].macs",
    expect: /a list of 5000 items \| at most 4096 items/,
  },
  {
    title: "a map of 300 parameters",
    engine: (v) =>
      (v["zeroroot:services"][1].parameters = Object.fromEntries(
        Array.from({ length: 300 }, (_, i) => [`p${i}`, "x"]),
      )),
    path: "zeroroot:services[1].parameters",
    expect: /a map of 300 keys \| at most 256 keys/,
  },
  {
    title: "a value nested 40 levels deep",
    engine: (v) => (v["zeroroot:services"][1].parameters = nested(40)),
    path: "zeroroot:services[1].parameters.k.k.k.k.k.k.k.k.k.k",
    expect: /nested 13 levels deep/,
  },
  {
    title: "a 1,000-character key",
    engine: (v) => (DC(v)["k".repeat(1000)] = 1),
    path: `zeroroot:dataCenter["${"k".repeat(40)}\\u2026"]`,
    expect: /a key of 1000 characters/,
  },
  {
    title: "a stack file larger than the bound",
    yaml: (t) => `${t}\n# ${"x".repeat(MAX_STACK_FILE_BYTES)}\n`,
    path: "(file)",
    expect: new RegExp(`at most ${MAX_STACK_FILE_BYTES} bytes`),
  },
  // ---- YAML-level attacks ----
  {
    title: "a billion-laughs alias bomb",
    yaml: () => BILLION_LAUGHS,
    path: "(file)",
    expect: /YAML aliases that expand beyond 100 nodes/,
  },
  {
    title: "a million nested flow lists (the parser would take seconds)",
    yaml: () => `config:\n  zeroroot:domain: ${"[".repeat(1_000_000)}\n`,
    path: "(file)",
    expect: new RegExp(`nested more than ${MAX_FLOW_DEPTH} deep`),
  },
  {
    title: "a key written twice (the second would silently win)",
    yaml: edit("    location: Lille, FR\n", "    location: Lille, FR\n    location: Paris, FR\n"),
    path: "(file)",
    expect: /invalid YAML: Map keys must be unique/,
  },
  {
    title: "a map used as a key",
    yaml: edit("    location: Lille, FR\n", "    ? { a: 1 }\n    : x\n"),
    path: "zeroroot:dataCenter",
    expect: /a key that is not a plain string/,
  },
  {
    title: "a document that is not YAML",
    yaml: () => 'config:\n  zeroroot:domain: "unterminated\n',
    path: "(file)",
    expect: /invalid YAML/,
  },
  // ---- ids: control characters, certificate names, data center prefix ----
  {
    title: "a NUL in a server id",
    engine: (v) => (SRV(v, 0).id = "dc1-s01\u0000"),
    path: "zeroroot:dataCenter.servers[0].id",
    expect: /"dc1-s01\\u0000" \| a server id/,
  },
  {
    title: "a terminal escape sequence in a server id",
    engine: (v) => (SRV(v, 0).id = "dc1-\u001b[31ms01"),
    path: "zeroroot:dataCenter.servers[0].id",
    expect: /\\u001b\[31m/,
  },
  {
    title: "a right-to-left override in a host name",
    engine: (v) => (SRV(v, 0).hostname = "s01.dc1.zeroroot.example\u202e"),
    path: "zeroroot:dataCenter.servers[0].hostname",
    expect: /\\u202e/,
  },
  {
    title: "a server id that issuance would refuse as a certificate name (ends with '-')",
    yaml: edit("- id: dc1-s01\n", "- id: dc1-s01-\n"),
    path: "zeroroot:dataCenter.servers[0].id",
    expect: /a computer certificate name: name "dc1-s01-".*not a plain name/,
  },
  {
    title: "a server id of another data center",
    yaml: edit("- id: dc1-s01\n", "- id: dc2-s01\n"),
    path: "zeroroot:dataCenter.servers[0].id",
    expect: /starting with "dc1-"/,
  },
  {
    title: "a management server id without the data center prefix",
    yaml: edit("id: dc1-mgmt", "id: mgmt"),
    path: "zeroroot:dataCenter.managementServer.id",
    expect: /starting with "dc1-"/,
  },
];

/** Characters that would let a value forge or hide part of a line of the report (C0, C1, bidi). */
function rawControl(text: string): string | undefined {
  return [...text].find((c) => {
    const n = c.codePointAt(0)!;
    return (
      n < 0x20 ||
      (n >= 0x7f && n <= 0x9f) ||
      n === 0x2028 ||
      n === 0x2029 ||
      (n >= 0x202a && n <= 0x202e) ||
      (n >= 0x2066 && n <= 0x2069)
    );
  });
}

describe("hostile configuration", () => {
  it(`has at least 40 cases (${CASES.length})`, () => assert.ok(CASES.length >= 40));

  for (const c of CASES) {
    it(`refuses ${c.title} at ${c.path}`, () => {
      const issues = issuesOf(c);
      const report = formatIssues(issues);
      const hit = issues.find((i) => i.path === c.path);
      assert.ok(hit, `no issue at ${c.path}; got:\n${report}`);
      assert.match(`${hit.received} | ${hit.allowed} | ${hit.fix}`, c.expect, report);
      assert.ok(hit.fix.length > 10, "every issue says how to fix it");
      if (c.yaml) {
        assert.equal(hit.file, FILE, "a stack-file issue names the file");
        if (hit.path !== "(file)" || !/bytes/.test(hit.allowed))
          assert.ok((hit.line ?? 0) > 0 || hit.path === "(file)", "and the line");
      }
      for (const i of issues) {
        assert.equal(rawControl(i.path), undefined, `unescaped path: ${JSON.stringify(i.path)}`);
        assert.equal(rawControl(i.received), undefined, `unescaped value: ${JSON.stringify(i.received)}`);
      }
      if (c.hidden) assert.ok(!report.includes(c.hidden), "a secret appears in the report");
    });
  }

  it("never lets a __proto__ key of a stack file become the config's prototype", () => {
    const file = parseStackFile(CASES[0].yaml!(DC1), FILE);
    const dc = file.values["zeroroot:dataCenter"] as Record<string, unknown>;
    assert.equal(Object.getPrototypeOf(dc), null);
    assert.equal(dc.location, undefined, "a value of the __proto__ map was used");
    assert.equal(({} as Record<string, unknown>).location, undefined, "Object.prototype was polluted");
  });

  it("gives the line of a prototype key in the stack file", () => {
    const [issue] = issuesOf(CASES[0]);
    const line = DC1.split("\n").findIndex((l) => l.includes("location: Lille")) + 1;
    assert.equal(issue.line, line);
  });

  it("refuses an oversized stack file before reading it", () => {
    const dir = mkdtempSync(join(tmpdir(), "zr-hostile-"));
    const file = join(dir, "Pulumi.dc1.yaml");
    writeFileSync(file, `${DC1}\n# ${"x".repeat(MAX_STACK_FILE_BYTES)}\n`);
    assert.throws(
      () => readStackFile(file),
      (e: unknown) => e instanceof ConfigValidationError && /at most \d+ bytes/.test(e.issues[0].allowed),
    );
  });

  it("refuses an alias bomb quickly (bounded before expansion)", () => {
    const start = process.hrtime.bigint();
    assert.throws(() => parseStackFile(BILLION_LAUGHS, FILE), ConfigValidationError);
    assert.ok(process.hrtime.bigint() - start < 2_000_000_000n, "took more than 2 s");
  });

  it("still accepts the example stacks and an alias that stays small", () => {
    for (const name of ["global", "dc1", "dc2", "dc3"]) {
      const { issues } = checkStackConfig(readStackFile(join(STACKS, `Pulumi.${name}.yaml`)));
      assert.deepEqual(issues, [], formatIssues(issues));
    }
    const aliased = DC1.replace('macs: ["52:54:00:01:01:12"]', 'macs: &m2 ["52:54:00:01:01:12"]');
    assert.doesNotThrow(() => parseStackFile(aliased, FILE));
  });
});
